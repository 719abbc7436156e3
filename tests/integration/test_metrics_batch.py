#!/usr/bin/env python3
"""Read metrics in batches (lib/metrics.h): fiable-form keeps the metrics of GET /api/form in
memory and sends them in one metriques_ingerer() call (full batch, old batch, no connection
waiting, exit). Every answered request is counted exactly once, under concurrency and across
a graceful restart (SIGTERM) of the workers; a lone request is measured once answered."""

import collections
import os
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import dev, get, sql, sql_int, sql_one  # noqa: E402

# METRICS_BATCH_MS (1 s) plus the time to commit, on a quiet machine (ft.ceiling scales it).
FLUSH_SECONDS = 5
THREADS = 16


def setUpModule():
    ft.require_dev()


def form_rows(after):
    return sql_int("SELECT count(*) FROM request_metrics WHERE id > :'p1'::bigint "
                   "AND endpoint = '/api/form' AND status = 200", after)


def hammer(total, threads=THREADS, during=None):
    """total GET /api/form from `threads` threads (during() runs meanwhile in this thread).
    Returns a Counter of the statuses answered."""
    statuses = collections.Counter()
    lock = threading.Lock()
    left = [total]

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            try:
                status = get(ft.FORM, timeout=30).status
            except OSError as e:
                status = "erreur %s" % type(e).__name__
            with lock:
                statuses[status] += 1

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    if during is not None:
        during()
    for t in pool:
        t.join(ft.ceiling(120))
    return statuses


class MetricsBatchTest(ft.FiableTestCase):

    def wait_rows(self, after, expected):
        """Waits until request_metrics holds `expected` 200s of /api/form after id `after`,
        then checks that no more arrive within one more flush period."""
        deadline = time.monotonic() + ft.ceiling(FLUSH_SECONDS)
        n = form_rows(after)
        while n != expected and time.monotonic() < deadline:
            time.sleep(0.1)
            n = form_rows(after)
        self.assertEqual(n, expected, "rows of /api/form in request_metrics after the flush "
                         "ceiling (%.0f s)" % ft.ceiling(FLUSH_SECONDS))
        return n

    def test_lone_read_is_measured_once_answered(self):
        # No other connection waits: the worker sends its batch before finishing the answer.
        self.assertStatus(get(ft.FORM), 200)   # the cache is warm, the worker connected
        before = ft.max_metric_id()
        self.assertStatus(get(ft.FORM), 200)
        self.assertEqual(form_rows(before), 1)

    def test_concurrent_reads_are_counted_exactly_once_in_batches(self):
        self.assertStatus(get(ft.FORM), 200)
        before = ft.max_metric_id()
        total = 400
        statuses = hammer(total)
        self.assertEqual(dict(statuses), {200: total})
        self.wait_rows(before, total)
        # Batched rows come through metriques_ingerer (spool ids), in fewer transactions
        # than requests: that is the point.
        rows = sql("SELECT count(*) FILTER (WHERE spool_id IS NULL), count(DISTINCT xmin::text) "
                   "FROM request_metrics WHERE id > :'p1'::bigint AND endpoint = '/api/form'",
                   before)[0]
        self.assertEqual(int(rows[0]), 0, "a read metric was committed on its own")
        transactions = int(rows[1])
        print("%d lectures, %d transactions de métriques" % (total, transactions),
              file=sys.stderr)
        self.assertLess(transactions, total, "one transaction per request: no batching")

    def test_graceful_restart_sends_what_the_batches_hold(self):
        self.assertStatus(get(ft.FORM), 200)
        before = ft.max_metric_id()
        pids = ft.worker_pids("form")
        # Every worker is stopped with SIGTERM (one by one) while requests are in flight.
        statuses = hammer(600, during=lambda: (time.sleep(0.3), dev("fcgi-restart", "form")))
        self.assertFalse(set(ft.worker_pids("form")) & set(pids),
                         "the form workers were not all replaced")
        self.assertEqual(set(statuses), {200}, "answers during the restart: %r" % statuses)
        self.wait_rows(before, statuses[200])

    def test_batches_of_an_outage_go_to_the_spool_and_in_once(self):
        self.assertStatus(get(ft.FORM), 200)
        stopped = sql_one("SELECT now()")
        dev("db-stop", "fast")
        try:
            # Concurrent reads while the database is down: the batches that cannot be sent
            # go to the spool. Served from the worker's cache (200) or not (503).
            statuses = hammer(120)
            self.assertTrue(set(statuses) <= {200, 503}, "answers during the outage: %r"
                            % statuses)
            # A batch held when the traffic stopped is sent (here: spooled) at its deadline.
            deadline = time.monotonic() + ft.ceiling(FLUSH_SECONDS)
            while self.spool_lines() < sum(statuses.values()) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertGreaterEqual(self.spool_lines(), sum(statuses.values()),
                                    "the outage's reads are not all in the spool")
        finally:
            dev("db-start")
        self.assertTrue(ft.wait_db_ready(ft.ceiling(30)), "the database did not come back")
        restarted = sql_one("SELECT now()")
        # A measured request ingests the spool once the database answers again.
        deadline = time.monotonic() + ft.ceiling(FLUSH_SECONDS)
        while self.spool_lines() > 0 and time.monotonic() < deadline:
            get(ft.FORM)
            time.sleep(0.1)
        self.assertEqual(self.spool_lines(), 0, "the spool was not emptied")
        # Every answer of the outage counted once, with its status (rows by arrival time).
        rows = {int(st): int(n) for st, n in sql(
            "SELECT status, count(*) FROM request_metrics WHERE endpoint = '/api/form' "
            "AND created_at >= :'p1'::timestamptz AND created_at < :'p2'::timestamptz "
            "GROUP BY status", stopped, restarted)}
        self.assertEqual(rows, dict(statuses))

    def spool_lines(self):
        n = 0
        for name in os.listdir(os.environ["FIABLE_TEST_SPOOL_DIR"]):
            if name == "metrics.spool" or name.endswith(".ingest"):
                with open(os.path.join(os.environ["FIABLE_TEST_SPOOL_DIR"], name), "rb") as f:
                    n += f.read().count(b"\n")
        return n


if __name__ == "__main__":
    unittest.main(verbosity=2)
