#!/usr/bin/env python3
"""The audit log's hash chain (sql/0008, sealed after commit since sql/0026): every row
written through the application is sealed by fiable-audit-sealer, linked to the link before
it (concurrent writers and two sealers included: no fork, no gap, each row sealed once), the
application role cannot choose its own links, and fiable-verify-audit recomputes the chain,
names the first broken link after a modification or a removal made behind the triggers'
back, sees a chain rewritten from some row to the end through the head recorded with a
backup (in backup_metadata and in the manifest kept at the destination), and reports a row
left unsealed past the bound (exit 2), as /api/health does. Every tampering is undone before
the test ends: the suite shares one database."""

import hashlib
import json
import os
import subprocess
import sys
import threading
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backup_helpers as bh  # noqa: E402
import fiable_test as ft  # noqa: E402

CHAIN_LOCK = 7310012348

# Runs one statement as a role created for it, holding the whole table's INSERT right on
# audit_logs (unlike fiable_app, which names the content columns only), in a transaction
# rolled back afterwards: role and row leave nothing behind.
WITH_TABLE_WRITER = """BEGIN;
CREATE ROLE fiable_itest_writer NOLOGIN;
GRANT SELECT, INSERT ON audit_logs TO fiable_itest_writer;
GRANT SELECT ON audit_pending TO fiable_itest_writer;
SET LOCAL ROLE fiable_itest_writer;
%s;
ROLLBACK;"""


def setUpModule():
    bh.require_backup_env()
    ft.valid_slots(2)


def verify(*args):
    env = bh.environment(bh.new_local_destination())
    return bh.run("verify-audit", *args, env=env)


def tamper(statements):
    """Runs statements as the superuser behind the triggers' back (of the log and of the
    chain), holding the chain's lock so that no seal interleaves. Every row is sealed first:
    what is tampered with is the sealed chain."""
    ft.wait_audit_sealed()
    ft.sql("BEGIN;\nSELECT pg_advisory_xact_lock(%d);\n"
           "ALTER TABLE audit_logs DISABLE TRIGGER USER;\n"
           "ALTER TABLE audit_chain DISABLE TRIGGER USER;\n%s\n"
           "ALTER TABLE audit_chain ENABLE TRIGGER USER;\n"
           "ALTER TABLE audit_logs ENABLE TRIGGER USER;\nCOMMIT;" % (CHAIN_LOCK, statements))


def relink_from(row_id):
    """Recomputes every link from row_id's to the end, as a forger would."""
    return """DO $$
DECLARE r record; h text;
BEGIN
    SELECT prev_hash INTO h FROM audit_chain WHERE audit_id = %d;
    FOR r IN SELECT c.seq, audit_logs_canonical(a) AS canonical FROM audit_chain AS c
             JOIN audit_logs AS a ON a.id = c.audit_id
             WHERE c.seq >= (SELECT seq FROM audit_chain WHERE audit_id = %d) ORDER BY c.seq LOOP
        UPDATE audit_chain SET prev_hash = h,
            content_hash = encode(sha256(convert_to(r.canonical, 'UTF8')), 'hex'),
            hash = encode(sha256(convert_to(h || E'\\n' || r.canonical, 'UTF8')), 'hex')
            WHERE seq = r.seq RETURNING hash INTO h;
    END LOOP;
END
$$;""" % (row_id, row_id)


def chain_rows(first_seq=1):
    ft.wait_audit_sealed()
    return ft.sql("SELECT c.seq, c.audit_id, c.prev_hash, c.hash, audit_logs_canonical(a), "
                  "c.content_hash FROM audit_chain AS c JOIN audit_logs AS a "
                  "ON a.id = c.audit_id WHERE c.seq >= :'p1' ORDER BY c.seq", first_seq)


def head_seq():
    return ft.sql_int("SELECT coalesce(max(seq), 0) FROM audit_chain")


