#!/usr/bin/env python3
"""Benchmark of the metrics queries with one million recorded requests ("the slowest
query stays under 100 ms").

It adds 1,000,000 rows to request_metrics spread over the last 30 days (the mix of a real
deployment: reads of the form, submissions, modifications, 1 % of failures, the client facts
of the writes), aggregates them once (hourly rollups), then times every query the
administration runs, in the database (psql \\timing, median of 7) and end to end over HTTP
(nginx + fiable-metrics). It prints a table and the slowest query, and removes its rows.
Like the other benchmarks it measures and prints; it fails only if something breaks.

Run with `scripts/dev bench -R metrics` (optimised build). FIABLE_BENCH_METRICS_ROWS changes
the number of rows."""

import os
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import fiable_test as ft  # noqa: E402

ROWS = int(os.environ.get("FIABLE_BENCH_METRICS_ROWS", "1000000"))
RUNS = 7
TARGET_MS = 100.0

QUERIES = [
    ("résumé 15 min (alertes)",
     "SELECT metriques_resume(now() - interval '15 minutes', now(), '1 hour', 'Europe/Brussels')"),
    ("résumé 24 h", "SELECT metriques_resume(now() - interval '24 hours', now(), '1 hour', "
     "'Europe/Brussels')"),
    ("résumé 7 jours", "SELECT metriques_resume(now() - interval '7 days', now(), '6 hours', "
     "'Europe/Brussels')"),
    ("résumé 30 jours", "SELECT metriques_resume(now() - interval '30 days', now(), '1 day', "
     "'Europe/Brussels')"),
    ("sauvegardes", "SELECT metriques_sauvegardes()"),
    ("état des alertes", "SELECT count(*) FROM alert_states"),
    ("événements d'alerte", "SELECT * FROM alert_events ORDER BY id DESC LIMIT 20"),
]
HTTP = [
    ("GET /api/admin/metrics?window=24h", "/api/admin/metrics?window=24h"),
    ("GET /api/admin/metrics?window=7d", "/api/admin/metrics?window=7d"),
    ("GET /api/admin/metrics?window=30d", "/api/admin/metrics?window=30d"),
    ("GET /api/admin/metrics/prometheus", "/api/admin/metrics/prometheus"),
    ("GET /api/admin/submissions", "/api/admin/submissions"),
]


def psql_timings(statements):
    """Runs the statements in one psql session with \\timing; returns their times in ms."""
    script = "\\timing on\n" + "".join(s + ";\n" for s in statements)
    proc = subprocess.run([ft._psql(), "-X", "-q", "-d", os.environ["FIABLE_TEST_PG"],
                           "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", "-f", "-"],
                          input=script.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=1800)
    if proc.returncode != 0:
        raise AssertionError("psql failed: " + proc.stderr.decode("utf-8", "replace"))
    times = [float(line.split()[1]) for line in proc.stdout.decode().splitlines()
             if line.startswith("Time: ")]
    if len(times) != len(statements):
        raise AssertionError("expected %d timings, got %r" % (len(statements), times))
    return times


