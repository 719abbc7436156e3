#!/usr/bin/env python3
"""Metrics and the administration's API: every request measured with what the form reports
(Fiable-Client), GET /api/admin/metrics (JSON) and /api/admin/metrics/prometheus, the list of
who is available when (JSON and CSV, escaped against formula injection), the extended
GET /api/health, admin-only access (nginx's auth_basic AND the program itself), and the
durable spool that keeps the failures of a database outage."""

import csv
import glob
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import dev, get, sql, sql_int, sql_one  # noqa: E402

METRICS = "/api/admin/metrics"
PROMETHEUS = "/api/admin/metrics/prometheus"
SUBMISSIONS = "/api/admin/submissions"
SUBMISSIONS_CSV = "/api/admin/submissions.csv"
ADMIN_PATHS = (METRICS, PROMETHEUS, SUBMISSIONS, SUBMISSIONS_CSV, SUBMISSIONS + "/1")
SQL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sql")
RECOVERY_SECONDS = 15


def setUpModule():
    ft.require_dev()
    for name in ("FIABLE_TEST_SPOOL_DIR", "FIABLE_VAR"):
        if not os.environ.get(name):
            raise ft.EnvironmentMissing("%s is not set: run the tests with `scripts/dev test`"
                                        % name)


def admin_get(path, **kw):
    return get(path, headers={"Authorization": ft.basic_auth("admin", ft.admin_password())},
               **kw)


def client_header(**facts):
    return "; ".join("%s=%s" % kv for kv in facts.items())


def metric_row(key):
    """The request_metrics row of the write made with this Idempotency-Key (found by its
    SHA-256: the key itself is not stored)."""
    rows = sql("SELECT endpoint, method, status, from_queue, queued_ms, queue_length, attempt, "
               "autosave_ms, spool_id FROM request_metrics "
               "WHERE idempotency_key_sha256 = decode(:'p1', 'hex') ORDER BY id", ft.key_sha256(key))
    if len(rows) != 1:
        raise AssertionError("expected one metric for key %s, got %r" % (key, rows))
    return dict(zip(("endpoint", "method", "status", "from_queue", "queued_ms", "queue_length",
                     "attempt", "autosave_ms", "spool_id"), rows[0]))