def alert_dry_run():
    """fiable-check-alerts --dry-run with the shipped rules: what would fire, nothing sent."""
    env = ft.outbox_environment(ALERT_EMAIL="", FIABLE_ALERT_RULES=os.environ[
        "FIABLE_TEST_ALERT_RULES"], FIABLE_SPOOL_DIR=os.environ["FIABLE_TEST_SPOOL_DIR"])
    return subprocess.run([os.environ["FIABLE_TEST_CHECK_ALERTS"], "--dry-run"], env=env,
                          capture_output=True, text=True, timeout=ft.ceiling(60))


def sealer(*args):
    """fiable-audit-sealer of the build, against the test database, as the stack runs it."""
    return bh.run("audit-sealer", *args, env=bh.environment(bh.new_local_destination()))


class AuditChainTest(bh.BackupTestCase):

    def assertIntact(self, proc):
        self.assertRc(proc, 0)
        self.assertRegex(bh.last_line(proc.stderr),
                         r"^fiable-verify-audit : chaîne intacte : \d+ ligne\(s\)")
        self.assertFrenchOutput(proc)

    def test_each_new_row_is_linked_to_the_one_before(self):
        ft.wait_audit_sealed()
        before = head_seq()
        for _ in range(3):
            self.assertStatus(ft.submit(ft.valid_payload()), 201)
        rows = chain_rows(before)
        self.assertGreaterEqual(len(rows), 4)
        for prev, row in zip(rows, rows[1:]):
            self.assertEqual(int(row[0]), int(prev[0]) + 1, "a gap in the chain")
            self.assertEqual(row[2], prev[3], "prev_hash is not the previous row's hash")
            # Recomputed here, independently of the trigger and of fiable-verify-audit.
            expected = hashlib.sha256((row[2] + "\n" + row[4]).encode("utf-8")).hexdigest()
            self.assertEqual(row[3], expected)
            # The hash of the content, taken at insert by the writer's trigger.
            self.assertEqual(row[5], hashlib.sha256(row[4].encode("utf-8")).hexdigest())
        canonical = json.loads(rows[-1][4])
        self.assertEqual(canonical[0], int(rows[-1][1]))
        self.assertEqual(canonical[2], "submission.create")
        self.assertRegex(canonical[1], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

    def test_concurrent_writers_and_two_sealers_make_one_chain(self):
        """32 writers through the application while two more sealers (another node's) run
        beside the stack's own: one chain, every row sealed once, no fork, no gap."""
        ft.wait_audit_sealed()
        before = head_seq()
        first_id = ft.sql_int("SELECT coalesce(max(id), 0) FROM audit_logs")
        statuses = []
        env = bh.environment(bh.new_local_destination())
        sealers = [subprocess.Popen([os.path.join(os.environ["FIABLE_TEST_BACKUP_BIN"],
                                                   "fiable-audit-sealer"), "--watch",
                                     "--period-ms", "50"], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True) for _ in range(2)]
        try:
            def client():
                for _ in range(3):
                    statuses.append(ft.submit(ft.valid_payload()).status)

            threads = [threading.Thread(target=client) for _ in range(32)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            ft.wait_audit_sealed(timeout=30)
        finally:
            for p in sealers:
                p.terminate()
            errors = [p.communicate(timeout=ft.ceiling(20))[1] for p in sealers]
        self.assertEqual([p.returncode for p in sealers], [0, 0], errors)
        self.assertEqual(statuses, [201] * 96)
        rows = ft.sql("SELECT count(*), max(seq) - min(seq) + 1, count(DISTINCT prev_hash), "
                      "count(DISTINCT audit_id) FROM audit_chain WHERE seq > :'p1'", before)
        count, span, prevs, ids = (int(v) for v in rows[0])
        self.assertGreaterEqual(count, 96)
        self.assertEqual(span, count, "the chain has gaps")
        self.assertEqual(prevs, count, "two links to the same predecessor: a fork")
        self.assertEqual(ids, count, "a row sealed twice")
        self.assertEqual(ft.sql_int("SELECT count(*) FROM audit_logs AS a WHERE a.id > :'p1' "
                                    "AND (SELECT count(*) FROM audit_chain AS c "
                                    "WHERE c.audit_id = a.id) <> 1", first_id), 0,
                         "a row written during the run not sealed exactly once")
        self.assertIntact(verify())

    def test_a_row_left_unsealed_past_the_bound_is_reported(self):
        """The sealer stopped and a row waiting two minutes (dated and queued by the owner,
        as if the sealer had been down that long): fiable-verify-audit exits 2 and names it,
        /api/health warns with its age; the sealer back, it is sealed and all is well."""
        ft.dev("sealer-stop")
        try:
            ft.wait_audit_sealed()
            ft.sql("BEGIN;\nALTER TABLE audit_logs DISABLE TRIGGER USER;\n"
                   "INSERT INTO audit_logs (action, entity, created_at) VALUES "
                   "('test.unsealed', 'test', now() - interval '2 minutes');\n"
                   "INSERT INTO audit_pending (audit_id, content_hash, queued_at) SELECT id, "
                   "encode(sha256(convert_to(audit_logs_canonical(a), 'UTF8')), 'hex'), "
                   "created_at FROM audit_logs AS a WHERE action = 'test.unsealed' AND NOT "
                   "EXISTS (SELECT 1 FROM audit_chain AS c WHERE c.audit_id = a.id);\n"
                   "ALTER TABLE audit_logs ENABLE TRIGGER USER;\nCOMMIT;")
            row_id = ft.sql_int("SELECT max(id) FROM audit_logs WHERE action = 'test.unsealed'")
            proc = verify()
            self.assertRc(proc, 2)
            self.assertRegex(proc.stderr, r"SCELLEMENT EN RETARD : 1 ligne\(s\) non scellée\(s\), "
                             r"la plus ancienne \(id %d\) depuis 1[2-9]\d s, au-delà de la borne "
                             r"de 60 s" % row_id)
            self.assertFrenchOutput(proc)
            health = ft.get("/api/health")
            self.assertStatus(health, 200)
            body = health.json()
            self.assertGreaterEqual(body["audit"]["plus_ancienne_secondes"], 120)
            self.assertEqual(body["audit"]["non_scelles"], 1)
            self.assertEqual(body["audit"]["borne_secondes"], 60)
            self.assertTrue(any("scellement" in w for w in body["avertissements"]),
                            body["avertissements"])
            self.assertStatus(ft.get("/api/health?strict=1"), 503)
            # The alert rule of source "audit" (cron/alert-rules.json) fires on it.
            alerts = alert_dry_run()
            self.assertEqual(alerts.returncode, 0, alerts.stderr)
            self.assertRegex(alerts.stdout, r"audit_non_scelle +DÉCLENCHÉE \(valeur : 1[2-9]\d")
        finally:
            ft.dev("sealer-start")
        ft.wait_audit_sealed()
        body = ft.get("/api/health").json()
        self.assertEqual(body["audit"]["non_scelles"], 0)
        self.assertFalse(any("scellement" in w for w in body["avertissements"]))
        self.assertRegex(alert_dry_run().stdout, r"audit_non_scelle +normale \(valeur : 0,")
        self.assertIntact(verify())

    def test_a_row_modified_before_its_seal_is_named(self):
        """The sealer stopped, a row written through the application, then changed by the
        owner before its seal: the hash taken at its insert no longer matches."""
        ft.dev("sealer-stop")
        try:
            self.assertStatus(ft.submit(ft.valid_payload()), 201)
            row_id = ft.sql_int("SELECT max(audit_id) FROM audit_pending")
            ft.sql("BEGIN;\nALTER TABLE audit_logs DISABLE TRIGGER USER;\n"
                   "UPDATE audit_logs SET details = details || '{\"forge\": true}' "
                   "WHERE id = :'p1';\nALTER TABLE audit_logs ENABLE TRIGGER USER;\nCOMMIT;",
                   row_id)
            proc = verify()
            self.assertRc(proc, 2)
            self.assertIn("LIGNE MODIFIÉE AVANT SCELLEMENT : 1 ligne(s)", proc.stderr)
            # Sealed anyway, with the hash of its insert: the chain names it.
            self.assertRc(sealer(), 0)
            seq = ft.sql_int("SELECT seq FROM audit_chain WHERE audit_id = :'p1'", row_id)
            proc = verify()
            self.assertRc(proc, 2)
            self.assertIn("CHAÎNE CASSÉE : maillon %d (ligne id %d) : son contenu scellé ne "
                          "correspond pas à l'empreinte prise à son ajout" % (seq, row_id),
                          proc.stderr)
        finally:
            ft.dev("sealer-start")
            # Undone: the content of its insert back (its link was made over the forged one).
            tamper("UPDATE audit_logs SET details = details - 'forge' WHERE id = %d;\n%s"
                   % (row_id, relink_from(row_id)))
        self.assertIntact(verify())

    def test_the_application_cannot_choose_its_links(self):
        forged = "f" * 64
        # fiable_app may not even name them (sql/0013: it names the content only)...
        for column, value in (("chain_seq", "1"), ("prev_hash", ":'p1'"), ("hash", ":'p1'")):
            with self.subTest(column=column):
                with self.assertRaises(ft.SqlError) as cm:
                    ft.app_sql("INSERT INTO audit_logs (action, entity, %s) "
                               "VALUES ('test.forge', 'test', %s)" % (column, value), forged)
                self.assertIn("permission denied", cm.exception.stderr)
        # ...and a writer that may name them gets none: links are the sealer's (sql/0026).
        row = ft.sql(WITH_TABLE_WRITER % (
            "INSERT INTO audit_logs (action, entity, chain_seq, prev_hash, hash) "
            "VALUES ('test.forge', 'test', 1, :'p1', :'p1') "
            "RETURNING chain_seq IS NULL, prev_hash IS NULL, hash IS NULL"), forged)[0]
        self.assertEqual(row, ["t", "t", "t"])
        # The chain and its queue are written by audit_seal() only.
        for statement in ("INSERT INTO audit_chain (seq, audit_id, content_hash, prev_hash, "
                          "hash) VALUES (999999, 1, :'p1', :'p1', :'p1')",
                          "INSERT INTO audit_pending (audit_id, content_hash) "
                          "VALUES (999999, :'p1')",
                          "DELETE FROM audit_pending",
                          "SELECT count(*) FROM audit_chain"):
            with self.subTest(statement=statement):
                with self.assertRaises(ft.SqlError) as cm:
                    ft.app_sql(statement, forged)
                self.assertIn("permission denied", cm.exception.stderr)
        ft.app_sql("INSERT INTO audit_logs (action, entity) VALUES ('test.forge', 'test')")
        with self.assertRaises(ft.SqlError) as cm:
            ft.app_sql("UPDATE audit_logs SET hash = :'p1' WHERE action = 'test.forge'", forged)
        self.assertIn("permission denied", cm.exception.stderr)
        # Even the owner cannot change or drop a link without disabling the triggers.
        for statement in ("UPDATE audit_chain SET hash = :'p1' WHERE seq = 1",
                          "DELETE FROM audit_chain WHERE seq = 1", "TRUNCATE audit_chain"):
            with self.subTest(statement=statement):
                with self.assertRaises(ft.SqlError) as cm:
                    ft.sql(statement, forged)
                self.assertIn("audit_chain est en ajout seul", cm.exception.stderr)
        ft.wait_audit_sealed()
        self.assertIntact(verify())

    def test_the_time_of_a_row_is_the_databases(self):
        """An audit row dated 2001 by its writer: refused to the application role, dated
        now() by the trigger for any other writer, before its hash is computed; only the
        restoration (fiable_restore, putting back a backup's rows) keeps the time it gives."""
        past = "2001-01-01T00:00:00Z"
        before = ft.sql_int("SELECT max(id) FROM audit_logs")
        for columns, values in (("created_at", ":'p1'::timestamptz"),
                                ("id", "1"), ("id, created_at", "1, :'p1'::timestamptz")):
            with self.subTest(columns=columns):
                with self.assertRaises(ft.SqlError) as cm:
                    ft.app_sql("INSERT INTO audit_logs (action, entity, %s) "
                               "OVERRIDING SYSTEM VALUE VALUES ('test.past', 'test', %s)"
                               % (columns, values), past)
                self.assertIn("permission denied", cm.exception.stderr)
        self.assertEqual(ft.sql_int("SELECT count(*) FROM audit_logs WHERE action = "
                                    "'test.past'"), 0)
        # A writer with the whole table's INSERT right (not the application's): forced.
        row = ft.sql(WITH_TABLE_WRITER % (
            "INSERT INTO audit_logs (action, entity, created_at) "
            "VALUES ('test.past', 'test', :'p1'::timestamptz) "
            "RETURNING id, created_at = now();\n"
            "SELECT p.content_hash = encode(sha256(convert_to(audit_logs_canonical(a), "
            "'UTF8')), 'hex') FROM audit_logs AS a JOIN audit_pending AS p ON p.audit_id = a.id "
            "WHERE a.action = 'test.past'"), past)
        row = [row[0][1], row[1][0]]
        self.assertEqual(row, ["t", "t"], "the writer's time was kept, or hashed before "
                                          "being replaced")
        # The restoration keeps it (the row is rolled back: the log is shared by the suite).
        kept = ft.sql("BEGIN;\nSET LOCAL ROLE fiable_restore;\n"
                      "INSERT INTO audit_logs (action, entity, created_at) VALUES "
                      "('test.past', 'test', :'p1'::timestamptz) RETURNING "
                      "created_at = :'p1'::timestamptz;\nROLLBACK;", past)
        self.assertEqual(kept, [["t"]], "fiable_restore could not put a row back at its time")
        self.assertEqual(ft.sql_int("SELECT count(*) FROM audit_logs WHERE id > :'p1' AND "
                                    "created_at < now() - interval '1 day'", before), 0)
        self.assertIntact(verify())

    def test_a_modified_row_is_named(self):
        self.assertStatus(ft.submit(ft.valid_payload()), 201)
        self.assertStatus(ft.submit(ft.valid_payload()), 201)
        ft.wait_audit_sealed()
        target = ft.sql("SELECT a.id, c.seq, a.details::text FROM audit_chain AS c JOIN "
                        "audit_logs AS a ON a.id = c.audit_id ORDER BY c.seq DESC OFFSET 1 "
                        "LIMIT 1")[0]
        row_id, seq, details = int(target[0]), int(target[1]), target[2]
        tamper("UPDATE audit_logs SET details = details || '{\"creneaux\": 99}' "
               "WHERE id = %d;" % row_id)
        try:
            proc = verify()
            self.assertRc(proc, 2)
            self.assertIn("CHAÎNE CASSÉE : maillon %d (ligne id %d) : son contenu ne "
                          "correspond plus à son empreinte" % (seq, row_id), proc.stderr)
            self.assertIn("%d ligne(s) intactes avant elle" % (seq - 1), proc.stderr)
            self.assertFrenchOutput(proc)
        finally:
            tamper("UPDATE audit_logs SET details = %s::jsonb WHERE id = %d;"
                   % (pg_literal(details), row_id))
        self.assertIntact(verify())

    def test_a_removed_row_is_named(self):
        self.assertStatus(ft.submit(ft.valid_payload()), 201)
        self.assertStatus(ft.submit(ft.valid_payload()), 201)
        ft.wait_audit_sealed()
        target = ft.sql("SELECT a.id, c.seq, row_to_json(a)::text, row_to_json(c)::text "
                        "FROM audit_chain AS c JOIN audit_logs AS a ON a.id = c.audit_id "
                        "ORDER BY c.seq DESC OFFSET 1 LIMIT 1")[0]
        row_id, seq, saved, link = int(target[0]), int(target[1]), target[2], target[3]
        after = ft.sql("SELECT audit_id FROM audit_chain WHERE seq = :'p1'", seq + 1)[0][0]
        put_back = ("INSERT INTO audit_logs OVERRIDING SYSTEM VALUE SELECT * FROM "
                    "json_populate_record(NULL::audit_logs, %s::json);" % pg_literal(saved))
        # The row alone: its link names it.
        tamper("DELETE FROM audit_logs WHERE id = %d;" % row_id)
        try:
            proc = verify()
            self.assertRc(proc, 2)
            self.assertIn("CHAÎNE CASSÉE : maillon %d : la ligne id %d qu'il scelle a été "
                          "retirée du journal" % (seq, row_id), proc.stderr)
        finally:
            tamper(put_back)
        self.assertIntact(verify())
        # The row and its link: a gap.
        tamper("DELETE FROM audit_logs WHERE id = %d;\nDELETE FROM audit_chain WHERE seq = %d;"
               % (row_id, seq))
        try:
            proc = verify()
            self.assertRc(proc, 2)
            self.assertIn("maillon %d (ligne id %s) : il suit le maillon %d" % (seq + 1, after,
                                                                               seq - 1),
                          proc.stderr)
            self.assertIn("des lignes ont été retirées", proc.stderr)
        finally:
            tamper(put_back + "\nINSERT INTO audit_chain SELECT * FROM json_populate_record("
                   "NULL::audit_chain, %s::json);" % pg_literal(link))
        self.assertIntact(verify())

    def test_a_rewritten_chain_is_seen_through_the_backup_heads(self):
        self.assertStatus(ft.submit(ft.valid_payload()), 201)
        destination = bh.new_local_destination()
        backup = bh.run("backup-submissions", env=bh.environment(destination))
        self.assertRc(backup, 0)
        summary = self.assertSuccessSummary(backup)
        head = ft.sql("SELECT audit_chain_seq, audit_chain_hash, manifest_key FROM "
                      "backup_metadata WHERE id = :'p1'", summary["id"])[0]
        head_seq = int(head[0])
        self.assertEqual(head[1], ft.sql_one("SELECT hash FROM audit_chain WHERE seq = :'p1'",
                                             head_seq))
        manifest_path = os.path.join(destination, head[2])
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        self.assertEqual((manifest["audit_chain_seq"], manifest["audit_chain_hash"]),
                         (head_seq, head[1]))
        self.assertIntact(verify("--manifest", manifest_path))

        # A forger changes a row before the head and relinks everything after it.
        target = ft.sql("SELECT a.id, a.details::text FROM audit_chain AS c JOIN audit_logs "
                        "AS a ON a.id = c.audit_id WHERE c.seq = :'p1'", head_seq - 1)[0]
        row_id, details = int(target[0]), target[1]
        tamper("UPDATE audit_logs SET details = details || '{\"forge\": true}' WHERE id = %d;\n%s"
               % (row_id, relink_from(row_id)))
        try:
            proc = verify("--manifest", manifest_path)
            self.assertRc(proc, 2)
            self.assertIn("la sauvegarde %d du " % summary["id"], proc.stderr)
            self.assertIn("la chaîne a été réécrite depuis", proc.stderr)
            self.assertIn("le manifeste %s (sauvegarde %d" % (manifest_path, summary["id"]),
                          proc.stderr)
            self.assertRegex(bh.last_line(proc.stderr), r"CHAÎNE RÉÉCRITE : .* 2 tête\(s\)")
        finally:
            tamper("UPDATE audit_logs SET details = %s::jsonb WHERE id = %d;\n%s"
                   % (pg_literal(details), row_id, relink_from(row_id)))
        self.assertIntact(verify("--manifest", manifest_path))

    def test_usage_and_bad_manifest(self):
        proc = verify("--inconnu")
        self.assertRc(proc, 64)
        self.assertIn("argument inconnu", proc.stderr)
        path = os.path.join(bh.new_local_destination(), "faux.manifest.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write('{"format": 1, "audit_chain_seq": "x"}')
        proc = verify("--manifest", path)
        self.assertRc(proc, 1)
        self.assertRegex(proc.stderr, r"manifeste .*faux\.manifest\.json : manifeste")
        self.assertFrenchOutput(proc)


def pg_literal(text):
    """A dollar-quoted SQL literal (the tampering statements are built as text)."""
    tag = "$t$"
    if tag in text:
        raise ValueError("unexpected $t$ in %r" % text)
    return tag + text + tag


if __name__ == "__main__":
    unittest.main(verbosity=2)
