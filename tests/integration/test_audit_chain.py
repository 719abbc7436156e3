#!/usr/bin/env python3
"""The audit log's hash chain (sql/0008): every row written through the application is
linked to the one before it (concurrent writers included), the application role cannot
choose its own links, and fiable-verify-audit recomputes the chain, names the first broken
row after a modification or a removal made behind the triggers' back, and sees a chain
rewritten from some row to the end through the head recorded with a backup (in
backup_metadata and in the manifest kept at the destination). Every tampering is undone
before the test ends: the suite shares one database."""

import hashlib
import json
import os
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
    """Runs statements as the superuser behind the audit triggers' back, holding the chain's
    lock so that no application write interleaves."""
    ft.sql("BEGIN;\nSELECT pg_advisory_xact_lock(%d);\n"
           "ALTER TABLE audit_logs DISABLE TRIGGER USER;\n%s\n"
           "ALTER TABLE audit_logs ENABLE TRIGGER USER;\nCOMMIT;" % (CHAIN_LOCK, statements))


def relink_from(row_id):
    """Recomputes every link from row_id to the end, as a forger would."""
    return """DO $$
DECLARE r audit_logs; h text;
BEGIN
    SELECT prev_hash INTO h FROM audit_logs WHERE id = %d;
    FOR r IN SELECT * FROM audit_logs WHERE chain_seq >= (SELECT chain_seq FROM audit_logs
             WHERE id = %d) ORDER BY chain_seq LOOP
        UPDATE audit_logs SET prev_hash = h,
            hash = encode(sha256(convert_to(h || E'\\n' || audit_logs_canonical(r), 'UTF8')), 'hex')
            WHERE id = r.id RETURNING hash INTO h;
    END LOOP;
END
$$;""" % (row_id, row_id)


def chain_rows(first_seq=1):
    return ft.sql("SELECT chain_seq, id, prev_hash, hash, audit_logs_canonical(a) "
                  "FROM audit_logs AS a WHERE chain_seq >= :'p1' ORDER BY chain_seq", first_seq)


class AuditChainTest(bh.BackupTestCase):

    def assertIntact(self, proc):
        self.assertRc(proc, 0)
        self.assertRegex(bh.last_line(proc.stderr),
                         r"^fiable-verify-audit : chaîne intacte : \d+ ligne\(s\)")
        self.assertFrenchOutput(proc)

    def test_each_new_row_is_linked_to_the_one_before(self):
        before = ft.sql_int("SELECT max(chain_seq) FROM audit_logs")
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
        canonical = json.loads(rows[-1][4])
        self.assertEqual(canonical[0], int(rows[-1][1]))
        self.assertEqual(canonical[2], "submission.create")
        self.assertRegex(canonical[1], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

    def test_concurrent_writers_make_one_chain(self):
        before = ft.sql_int("SELECT max(chain_seq) FROM audit_logs")
        statuses = []

        def client():
            for _ in range(5):
                statuses.append(ft.submit(ft.valid_payload()).status)

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(statuses, [201] * 40)
        rows = ft.sql("SELECT count(*), max(chain_seq) - min(chain_seq) + 1, "
                      "count(DISTINCT prev_hash) FROM audit_logs WHERE chain_seq > :'p1'", before)
        count, span, prevs = (int(v) for v in rows[0])
        self.assertGreaterEqual(count, 40)
        self.assertEqual(span, count, "the chain has gaps")
        self.assertEqual(prevs, count, "two rows link to the same predecessor: a fork")
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
        # ...and a writer that may name them still gets the links the trigger computes.
        row = ft.sql(WITH_TABLE_WRITER % (
            "INSERT INTO audit_logs (action, entity, chain_seq, prev_hash, hash) "
            "VALUES ('test.forge', 'test', 1, :'p1', :'p1') "
            "RETURNING chain_seq, prev_hash, hash"), forged)[0]
        self.assertNotEqual(int(row[0]), 1)
        self.assertNotEqual(row[1], forged)
        self.assertNotEqual(row[2], forged)
        ft.app_sql("INSERT INTO audit_logs (action, entity) VALUES ('test.forge', 'test')")
        with self.assertRaises(ft.SqlError) as cm:
            ft.app_sql("UPDATE audit_logs SET hash = :'p1' WHERE action = 'test.forge'", forged)
        self.assertIn("permission denied", cm.exception.stderr)
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
            "RETURNING created_at = now(), hash = encode(sha256(convert_to(prev_hash || "
            "E'\\n' || audit_logs_canonical(audit_logs), 'UTF8')), 'hex')"), past)[0]
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
        target = ft.sql("SELECT id, chain_seq, details::text FROM audit_logs "
                        "ORDER BY chain_seq DESC OFFSET 1 LIMIT 1")[0]
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
        target = ft.sql("SELECT id, chain_seq, row_to_json(a)::text FROM audit_logs AS a "
                        "ORDER BY chain_seq DESC OFFSET 1 LIMIT 1")[0]
        row_id, seq, saved = int(target[0]), int(target[1]), target[2]
        after = ft.sql("SELECT id FROM audit_logs WHERE chain_seq = :'p1'", seq + 1)[0][0]
        tamper("DELETE FROM audit_logs WHERE id = %d;" % row_id)
        try:
            proc = verify()
            self.assertRc(proc, 2)
            self.assertIn("maillon %d (ligne id %s) : il suit le maillon %d" % (seq + 1, after,
                                                                               seq - 1),
                          proc.stderr)
            self.assertIn("des lignes ont été retirées", proc.stderr)
        finally:
            tamper("INSERT INTO audit_logs OVERRIDING SYSTEM VALUE SELECT * FROM "
                   "json_populate_record(NULL::audit_logs, %s::json);" % pg_literal(saved))
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
        self.assertEqual(head[1], ft.sql_one("SELECT hash FROM audit_logs WHERE chain_seq = "
                                             ":'p1'", head_seq))
        manifest_path = os.path.join(destination, head[2])
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        self.assertEqual((manifest["audit_chain_seq"], manifest["audit_chain_hash"]),
                         (head_seq, head[1]))
        self.assertIntact(verify("--manifest", manifest_path))

        # A forger changes a row before the head and relinks everything after it.
        target = ft.sql("SELECT id, details::text FROM audit_logs WHERE chain_seq = :'p1'",
                        head_seq - 1)[0]
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
