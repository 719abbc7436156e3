#!/usr/bin/env python3
"""Reads without a flush (issue 18): the metric of a read-only request (GET /api/form, sent
in batches, and an admin read, GET /api/admin/metrics, committed alone) commits with
synchronous_commit off, while a write (POST /api/submit) still waits for its COMMIT to be
durable. (GET /api/health records no metric: a probe.)

How it is seen from outside: the cluster is given a synchronous standby that does not exist
(synchronous_standby_names = 'fiable_test_absent'). A transaction that commits with
synchronous_commit on then waits forever for that standby (wait event SyncRep) and stays
invisible to other sessions; one that commits with synchronous_commit off does not wait.
So a read's metric row that becomes visible proves that its COMMIT did not wait for a
flush, and the write seen waiting on SyncRep proves that it still does. The setting is
reset at the end (the waiting write is then released and answers 201)."""

import os
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import admin_api, get, sql, sql_int, submit, valid_payload  # noqa: E402

PHANTOM = "fiable_test_absent"
# The form sends its batch within METRICS_BATCH_MS (1 s); the rest commits at once.
WAIT_SECONDS = 10


def phantom_standby(on):
    """Sets (or resets) a synchronous standby that never connects, and reloads. Neither
    statement writes WAL, so neither waits for it."""
    if on:
        sql("ALTER SYSTEM SET synchronous_standby_names = '%s'" % PHANTOM)
    else:
        sql("ALTER SYSTEM RESET synchronous_standby_names")
    sql("SELECT pg_reload_conf()")


def setUpModule():
    ft.require_env()
    phantom_standby(False)   # a previous run interrupted before its cleanup


def wait_until(what, predicate, seconds=WAIT_SECONDS):
    deadline = time.monotonic() + ft.ceiling(seconds)
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("%s: not within %.0f s" % (what, ft.ceiling(seconds)))


def metric_rows(after, endpoint):
    return sql_int("SELECT count(*) FROM request_metrics WHERE id > :'p1'::bigint "
                   "AND endpoint = :'p2' AND status = 200", after, endpoint)


def sync_rep_waiters():
    return sql_int("SELECT count(*) FROM pg_stat_activity "
                   "WHERE wait_event = 'SyncRep' AND application_name = 'fiable'")


class ReadsWithoutFlushTest(ft.FiableTestCase):

    def test_read_metrics_commit_without_waiting_and_writes_wait(self):
        after = sql_int("SELECT coalesce(max(id), 0) FROM request_metrics")
        # Caches warm and workers connected before the standby appears.
        self.assertStatus(get(ft.FORM), 200)
        self.assertStatus(admin_api("GET", "/api/admin/metrics"), 200)

        phantom_standby(True)
        self.addCleanup(phantom_standby, False)
        # Every worker reads the new setting before its next statement; psql sees it now.
        self.assertEqual(sql("SHOW synchronous_standby_names")[0][0], PHANTOM)

        # A write: its COMMIT must wait for the (absent) standby.
        payload = valid_payload()
        answer = {}

        def write():
            answer["resp"] = submit(payload, timeout=ft.ceiling(120))

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        self.addCleanup(writer.join, ft.ceiling(60))
        wait_until("POST /api/submit waiting for the synchronous standby (SyncRep)",
                   lambda: sync_rep_waiters() >= 1)

        # Reads, while that write waits: each one's metric becomes visible.
        before = {e: metric_rows(after, e) for e in (ft.FORM, "/api/admin/metrics")}
        self.assertStatus(get(ft.FORM), 200)
        self.assertStatus(admin_api("GET", "/api/admin/metrics"), 200)
        for endpoint, n in before.items():
            wait_until("the metric of GET %s committed without waiting for a flush" % endpoint,
                       lambda e=endpoint, n=n: metric_rows(after, e) > n)

        # The write is still waiting: not answered, not visible.
        self.assertTrue(writer.is_alive(), "POST /api/submit answered while its COMMIT "
                        "should wait for the synchronous standby: %r" % answer)
        self.assertEqual(sql_int("SELECT count(*) FROM soumissions_disponibilites "
                                 "WHERE lower(email) = lower(:'p1')", payload["email"]), 0)

        # Released once the standby is no longer required: stored, and answered 201.
        phantom_standby(False)
        writer.join(ft.ceiling(60))
        self.assertFalse(writer.is_alive(), "POST /api/submit still waiting after the reset")
        self.assertStatus(answer["resp"], 201)
        self.assertEqual(sql_int("SELECT count(*) FROM soumissions_disponibilites "
                                 "WHERE lower(email) = lower(:'p1')", payload["email"]), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