def fastcgi(socket_path, uri, params=None):
    """GET straight to a FastCGI socket (cgi-fcgi): what a request that did not go through
    nginx's authentication looks like. Returns the raw CGI response."""
    tool = shutil.which("cgi-fcgi")
    if tool is None:
        raise AssertionError("cgi-fcgi is missing (Debian package libfcgi-bin)")
    env = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": uri, "SCRIPT_NAME": uri, "REQUEST_URI": uri,
           "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
           "PATH": "/usr/bin:/bin"}
    env.update(params or {})
    proc = subprocess.run([tool, "-bind", "-connect", socket_path], input=b"", env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return proc.stdout.decode("utf-8", "replace")


class ClientFactsTest(ft.FiableTestCase):

    def test_facts_are_recorded_with_the_write(self):
        payload = ft.valid_payload()
        key = ft.new_key()
        resp = ft.submit(payload, key=key, headers={"Fiable-Client": client_header(
            from_queue=1, queued_ms=4200, queue_length=3, attempt=2, autosave_ms="12.5")})
        self.assertCreated(resp)
        row = metric_row(key)
        self.assertEqual(row["endpoint"], "/api/submit")
        self.assertEqual(row["method"], "POST")
        self.assertEqual(row["status"], "201")
        self.assertEqual(row["from_queue"], "t")
        self.assertEqual(row["queued_ms"], "4200")
        self.assertEqual(row["queue_length"], "3")
        self.assertEqual(row["attempt"], "2")
        self.assertAlmostEqual(float(row["autosave_ms"]), 12.5, places=3)
        self.assertIsNone(row["spool_id"])

    def test_bad_values_are_dropped_and_unknown_keys_ignored(self):
        cases = [
            "from_queue=2; queued_ms=-5; queue_length=abc; attempt=0; autosave_ms=1e3",
            "from_queue=; queued_ms=99999999999999; queue_length=1.5; attempt=+1; autosave_ms=-1",
            "nimporte=quoi; from_queue ; =1; ;;; autosave_ms=.5; attempt=1 2",
            "x" * 600 + "; from_queue=1",     # longer than the parser accepts: ignored whole
            "",
        ]
        for header in cases:
            with self.subTest(header=header[:60]):
                key = ft.new_key()
                resp = ft.submit(ft.valid_payload(), key=key, headers={"Fiable-Client": header})
                self.assertCreated(resp)
                row = metric_row(key)
                for name in ("from_queue", "queued_ms", "queue_length", "attempt",
                             "autosave_ms"):
                    self.assertIsNone(row[name], "%s kept from %r" % (name, header))

    def test_spaces_and_unknown_keys_around_good_values(self):
        key = ft.new_key()
        resp = ft.submit(ft.valid_payload(), key=key, headers={
            "Fiable-Client": " version=7 ;from_queue = 0;  attempt=1 ; queue_length=0;"
                             "queued_ms=0; autosave_ms=0.25 ; from_queue=1"})
        self.assertCreated(resp)
        row = metric_row(key)
        self.assertEqual((row["from_queue"], row["attempt"], row["queue_length"],
                          row["queued_ms"]), ("f", "1", "0", "0"))
        self.assertAlmostEqual(float(row["autosave_ms"]), 0.25, places=3)

    def test_failures_and_reads_are_measured_too(self):
        before = ft.max_metric_id()
        self.assertStatus(ft.submit(ft.valid_payload(email="pas-un-email")), 400)
        self.assertStatus(get(ft.FORM), 200)
        rows = sql("SELECT endpoint, method, status FROM request_metrics WHERE id > :'p1'::bigint "
                   "ORDER BY id", before)
        self.assertIn(["/api/submit", "POST", "400"], rows)
        self.assertIn(["/api/form", "GET", "200"], rows)


class MetricsApiTest(ft.FiableTestCase):

    def test_window_summary_and_targets(self):
        before = admin_get(METRICS + "?window=24h")
        self.assertStatus(before, 200)
        self.assertMediaType(before, ft.JSON)
        for _ in range(3):
            self.assertCreated(ft.submit(ft.valid_payload(), headers={
                "Fiable-Client": client_header(from_queue=1, queued_ms=800, queue_length=2,
                                               attempt=1, autosave_ms="3.5")}))
        resp = admin_get(METRICS + "?window=24h")
        self.assertStatus(resp, 200)
        body = resp.json()
        self.assertEqual(body["fenetre"], "24h")
        ind = body["indicateurs"]
        for name in ("requetes", "echecs", "taux_succes", "taux_echec", "temps_reponse_ms",
                     "soumissions", "soumissions_par_jour", "modifications", "retraits",
                     "restaurations", "file", "hors_ligne", "sauvegarde_auto_p95_ms",
                     "erreurs", "envois_jamais_aboutis", "serie"):
            self.assertIn(name, ind, "indicateurs.%s missing" % name)
        for name in ("moyenne", "p50", "p95", "p99", "max"):
            self.assertIsInstance(ind["temps_reponse_ms"][name], (int, float), name)
        self.assertLessEqual(ind["temps_reponse_ms"]["p50"], ind["temps_reponse_ms"]["p95"])
        self.assertLessEqual(ind["temps_reponse_ms"]["p95"], ind["temps_reponse_ms"]["p99"])
        self.assertLessEqual(ind["temps_reponse_ms"]["p99"], ind["temps_reponse_ms"]["max"])
        self.assertGreaterEqual(ind["soumissions"] - before.json()["indicateurs"]["soumissions"],
                                3)
        self.assertGreaterEqual(ind["file"]["envois_depuis_file"], 3)
        self.assertGreaterEqual(ind["file"]["longueur_max"], 2)
        self.assertIsNotNone(ind["sauvegarde_auto_p95_ms"])
        self.assertEqual(ind["requetes"], sum(p["requetes"] for p in ind["serie"]),
                         "the series does not add up to the total")
        self.assertIn(len(ind["serie"]), (24, 25), "24 hourly points (25 when not on the hour)")
        # The four targets of docs/plan-de-deploiement.md, each with its value and verdict.
        kpis = {k["id"]: k for k in body["objectifs"]}
        self.assertEqual(set(kpis), {"taux_succes", "temps_reponse", "file_attente",
                                     "aucune_perte"})
        self.assertEqual((kpis["taux_succes"]["comparaison"], kpis["taux_succes"]["cible"]),
                         (">", 95))
        self.assertEqual((kpis["temps_reponse"]["comparaison"], kpis["temps_reponse"]["cible"]),
                         ("<", 2000))
        self.assertEqual((kpis["file_attente"]["comparaison"], kpis["file_attente"]["cible"]),
                         ("<", 5))
        self.assertEqual(kpis["aucune_perte"]["cible"], 0)
        for k in kpis.values():
            self.assertIn(k["atteint"], (True, False, None))
            self.assertTrue(k["libelle"])
        self.assertEqual(kpis["taux_succes"]["valeur"], ind["taux_succes"])
        self.assertEqual(kpis["temps_reponse"]["valeur"], ind["temps_reponse_ms"]["p95"])
        self.assertEqual(kpis["taux_succes"]["atteint"], ind["taux_succes"] > 95)
        for name in ("sauvegardes", "alertes", "file_durable"):
            self.assertIn(name, body)
        self.assertIn("etats", body["alertes"])
        self.assertIn("evenements", body["alertes"])

    def test_counts_match_the_raw_table(self):
        self.assertCreated(ft.submit(ft.valid_payload()))
        resp = admin_get(METRICS + "?window=7d")
        self.assertStatus(resp, 200)
        ind = resp.json()["indicateurs"]
        expected = sql("SELECT count(*), count(*) FILTER (WHERE status >= 500), "
                       "count(*) FILTER (WHERE endpoint = '/api/submit' AND method = 'POST' "
                       "AND status = 201) FROM request_metrics "
                       "WHERE created_at > now() - interval '7 days' "
                       "AND created_at <= :'p1'::timestamptz", ind["fin"])[0]
        # The request that asked is measured after its answer: it is not in its own figures.
        self.assertEqual([ind["requetes"], ind["echecs"], ind["soumissions"]],
                         [int(v) for v in expected])

    def test_windows(self):
        for window, points in (("24h", (24, 25)), ("7d", (28, 29)), ("30d", (30, 31))):
            with self.subTest(window=window):
                resp = admin_get(METRICS + "?window=" + window)
                self.assertStatus(resp, 200)
                self.assertEqual(resp.json()["fenetre"], window)
                self.assertIn(len(resp.json()["indicateurs"]["serie"]), points)
        bad = admin_get(METRICS + "?window=2y")
        self.assertValidationErrors(bad, ["window"])

    def test_prometheus_exposition(self):
        self.assertCreated(ft.submit(ft.valid_payload()))   # a request measured at least
        # A scrape between two equal counts of the table: no batch of read metrics (sent
        # within a second by fiable-form) arrived meanwhile, the figures can be exact.
        def table():
            return tuple(int(v) for v in sql(
                "SELECT count(*), count(*) FILTER (WHERE duration_us <= 2000000), "
                "count(*) FILTER (WHERE duration_us <= 1000) FROM request_metrics")[0])
        for _ in range(20):
            rows = table()
            resp = admin_get(PROMETHEUS)
            if table() == rows:
                break
            time.sleep(0.5)
        else:
            self.fail("request_metrics never stood still for one scrape")
        self.assertStatus(resp, 200)
        self.assertEqual(resp.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        text = resp.body.decode("utf-8")
        samples, types = prometheus_parse(self, text)
        self.assertEqual(types["fiable_http_requests_total"], "counter")
        for name in ("fiable_http_request_duration_seconds", "fiable_client_queue_length",
                     "fiable_client_autosave_duration_seconds"):
            self.assertEqual(types[name], "histogram")
        for name in ("fiable_kpi_target", "fiable_backup_age_seconds", "fiable_alert_firing",
                     "fiable_spool_lines", "fiable_campagne_taux_reponse"):
            self.assertEqual(types[name], "gauge")
        # No window: rate() makes the windows.
        self.assertNotIn("window=", text)
        # Base units: the targets as seconds and ratios.
        self.assertEqual(samples[("fiable_kpi_target", (("kpi", "taux_succes"),))], 0.95)
        self.assertEqual(samples[("fiable_kpi_target", (("kpi", "temps_reponse"),))], 2)
        # The histogram, on the bounds of metriques_bornes('duree') in seconds, cumulative,
        # with +Inf equal to _count, which counts every request as the counter does.
        name = "fiable_http_request_duration_seconds"
        buckets = sorted((float(dict(labels)["le"]), v) for (n, labels), v in samples.items()
                         if n == name + "_bucket")
        self.assertEqual([b for b, _ in buckets],
                         [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10,
                          float("inf")])
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts))
        self.assertEqual(counts[-1], samples[(name + "_count", ())])
        total = sum(v for (n, _), v in samples.items() if n == "fiable_http_requests_total")
        self.assertEqual(total, samples[(name + "_count", ())])
        self.assertGreater(samples[(name + "_count", ())], 0)
        self.assertGreater(samples[(name + "_sum", ())], 0)
        # Exact against the table (the scrape reads it in one snapshot).
        self.assertEqual((total, samples[(name + "_bucket", (("le", "2"),))],
                          samples[(name + "_bucket", (("le", "0.001"),))]), rows)
        # Prometheus's own check of the live exposition (the Debian package prometheus).
        lint = subprocess.run([promtool(), "check", "metrics"], input=resp.body,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=ft.ceiling(30))
        self.assertEqual(lint.returncode, 0, lint.stdout.decode("utf-8", "replace"))

    def test_prometheus_counters_count(self):
        def counter(text, endpoint, status):
            m = re.search(r'(?m)^fiable_http_requests_total\{endpoint="%s",status="%d"\} '
                          r'([0-9]+)$' % (re.escape(endpoint), status), text)
            return int(m.group(1)) if m else 0

        def queue(text, le):
            m = re.search(r'(?m)^fiable_client_queue_length_bucket\{le="%s"\} ([0-9]+)$'
                          % re.escape(le), text)
            return int(m.group(1))
        before = admin_get(PROMETHEUS).body.decode("utf-8")
        self.assertCreated(ft.submit(ft.valid_payload(), headers={
            "Fiable-Client": client_header(from_queue=1, queue_length=11, attempt=2)}))
        after = admin_get(PROMETHEUS).body.decode("utf-8")
        self.assertEqual(counter(after, "/api/submit", 201),
                         counter(before, "/api/submit", 201) + 1)
        # 11 items: above the bound 10, under 20 (the alert FiableFileAttenteLongue).
        self.assertEqual(queue(after, "+Inf") - queue(after, "10"),
                         queue(before, "+Inf") - queue(before, "10") + 1)
        self.assertEqual(queue(after, "20"), queue(before, "20") + 1)

    def test_a_scrape_never_writes(self):
        """Not its own metric, not the spool: a line waiting in the spool stays there through
        scrapes, and is ingested by the JSON page (which proves the line was good)."""
        spool = os.environ["FIABLE_TEST_SPOOL_DIR"]
        spool_id = uuid.uuid4().hex
        path = os.path.join(spool, "metrics-0-%s.ingest" % uuid.uuid4().hex[:16])
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps({"id": spool_id, "t": time.time() - 60, "endpoint": "/api/form",
                                "method": "GET", "status": 200, "duration_us": 1500}) + "\n")
        st = os.stat(spool)
        shutil.chown(path, st.st_uid, st.st_gid)
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))

        def counted(endpoint):
            return sql_int("SELECT count(*) FROM request_metrics WHERE endpoint = :'p1'",
                           endpoint)
        scrapes, pages = counted(PROMETHEUS), counted(METRICS)
        for _ in range(3):
            self.assertStatus(admin_get(PROMETHEUS), 200)
        self.assertTrue(os.path.exists(path), "a scrape ingested the spool")
        self.assertEqual(sql_int("SELECT count(*) FROM request_metrics WHERE spool_id = :'p1'",
                                 spool_id), 0)
        # The JSON page is measured, synchronously: once its metric is there, a scrape's
        # would have been too.
        self.assertStatus(admin_get(METRICS), 200)
        self.wait_for(lambda: counted(METRICS) > pages, 10, "the JSON page was not measured")
        self.assertEqual(counted(PROMETHEUS), scrapes, "a scrape was measured")
        self.wait_for(lambda: not os.path.exists(path), 10, "the JSON page left the spool")
        self.assertEqual(sql_int("SELECT count(*) FROM request_metrics WHERE spool_id = :'p1'",
                                 spool_id), 1)


