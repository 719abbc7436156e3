#!/usr/bin/env python3
"""nginx limits writes per address (10 r/s, burst 20). The test configuration exempts
127.0.0.1, so the limit is checked from 127.0.0.2. Refusals are logged below error level:
they would bury the real errors of nginx's error log."""

import concurrent.futures
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402

LIMITED_SOURCE = ("127.0.0.2", 0)


def setUpModule():
    ft.require_env()


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

        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            responses = list(pool.map(send, range(60)))

        limited = [r for r in responses if r.status == 429]
        passed = [r for r in responses if r.status != 429]
        self.assertTrue(limited, "60 quick POSTs from 127.0.0.2 got no 429: statuses %r"
                        % sorted(r.status for r in responses))
        for resp in limited:
            self.assertProblem(resp, 429, "rate_limited")
            retry_after = resp.header("Retry-After")
            self.assertIsNotNone(retry_after, "429 without Retry-After\n" + resp.describe())
            self.assertTrue(retry_after.strip().isdigit() and int(retry_after) > 0,
                            "Retry-After is not a positive number of seconds\n"
                            + resp.describe())
        # The burst lets about 20 through; they reach the program, which refuses them.
        self.assertGreaterEqual(len(passed), 10, "the burst of 20 was not let through: %r"
                                % sorted(r.status for r in responses))
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