def main():
    ft.require_env()
    auth = {"Authorization": ft.basic_auth("admin", ft.admin_password())}
    before = ft.max_metric_id()
    print("Banc d'essai des métriques : %d requêtes enregistrées sur 30 jours" % ROWS)
    try:
        t0 = time.monotonic()
        ft.sql(
            "INSERT INTO request_metrics (created_at, endpoint, method, status, duration_us, "
            "from_queue, queued_ms, queue_length, attempt, autosave_ms, idempotency_key_sha256) "
            "SELECT now() - (g / :'p1'::float8) * interval '30 days', "
            "(ARRAY['/api/form','/api/form','/api/submit','/api/modify','/api/modify',"
            "'/api/form','/api/restore','/api/modify/link'])[1 + g % 8], "
            "(ARRAY['GET','GET','POST','GET','PUT','GET','POST','POST'])[1 + g % 8], "
            "CASE WHEN g % 101 = 0 THEN 503 WHEN g % 37 = 0 THEN 400 "
            "     WHEN g % 8 = 2 THEN 201 WHEN g % 8 = 7 THEN 202 ELSE 200 END, "
            "(3000 + (g::bigint * 7919) % 250000 + CASE WHEN g % 211 = 0 THEN 3000000 ELSE 0 END)::int, "
            "CASE WHEN g % 8 IN (2, 4) THEN g % 9 = 0 END, "
            "CASE WHEN g % 8 IN (2, 4) THEN (g::bigint * 31) % 60000 END, "
            "CASE WHEN g % 8 IN (2, 4) THEN g % 6 END, "
            "CASE WHEN g % 8 IN (2, 4) THEN 1 + (g % 13 = 0)::int END, "
            "CASE WHEN g % 8 IN (2, 4) THEN ((g % 2000) / 100.0)::real END, "
            "CASE WHEN g % 8 IN (2, 4) THEN sha256(convert_to(md5(g::text || 'bench')::uuid::text, 'UTF8')) END "
            "FROM generate_series(1, :'p1'::integer) AS g", ROWS, timeout=1800)
        insert_s = time.monotonic() - t0
        ft.sql("DELETE FROM request_metrics_hours_done; DELETE FROM request_metrics_hourly; "
               "DELETE FROM request_metrics_hourly_errors; "
               "DELETE FROM request_metrics_hourly_hist")
        ft.sql("VACUUM ANALYZE request_metrics", timeout=1800)
        rollup_ms = psql_timings(["SELECT metriques_agreger()"])[0]
        ft.sql("ANALYZE request_metrics_hourly")
        ft.sql("ANALYZE request_metrics_hourly_hist")
        ft.sql("ANALYZE request_metrics_hours_done")
        # One hour aggregated again (what each cron run or page view does at most, hourly).
        hour_ms = psql_timings([
            "DELETE FROM request_metrics_hours_done WHERE bucket = "
            "date_trunc('hour', now() - interval '3 hours')",
            "SELECT metriques_agreger()"])[1]
        print("  insertion : %.1f s ; première agrégation (30 jours) : %.0f ms ; "
              "agrégation d'une heure : %.1f ms" % (insert_s, rollup_ms, hour_ms))

        results = []
        # Each query in a fresh session: the first call also pays for the connection's caches
        # (a FastCGI worker keeps its connection, so only its first request does).
        for name, query in QUERIES:
            first, *times = psql_timings([query] * (RUNS + 1))
            results.append(("base", name, statistics.median(times), max(times), first))
        for name, path in HTTP:
            times = []
            for _ in range(RUNS):
                t = time.monotonic()
                resp = ft.get(path, headers=auth, timeout=60)
                times.append((time.monotonic() - t) * 1000)
                if resp.status != 200:
                    raise AssertionError(resp.describe())
            results.append(("HTTP", name, statistics.median(times), max(times), None))
        print()
        print("  %-5s %-36s %12s %10s %14s" % ("", "requête", "médiane ms", "max ms",
                                                 "1er appel ms"))
        for where, name, median, worst, first in results:
            print("  %-5s %-36s %12.1f %10.1f %14s" % (where, name, median, worst,
                                                     "" if first is None else "%.1f" % first))
        slowest = max((r for r in results if r[0] == "base"), key=lambda r: r[2])
        print()
        print("Requête la plus lente en base : %s, %.1f ms (médiane de %d) : %s de l'objectif "
              "de %.0f ms avec %d requêtes enregistrées."
              % (slowest[1], slowest[2], RUNS,
                 "en dessous" if slowest[2] < TARGET_MS else "AU-DESSUS", TARGET_MS, ROWS))
    finally:
        # The rollups go with the rows (an hour has rollups only while it is marked done);
        # the next reader aggregates the real requests again.
        ft.sql("DELETE FROM request_metrics WHERE id > :'p1'::bigint", before, timeout=1800)
        ft.sql("DELETE FROM request_metrics_hours_done; DELETE FROM request_metrics_hourly; "
               "DELETE FROM request_metrics_hourly_errors; "
               "DELETE FROM request_metrics_hourly_hist")
        ft.sql("VACUUM ANALYZE request_metrics", timeout=1800)
    return 0


if __name__ == "__main__":
    sys.exit(main())
