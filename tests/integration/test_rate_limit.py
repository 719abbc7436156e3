#!/usr/bin/env python3
"""nginx limits writes per address (rate and burst read from the configuration it runs:
deploy/nginx/fiable). The test configuration exempts 127.0.0.1, so the limit is checked
from 127.0.0.2. Refusals are logged below error level:
they would bury the real errors of nginx's error log."""

import concurrent.futures
import os
import re
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402

LIMITED_SOURCE = ("127.0.0.2", 0)


def setUpModule():
    ft.require_env()


def writes_limit():
    """(rate per second, burst) of the writes' zone, as configured."""
    with open(os.path.join(os.environ["FIABLE_VAR"], "nginx", "nginx.conf"), encoding="utf-8") as f:
        conf = f.read()
    rate = re.search(r"limit_req_zone \S+ zone=ecritures:\S+ rate=(\d+)r/s;", conf)
    bursts = set(re.findall(r"limit_req zone=ecritures burst=(\d+) nodelay;", conf))
    if rate is None or len(bursts) != 1:
        raise AssertionError("no single limit of zone ecritures in nginx.conf")
    return int(rate.group(1)), int(bursts.pop())


class RateLimitTest(ft.FiableTestCase):

    def test_quick_writes_from_one_address_get_429(self):
        # Requests without Idempotency-Key: those let through are refused by the program
        # (400) and store nothing, so the test leaves no rows behind.
        error_log = os.path.join(os.environ["FIABLE_VAR"], "log", "nginx-error.log")
        log_offset = os.path.getsize(error_log)
        payload = ft.valid_payload()
        raw = ft.encode_json(payload)
        before = ft.max_submission_id()

        def send(_):
            return ft.submit(payload, raw=raw, key=None, source_address=LIMITED_SOURCE)

        rate, burst = writes_limit()
        # nodelay: a fresh address gets burst + 1 at once, then `rate` a second. Batches are
        # sent until nginx refuses (the rate refills while a slow machine sends them), with
        # a ceiling far above burst + rate x the seconds it takes.
        responses = []
        ceiling = burst + 1 + rate * 60
        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            while len(responses) < ceiling and not any(r.status == 429 for r in responses):
                responses += list(pool.map(send, range(burst + 60)))
        sent = len(responses)

        limited = [r for r in responses if r.status == 429]
        passed = [r for r in responses if r.status != 429]
        self.assertTrue(limited, "%d quick POSTs from 127.0.0.2 got no 429: statuses %r"
                        % (sent, sorted(r.status for r in responses)))
        for resp in limited:
            self.assertProblem(resp, 429, "rate_limited")
            retry_after = resp.header("Retry-After")
            self.assertIsNotNone(retry_after, "429 without Retry-After\n" + resp.describe())
            self.assertTrue(retry_after.strip().isdigit() and int(retry_after) > 0,
                            "Retry-After is not a positive number of seconds\n"
                            + resp.describe())
        # The burst lets burst + 1 through; they reach the program, which refuses them.
        self.assertGreaterEqual(len(passed), burst + 1, "the burst of %d was not let through: %r"
                                % (burst, sorted(r.status for r in responses)))
        for resp in passed:
            self.assertProblem(resp, 400, "idempotency_key_missing")
        self.assertEqual(ft.max_submission_id(), before)
        with open(error_log, "rb") as f:
            f.seek(log_offset)
            log = f.read().decode("utf-8", "replace")
        self.assertNotRegex(log, r"\[error\][^\n]*limiting requests",
                            "limit_req refusals logged at error level")

    def test_exempt_address_is_not_limited(self):
        # 127.0.0.1 is exempt in the test configuration (the other tests rely on it).
        payload = ft.valid_payload()
        raw = ft.encode_json(payload)

        def send(_):
            return ft.submit(payload, raw=raw, key=None)

        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            responses = list(pool.map(send, range(40)))
        self.assertEqual({r.status for r in responses}, {400},
                         "requests from 127.0.0.1 were limited: %r"
                         % sorted(r.status for r in responses))


if __name__ == "__main__":
    unittest.main(verbosity=2)