def promtool():
    """Prometheus's checker (Debian package prometheus, installed by scripts/dev test)."""
    path = shutil.which("promtool")
    if path is None:
        raise AssertionError("promtool absent : scripts/dev test installe le paquet prometheus")
    return path


PROM_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
PROM_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)",?')


def prometheus_parse(test, text):
    """The samples of an exposition, {(name, ((label, value), ...)): value}, and the TYPE of
    each family; every line must be a comment or a well-formed sample."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("# HELP "):
            continue
        m = PROM_SAMPLE.match(line)
        test.assertIsNotNone(m, line)
        labels = tuple(PROM_LABEL.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples, types


class AdminOnlyTest(ft.FiableTestCase):

    def test_nginx_asks_for_the_password(self):
        for path in ADMIN_PATHS + ("/admin/", "/admin/metrics"):
            with self.subTest(path=path):
                self.assertStatus(get(path), 401)
                wrong = get(path, headers={"Authorization": ft.basic_auth("admin", "faux")})
                self.assertStatus(wrong, 401)
                # REMOTE_USER cannot be smuggled as a header.
                self.assertStatus(get(path, headers={"Remote-User": "admin"}), 401)

    def test_the_program_refuses_what_did_not_pass_nginx(self):
        sock = os.path.join(os.environ["FIABLE_VAR"], "run", "fiable-metrics.sock")
        for path in ADMIN_PATHS:
            with self.subTest(path=path):
                out = fastcgi(sock, path)
                self.assertIn("Status: 403", out)
                self.assertIn('"code":"admin_required"', out)
        # The same request with the user nginx sets is served: the check is what refuses.
        self.assertIn("Status: 200", fastcgi(sock, METRICS, {"REMOTE_USER": "admin"}))

    def test_admin_pages_are_served_with_the_password(self):
        for path, marker in (("/admin/", b"Vue d'ensemble"), ("/admin/metrics", b"M\xc3\xa9triques")):
            with self.subTest(path=path):
                resp = admin_get(path)
                self.assertStatus(resp, 200)
                self.assertIn(marker, resp.body)

    def test_only_get(self):
        resp = ft.request("POST", METRICS, body=b"{}", headers={
            "Authorization": ft.basic_auth("admin", ft.admin_password()),
            "Content-Type": ft.JSON})
        self.assertProblem(resp, 405, "method_not_allowed")
        self.assertEqual(resp.header("Allow"), "GET, HEAD")


class SubmissionsTest(ft.ModifyTestCase):

    TRICKY = [
        ("Dupont, Jean", "Virgule, dans le commentaire"),
        ('Le "Grand" Martin', "Ligne un\nLigne deux\r\nLigne trois"),
        ('=HYPERLINK("http://exemple.invalid/";"clic")', "=1+1"),
        ("+32 2 123 45 67", "+ plus"),
        ("-2+3", "-moins"),
        ("@SOMME(A1:A2)", "@arobase"),
        ("Élodie Ñúñez", "\t=tabulation puis formule"),
    ]

    def create_tricky(self):
        slots = ft.valid_slots(3)
        made = []
        for i, (nom, commentaire) in enumerate(self.TRICKY):
            payload = ft.valid_payload(nom=nom, commentaire=commentaire,
                                       creneaux=slots[: 1 + i % 3])
            resp = ft.submit(payload)
            self.assertCreated(resp)
            made.append((payload, resp.json()))
        return made

    def test_csv_escaping_and_formula_injection(self):
        made = self.create_tricky()
        resp = admin_get(SUBMISSIONS_CSV)
        self.assertStatus(resp, 200)
        self.assertEqual(resp.header("Content-Type"), "text/csv; charset=utf-8")
        self.assertRegex(resp.header("Content-Disposition") or "",
                         r'^attachment; filename="disponibilites-[0-9-]+\.csv"$')
        self.assertTrue(resp.body.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM")
        text = resp.body[3:].decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
        header = rows[0]
        self.assertEqual(header[:2], ["Nom", "E-mail"])
        self.assertEqual(header[-1], "Commentaire")
        slots = admin_get(SUBMISSIONS).json()["creneaux"]
        self.assertEqual(header[2:-1], [s["titre"] for s in slots])
        by_email = {r[1]: r for r in rows[1:-1]}
        for payload, created in made:
            with self.subTest(nom=created["nom"]):
                row = by_email.get(created["email"])
                self.assertIsNotNone(row, "no row for %s" % created["email"])
                for cell, value in ((row[0], created["nom"]), (row[-1], created["commentaire"])):
                    if value[0] in "=+-@\t\r":
                        self.assertEqual(cell, "'" + value, "formula not neutralised")
                    else:
                        self.assertEqual(cell, value)
                chosen = [s["titre"] for s in slots if s["id"] in payload["creneaux"]]
                marked = [header[2 + j] for j, v in enumerate(row[2:-1]) if v == "oui"]
                self.assertEqual(marked, chosen)
        # Every field is quoted, quotes doubled, formulas behind an apostrophe.
        for expected in ('"\'=HYPERLINK(""http://exemple.invalid/"";""clic"")"',
                         '"Le ""Grand"" Martin"', '"Dupont, Jean"', '"\'+32 2 123 45 67"',
                         '"\'-2+3"', '"\'@SOMME(A1:A2)"', '"\'=1+1"',
                         '"Ligne un\nLigne deux\r\nLigne trois"'):
            self.assertIn(expected, text)
        self.assertTrue(text.endswith("\r\n"))
        # Last row: how many people are available per slot.
        total = rows[-1]
        self.assertEqual(total[0], "Personnes disponibles")
        self.assertEqual([int(v) for v in total[2:-1]], [s["disponibles"] for s in slots])

    def test_json_counts_per_slot_and_withdrawals(self):
        payload, created = ft.create_submission(creneaux=ft.valid_slots(2))
        listing = admin_get(SUBMISSIONS)
        self.assertStatus(listing, 200)
        data = listing.json()
        counts = {s["id"]: s["disponibles"] for s in data["creneaux"]}
        for slot_id, n in counts.items():
            self.assertEqual(n, sql_int(
                "SELECT count(*) FROM soumissions_disponibilites WHERE deleted_at IS NULL "
                "AND creneaux ? :'p1'", slot_id), slot_id)
        # The listing is the first campaign's: answers to other campaigns (other tests') do
        # not count.
        self.assertEqual(data["actives"], sql_int(
            "SELECT count(*) FROM soumissions_disponibilites WHERE deleted_at IS NULL "
            "AND campagne_id = campagne_par_defaut()"))
        mine = [s for s in data["soumissions"] if s["id"] == created["id"]]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["creneaux"], payload["creneaux"])
        self.assertIsNone(mine[0]["deleted_at"])

        withdrawn = ft.modify_delete(created["edit_token"], if_match=ft.etag(1))
        self.assertStatus(withdrawn, 200)
        after = admin_get(SUBMISSIONS).json()
        mine = [s for s in after["soumissions"] if s["id"] == created["id"]]
        self.assertIsNotNone(mine[0]["deleted_at"], "withdrawn submissions stay listed")
        for slot_id in payload["creneaux"]:
            before_n = counts[slot_id]
            after_n = {s["id"]: s["disponibles"] for s in after["creneaux"]}[slot_id]
            self.assertEqual(after_n, before_n - 1, "a withdrawn answer still counts")
        csv_text = admin_get(SUBMISSIONS_CSV).body.decode("utf-8")
        self.assertNotIn(payload["email"], csv_text, "a withdrawn answer is in the CSV")

    def test_one_submission_with_its_history(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        changed = dict(ft.content_of(payload), nom="Nom modifié")
        self.assertStatus(ft.modify_put(token, changed, if_match=ft.etag(1)), 200)
        resp = admin_get("%s/%d" % (SUBMISSIONS, created["id"]))
        self.assertRepresentation(resp, created["id"], changed, version=2)
        self.assertEqual(resp.json()["historique"][0]["champs"]["nom"],
                         {"avant": payload["nom"], "apres": "Nom modifié"})
        self.assertProblem(admin_get(SUBMISSIONS + "/999999999"), 404, "not_found")
        for bad in ("/0", "/abc", "/1x", "/-1"):
            with self.subTest(bad=bad):
                self.assertStatus(admin_get(SUBMISSIONS + bad), 404)


class HealthTest(ft.FiableTestCase):

    def migrations(self):
        return sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(SQL_DIR, "*.sql"))
                      if not p.endswith(".down.sql"))

    def test_health_reports_database_migrations_backup_and_spool(self):
        resp = get(ft.HEALTH)
        self.assertStatus(resp, 200)
        body = resp.json()
        self.assertEqual(body["status"], "ok")
        self.assertEqual(body["database"], "ok")
        self.assertTrue(body["migrations"]["a_jour"])
        self.assertEqual(body["migrations"]["attendues"], len(self.migrations()))
        self.assertEqual(body["migrations"]["derniere"], self.migrations()[-1])
        self.assertIn("age_heures", body["sauvegarde"])
        self.assertIn("lignes", body["file_durable"])
        self.assertEqual(body["raisons"], [])
        self.assertIsInstance(body["avertissements"], list)
        strict = get(ft.HEALTH + "?strict=1")
        self.assertStatus(strict, 503 if body["avertissements"] else 200)

    def test_strict_warning_has_no_retry_after(self):
        """No backup for 26 hours is no outage that ends in a few seconds: ?strict=1 answers
        503 for it, without Retry-After (nginx adds none either)."""
        # Recent backups (of other tests) hidden for the time of this one, then given back.
        hidden = [r[0] for r in sql(
            "UPDATE backup_metadata SET deleted_at = now() WHERE deleted_at IS NULL "
            "AND status = 'success' AND finished_at > now() - interval '26 hours' "
            "RETURNING id")]
        for bid in hidden:
            self.addCleanup(sql, "UPDATE backup_metadata SET deleted_at = NULL "
                            "WHERE id = :'p1'::bigint", bid)
        body = get(ft.HEALTH).json()
        self.assertTrue(any("sauvegarde" in w for w in body["avertissements"]), body)
        strict = get(ft.HEALTH + "?strict=1")
        self.assertStatus(strict, 503)
        self.assertEqual(strict.json()["status"], "degrade")
        self.assertIsNone(strict.header("Retry-After"), strict.describe())

    def test_pending_migration_is_503_with_the_reason(self):
        last = self.migrations()[-1]
        applied_at = sql_one("SELECT applied_at FROM schema_migrations WHERE version = :'p1'", last)
        self.addCleanup(sql, "INSERT INTO schema_migrations (version, applied_at) "
                        "VALUES (:'p1', :'p2') ON CONFLICT DO NOTHING", last, applied_at)
        sql("DELETE FROM schema_migrations WHERE version = :'p1'", last)
        resp = get(ft.HEALTH)
        self.assertStatus(resp, 503)
        body = resp.json()
        self.assertEqual(body["status"], "indisponible")
        self.assertFalse(body["migrations"]["a_jour"])
        self.assertTrue(any("migration" in r for r in body["raisons"]), body)
        self.assertIsNotNone(resp.header("Retry-After"))

    def test_old_backup_is_a_warning(self):
        warnings = get(ft.HEALTH).json()["avertissements"]
        has_recent = sql_int("SELECT count(*) FROM backup_metadata WHERE status = 'success' "
                             "AND deleted_at IS NULL AND finished_at > now() - interval '26 hours'")
        self.assertEqual(any("sauvegarde" in w for w in warnings), has_recent == 0, warnings)


def ensure_db_up():
    if ft.db_ready():
        return
    try:
        dev("db-start")
    except AssertionError:
        pass
    if not ft.wait_db_ready(30):
        raise AssertionError("the test database did not come back up")


class SpoolTest(ft.FiableTestCase):
    """A database outage: the requests answered 503 are kept in the spool on disk, then
    ingested once the database is back, each exactly once."""

    def setUp(self):
        ensure_db_up()
        self.addCleanup(ensure_db_up)
        self.spool = os.environ["FIABLE_TEST_SPOOL_DIR"]
        self.wait_for(lambda: get(ft.HEALTH).status == 200, RECOVERY_SECONDS,
                      "GET /api/health is not 200 before the test")

    def spool_lines(self):
        n = 0
        for path in glob.glob(os.path.join(self.spool, "metrics*")):
            with open(path, "rb") as f:
                n += f.read().count(b"\n")
        return n

    def test_outage_failures_show_up_afterwards(self):
        self.assertCreated(ft.submit(ft.valid_payload()))      # workers are connected
        started = sql_one("SELECT now()")
        dev("db-stop", "fast")
        keys = []
        form_statuses = []
        try:
            for i in range(4):
                key = ft.new_key()
                keys.append(key)
                resp = ft.submit(ft.valid_payload(), key=key, timeout=30, headers={
                    "Fiable-Client": client_header(from_queue=1, queued_ms=1000 * i,
                                                   queue_length=4 - i, attempt=i + 1)})
                self.assertProblem(resp, 503, "database_unavailable")
                # The form's configuration is served from the worker's cache while the
                # database is down (nothing can change it then): 200 from a worker that had
                # it, 503 from one that had not; measured either way.
                form_statuses.append(get(ft.FORM, timeout=30).status)
                self.assertIn(form_statuses[-1], (200, 503))
            health = get(ft.HEALTH)
            self.assertStatus(health, 503)
            self.assertEqual(health.json()["database"], "injoignable")
            self.assertGreaterEqual(health.json()["file_durable"]["lignes"], 8)
            self.assertGreaterEqual(self.spool_lines(), 8, "the outage was not spooled")
        finally:
            dev("db-start")
        self.wait_for(lambda: get(ft.HEALTH).status == 200, RECOVERY_SECONDS,
                      "GET /api/health is not 200 after the database came back")
        resp = admin_get(METRICS + "?window=24h")
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json()["file_durable"]["lignes"], 0)
        self.assertEqual(self.spool_lines(), 0, "the spool was not emptied")

        for i, key in enumerate(keys):
            row = metric_row(key)
            self.assertEqual((row["endpoint"], row["method"], row["status"]),
                             ("/api/submit", "POST", "503"))
            self.assertEqual((row["from_queue"], row["attempt"], row["queue_length"]),
                             ("t", str(i + 1), str(4 - i)))
            self.assertIsNotNone(row["spool_id"])
        # Every form request of the outage was measured through the spool, whatever its answer.
        refused = form_statuses.count(503)
        forms = sql_int("SELECT count(*) FROM request_metrics WHERE endpoint = '/api/form' "
                        "AND spool_id IS NOT NULL "
                        "AND created_at >= :'p1'::timestamptz", started)
        self.assertGreaterEqual(forms, 4)
        forms_refused = sql_int("SELECT count(*) FROM request_metrics WHERE endpoint = "
                                "'/api/form' AND status = 503 AND spool_id IS NOT NULL "
                                "AND created_at >= :'p1'::timestamptz", started)
        self.assertGreaterEqual(forms_refused, refused)
        errors = {(e["statut"], e["adresse"]): e["nombre"]
                  for e in resp.json()["indicateurs"]["erreurs"]}
        self.assertGreaterEqual(errors.get((503, "/api/submit"), 0), 4)
        self.assertGreaterEqual(errors.get((503, "/api/form"), 0), refused)

        # A crash after the database took the lines but before the file was removed: the
        # same lines ingested again add nothing.
        count = sql_int("SELECT count(*) FROM request_metrics WHERE spool_id IS NOT NULL")
        lines = [sql_one(
            "SELECT json_build_object('id', spool_id, 't', extract(epoch FROM created_at), "
            "'endpoint', endpoint, 'method', method, 'status', status, "
            "'duration_us', duration_us)::text FROM request_metrics "
            "WHERE idempotency_key_sha256 = decode(:'p1', 'hex')", ft.key_sha256(key))
            for key in keys]
        replay = os.path.join(self.spool, "metrics-0-%s.ingest" % uuid.uuid4().hex[:16])
        with open(replay, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\npas du json\n")
        shutil.chown(replay, *self.spool_owner())
        self.assertStatus(admin_get(METRICS), 200)
        self.assertFalse(os.path.exists(replay), "the replayed file was not ingested")
        self.assertEqual(sql_int("SELECT count(*) FROM request_metrics "
                                 "WHERE spool_id IS NOT NULL"), count)

    def spool_owner(self):
        st = os.stat(self.spool)
        return st.st_uid, st.st_gid


if __name__ == "__main__":
    unittest.main(verbosity=2)
