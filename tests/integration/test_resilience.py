#!/usr/bin/env python3
"""Disruptive tests: the database stops or restarts, a worker is killed. The workers must
carry on without being restarted, and no submission may be lost or stored twice."""

import os
import signal
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import dev, submit  # noqa: E402

# How long the product takes to serve again once the database is back, on a quiet machine
# (each wait ends at its event; ft.ceiling scales the limit on a loaded one).
RECOVERY_SECONDS = 10


def setUpModule():
    ft.require_dev()


def ensure_db_up():
    """Leaves the database running whatever a test did (used in setUp and cleanups)."""
    if ft.db_ready():
        return
    try:
        dev("db-start")
    except AssertionError:
        pass
    if not ft.wait_db_ready(30):
        raise AssertionError("the test database did not come back up")


class ResilienceTest(ft.FiableTestCase):

    def setUp(self):
        ensure_db_up()
        self.addCleanup(ensure_db_up)
        self.wait_for(lambda: ft.get(ft.HEALTH).status == 200, RECOVERY_SECONDS,
                      "GET /api/health is not 200 before the test")
        self.pids_before = ft.worker_pids("submit")
        self.assertTrue(self.pids_before, "`scripts/dev worker-pids submit` printed no pid")

    def assertWorkersUnchanged(self):
        self.assertEqual(sorted(ft.worker_pids("submit")), sorted(self.pids_before),
                         "the submit workers were restarted (pids changed)")

    def assertUnavailable(self, resp):
        self.assertProblem(resp, 503, "database_unavailable")
        retry_after = resp.header("Retry-After")
        self.assertIsNotNone(retry_after, "503 without Retry-After\n" + resp.describe())
        self.assertTrue(retry_after.strip().isdigit(),
                        "Retry-After is not a number of seconds\n" + resp.describe())

    def submit_until_created(self, payload, key, raw, unavailable):
        """Sends the same request until 201, within RECOVERY_SECONDS; only 503
        database_unavailable is accepted meanwhile (each one is appended to unavailable)."""
        deadline = time.monotonic() + ft.ceiling(RECOVERY_SECONDS)
        while True:
            resp = submit(payload, key=key, raw=raw, timeout=30)
            if resp.status == 201:
                return resp
            self.assertUnavailable(resp)
            unavailable.append(resp)
            if time.monotonic() >= deadline:
                self.fail("no 201 within %d s of retries with the same key\n%s"
                          % (ft.ceiling(RECOVERY_SECONDS), resp.describe()))
            time.sleep(0.3)

    def get_until_ok(self, path):
        """GET until 200 within RECOVERY_SECONDS; only 503 is accepted meanwhile."""
        deadline = time.monotonic() + ft.ceiling(RECOVERY_SECONDS)
        while True:
            resp = ft.get(path)
            if resp.status == 200:
                return resp
            self.assertStatus(resp, 503)
            if time.monotonic() >= deadline:
                self.fail("GET %s is not 200 after %d s\n%s"
                          % (path, ft.ceiling(RECOVERY_SECONDS), resp.describe()))
            time.sleep(0.3)

    def assertStoredOnce(self, responses):
        """Each 201 answer's submission is stored exactly once (row, audit, idempotency)."""
        for resp in responses:
            self.assertCreated(resp)
        problems = ft.stored_once_problems(responses)
        self.assertEqual(problems, [], "submissions not stored exactly once")

    def check_submissions_after_recovery(self):
        """Fresh submissions all end in 201; each worker may fail (503) its first request
        after the database came back, not more."""
        workers = len(self.pids_before)
        unavailable = []
        created = []
        for _ in range(2 * workers + 2):
            payload = ft.valid_payload()
            key = ft.new_key()
            created.append(self.submit_until_created(payload, key, ft.encode_json(payload),
                                                     unavailable))
        self.assertStoredOnce(created)
        self.assertLessEqual(len(unavailable), workers,
                             "%d answers 503 after the database came back, with %d workers"
                             % (len(unavailable), workers))

    # ----------------------------------------------------------------------------------

    def test_database_stopped_then_started(self):
        self.assertCreated(submit(ft.valid_payload()))   # workers are connected
        dev("db-stop", "fast")
        try:
            payload = ft.valid_payload()
            key = ft.new_key()
            raw = ft.encode_json(payload)
            during = [submit(payload, key=key, raw=raw, timeout=30)]
            # Every worker answers 503, not only the first one asked.
            for _ in range(len(self.pids_before) + 1):
                other = ft.valid_payload()
                during.append(submit(other))
            for resp in during:
                self.assertUnavailable(resp)
            health = ft.get(ft.HEALTH)
            self.assertStatus(health, 503)
        finally:
            dev("db-start")
        self.assertTrue(ft.wait_db_ready(30), "the database did not start")

        # Nothing was stored by the requests made while it was down.
        for resp in during:
            self.assertEqual(ft.count_by_email(resp.payload["email"]), 0, resp.describe())
            self.assertEqual(ft.idempotency_rows(resp.key), 0, resp.describe())
            self.assertEqual(ft.audit_rows_for_agent(resp.user_agent), 0, resp.describe())

        # The client's retry with the same key succeeds, without restarting any worker.
        resp = self.submit_until_created(payload, key, raw, [])
        self.assertStoredOnce([resp])
        self.get_until_ok(ft.HEALTH)
        for _ in range(4):
            self.get_until_ok(ft.FORM)
        self.check_submissions_after_recovery()
        self.assertWorkersUnchanged()

    def _restart(self, mode, traffic):
        self.assertCreated(submit(ft.valid_payload()))   # workers are connected
        sent = []
        stop = threading.Event()
        errors = []

        def keep_submitting():
            try:
                while not stop.is_set():
                    payload = ft.valid_payload()
                    key = ft.new_key()
                    raw = ft.encode_json(payload)
                    sent.append((payload, key, raw, submit(payload, key=key, raw=raw,
                                                           timeout=30)))
                    time.sleep(0.05)    # pacing of the traffic, not a wait for an event
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)

        def answered():
            return len(sent) if not errors else -1

        thread = threading.Thread(target=keep_submitting, daemon=True)
        if traffic:
            thread.start()
            # The restart happens under traffic: a few requests answered first.
            self.wait_for(lambda: answered() >= 3 or errors, 30,
                          "the traffic thread answered no request before the restart")
        try:
            dev("db-restart", mode)
        finally:
            self.assertTrue(ft.wait_db_ready(30), "the database did not come back")
            if traffic:
                # And after it: a few requests sent once the database was back.
                after = answered()
                self.wait_for(lambda: answered() >= after + 3 or errors, 60,
                              "the traffic thread answered no request after the restart")
                stop.set()
                thread.join(ft.ceiling(60))
        self.assertFalse(errors, "a request failed during the restart: %r" % errors)

        if traffic:
            self.assertTrue(sent, "no request was sent during the restart")
            # During the restart each answer is 201 or 503, never 500/502.
            for payload, key, raw, resp in sent:
                if resp.status != 201:
                    self.assertUnavailable(resp)
            # Whatever was answered, the client's retry with the same key ends in one row.
            created = []
            for payload, key, raw, resp in sent:
                if resp.status != 201:
                    resp = self.submit_until_created(payload, key, raw, [])
                created.append(resp)
            self.assertStoredOnce(created)

        self.check_submissions_after_recovery()
        self.get_until_ok(ft.HEALTH)
        for _ in range(4):   # more than the form workers: each one meets the restart
            self.get_until_ok(ft.FORM)
        self.assertWorkersUnchanged()

    def test_restart_immediate(self):
        self._restart("immediate", traffic=False)

    def test_restart_fast(self):
        self._restart("fast", traffic=False)

    def test_restart_immediate_under_traffic(self):
        self._restart("immediate", traffic=True)

    def test_restart_fast_under_traffic(self):
        self._restart("fast", traffic=True)

    def test_killed_worker_is_replaced(self):
        before = self.pids_before
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + ft.ceiling(RECOVERY_SECONDS)
        while True:
            now = ft.worker_pids("submit")
            if len(now) == len(before) and victim not in now and set(now) - set(before):
                break
            if time.monotonic() >= deadline:
                self.fail("after SIGKILL of worker %d the submit workers are %r (were %r)"
                          % (victim, now, before))
            time.sleep(0.2)
        self.assertEqual(len(set(now) - set(before)), 1, "more than one worker changed: %r -> %r"
                         % (before, now))
        # Submissions still succeed, on every worker.
        self.assertStoredOnce([submit(ft.valid_payload()) for _ in range(2 * len(now) + 2)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
