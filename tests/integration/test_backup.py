#!/usr/bin/env python3
"""fiable-backup-submissions to a local directory: one consistent snapshot as gzip JSON lines
with a manifest (row counts, last audit id, snapshot time, SHA-256), read back and optionally
restored before the run is marked a success; and every failure (database down, disk full,
missing destination, another run holding the lock) ends with a French message, a 'failed'
row and a non-zero exit, never a success row."""

import base64
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backup_helpers as bh  # noqa: E402
import fiable_test as ft  # noqa: E402
from fiable_test import dev  # noqa: E402


def setUpModule():
    bh.require_backup_env()
    ft.valid_slots(2)


def table_counts():
    row = ft.sql("SELECT (SELECT count(*) FROM creneaux), "
                 "(SELECT count(*) FROM soumissions_disponibilites), "
                 "(SELECT count(*) FROM audit_logs), (SELECT coalesce(max(id), 0) FROM audit_logs), "
                 "(SELECT count(*) FROM campagnes), (SELECT count(*) FROM participants)")[0]
    return {"creneaux": int(row[0]), "soumissions_disponibilites": int(row[1]),
            "audit_logs": int(row[2]), "audit_last_id": int(row[3]), "campagnes": int(row[4]),
            "participants": int(row[5])}


TABLES = ("campagnes", "creneaux", "soumissions_disponibilites", "audit_logs", "participants")


class LocalBackupTest(bh.BackupTestCase):

    def setUp(self):
        self.dest = bh.new_local_destination()
        self.addCleanup(bh.remove_tree, self.dest)
        self.env = bh.environment(self.dest)

    def test_backup_manifest_and_payload(self):
        # Some history and a withdrawal, so the payload holds more than fresh rows.
        payload, created = ft.create_submission()
        token = created["edit_token"]
        resp = ft.modify_put(token, dict(ft.content_of(payload), nom="Nom modifié"),
                             if_match=ft.etag(1))
        self.assertStatus(resp, 200)
        self.assertStatus(ft.modify_delete(token, if_match=ft.etag(2)), 200)
        before = table_counts()
        first = bh.next_backup_id()

        proc = bh.run("backup-submissions", env=self.env)
        self.assertRc(proc, 0)
        summary = self.assertSuccessSummary(proc)
        self.assertFrenchOutput(proc)
        for table in TABLES:
            self.assertEqual(summary[table], before[table], "%s count\n%s"
                             % (table, bh.describe(proc)))

        rows = bh.backup_rows_since(first)
        self.assertEqual(len(rows), 1, rows)
        row = rows[0]
        self.assertEqual(row["id"], summary["id"])
        self.assertEqual(row["status"], "success")
        self.assertEqual(row["destination"], bh.destination_name(self.dest))
        self.assertRegex(row["object_key"], bh.PAYLOAD_NAME)
        self.assertEqual(row["manifest_key"],
                         row["object_key"].replace(".jsonl.gz", ".manifest.json"))
        self.assertIsNone(row["error"])
        self.assertIsNone(row["verified_at"], "not verified without --verify-after")
        self.assertEqual(row["row_counts"], {t: before[t] for t in TABLES})
        self.assertEqual(row["audit_last_id"], before["audit_last_id"])
        self.assertEqual(summary["object"], row["destination"] + "/" + row["object_key"])

        # The objects are where the row says, and match it.
        path = os.path.join(self.dest, row["object_key"])
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(len(data), row["size_bytes"])
        self.assertEqual(bh.sha256_file(path), row["sha256"])
        self.assertEqual(os.stat(path).st_mode & 0o077, 0o040 & 0o077, "mode 0640")
        with open(os.path.join(self.dest, row["manifest_key"]), encoding="utf-8") as f:
            manifest = json.load(f)
        self.assertEqual(manifest, row["manifest"], "the stored and recorded manifests differ")
        self.assertEqual(manifest["format"], 3)
        self.assertEqual(manifest["id"], row["id"])
        self.assertEqual(manifest["object"], row["object_key"])
        self.assertEqual(manifest["sha256"], row["sha256"])
        self.assertEqual(manifest["size"], row["size_bytes"])
        self.assertEqual(manifest["audit_last_id"], before["audit_last_id"])
        self.assertRegex(manifest["schema_version"], r"^\d{4}_")
        snapshot = ft.parse_iso(manifest["snapshot_at"])
        self.assertLess(abs(snapshot.timestamp() - time.time()), 120)
        self.assertEqual(sorted(os.listdir(self.dest)),
                         sorted([row["object_key"], row["manifest_key"]]),
                         "nothing else (no temporary file) in the destination")

        # gzip JSON lines: a header per table, then its rows, hashed as the manifest says.
        headers, tables = bh.read_payload(data)
        self.assertEqual([h["table"] for h in headers], list(TABLES))
        self.assertEqual({h["fiable_backup"] for h in headers}, {3})
        for h in headers:
            entry = manifest["tables"][h["table"]]
            self.assertEqual(h["columns"], entry["columns"])
            self.assertEqual(len(tables[h["table"]]), entry["rows"])
            self.assertEqual(bh.table_lines_sha256(tables[h["table"]]), entry["sha256"])
        subs = [json.loads(line) for line in tables["soumissions_disponibilites"]]
        mine = [s for s in subs if s["id"] == created["id"]]
        self.assertEqual(len(mine), 1, "the withdrawn submission is in the backup")
        self.assertIsNotNone(mine[0]["deleted_at"])
        self.assertEqual(mine[0]["version"], 3)
        self.assertEqual(len(mine[0]["historique_modifications"]), 2, "history included")
        self.assertEqual(mine[0]["edit_token_hash"], "\\x" + ft.submission_row(created["id"])["hash"])
        audit = [json.loads(line) for line in tables["audit_logs"]]
        self.assertEqual(audit[-1]["id"], before["audit_last_id"])
        self.assertEqual([a["id"] for a in audit], sorted(a["id"] for a in audit))

    def test_verify_after_restores_before_success(self):
        ft.create_submission()
        first = bh.next_backup_id()
        proc = bh.run("backup-submissions", "--verify-after", env=self.env)
        self.assertRc(proc, 0)
        self.assertSuccessSummary(proc, verified=True)
        self.assertIn("contenu identique", proc.stderr)
        row = bh.backup_rows_since(first)[0]
        self.assertEqual(row["status"], "success")
        self.assertEqual(row["verification"], "ok")
        self.assertIsNotNone(row["verified_at"])

    def test_snapshot_is_consistent_under_concurrent_writes(self):
        """Submissions created while the backup runs: each one's audit row is in the backup
        exactly when the submission is (one REPEATABLE READ snapshot for all tables)."""
        stop = threading.Event()
        errors = []
        written = []

        def writer():
            while not stop.is_set():
                resp = ft.submit(ft.valid_payload())
                if resp.status != 201:
                    errors.append(resp.describe())
                    return
                written.append(resp)

        threads = [threading.Thread(target=writer) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            # The backup starts while the writers are at work: a few answers first.
            self.wait_for(lambda: len(written) >= 3 or errors, 30,
                          "the writers stored nothing before the backup")
            proc = bh.run("backup-submissions", env=self.env)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(errors, [])
        self.assertRc(proc, 0)
        row = bh.backup_rows_since(self.assertSuccessSummary(proc)["id"])[0]
        with open(os.path.join(self.dest, row["object_key"]), "rb") as f:
            _, tables = bh.read_payload(f.read())
        ids = {str(json.loads(line)["id"]) for line in tables["soumissions_disponibilites"]}
        created = {a["entity_id"] for a in map(json.loads, tables["audit_logs"])
                   if a["action"] == "submission.create"}
        # Each submission and its audit row were written in one transaction: a snapshot sees
        # both or neither.
        self.assertEqual(created - ids, set(),
                         "creation audit rows in the backup without their submission")
        all_created = {r[0] for r in ft.sql("SELECT entity_id FROM audit_logs "
                                              "WHERE action = 'submission.create'")}
        self.assertEqual((ids & all_created) - created, set(),
                         "submissions in the backup without their creation audit row")

    def test_verify_and_corruption_detected(self):
        ft.create_submission()
        proc = bh.run("backup-submissions", env=self.env)
        self.assertRc(proc, 0)
        row = bh.backup_row(self.assertSuccessSummary(proc)["id"])

        ok = bh.run("restore-backup", "--verify", str(row["id"]), env=self.env)
        self.assertRc(ok, 0)
        self.assertRegex(bh.last_line(ok.stderr), r"^fiable-restore-backup : sauvegarde %d "
                         r"vérifiée : restaurée dans des tables temporaires, \d+ lignes "
                         r"identiques au manifeste" % row["id"])
        self.assertFrenchOutput(ok)
        checked = bh.backup_row(row["id"])
        self.assertEqual(checked["verification"], "ok")
        self.assertIsNotNone(checked["verified_at"])

        # One byte changed in the stored object: the checksum catches it.
        path = os.path.join(self.dest, row["object_key"])
        with open(path, "r+b") as f:
            f.seek(row["size_bytes"] // 2)
            b = f.read(1)
            f.seek(row["size_bytes"] // 2)
            f.write(bytes([b[0] ^ 0xff]))
        bad = bh.run("restore-backup", "--verify", str(row["id"]), env=self.env)
        self.assertRc(bad, 1)
        self.assertRegex(bh.last_line(bad.stderr), r"vérification de la sauvegarde %d ÉCHOUÉE "
                         r": .*ne correspond pas au manifeste" % row["id"])
        failed = bh.backup_row(row["id"])
        self.assertEqual(failed["verification"], "failed")
        self.assertRegex(failed["verification_error"], "ne correspond pas au manifeste")

        # Gone altogether.
        os.unlink(path)
        gone = bh.run("restore-backup", "--verify", str(row["id"]), env=self.env)
        self.assertRc(gone, 1)
        self.assertIn("n'existe pas", bh.last_line(gone.stderr))

    def test_payload_rewritten_with_valid_gzip_but_other_rows_is_caught(self):
        """A payload whose SHA-256 was forged into the manifest too: the restoration into
        scratch tables compares each table's content with the row-line checksums."""
        ft.create_submission()
        proc = bh.run("backup-submissions", env=self.env)
        self.assertRc(proc, 0)
        row = bh.backup_row(self.assertSuccessSummary(proc)["id"])
        path = os.path.join(self.dest, row["object_key"])
        with open(path, "rb") as f:
            lines = gzip.decompress(f.read()).decode("utf-8").split("\n")
        # Change one submission's name, keep it valid JSON.
        for i, line in enumerate(lines):
            if line.startswith('{"id":') and '"nom":"' in line and '"version":' in line:
                lines[i] = line.replace('"nom":"', '"nom":"X', 1)
                break
        data = gzip.compress("\n".join(lines).encode("utf-8"))
        with open(path, "wb") as f:
            f.write(data)
        forged = dict(row["manifest"], size=len(data), sha256=hashlib.sha256(data).hexdigest())
        ft.sql("UPDATE backup_metadata SET manifest = :'p1'::jsonb WHERE id = :'p2'::bigint",
               json.dumps(forged), row["id"])
        with open(os.path.join(self.dest, row["manifest_key"]), "w", encoding="utf-8") as f:
            json.dump(forged, f)
        bad = bh.run("restore-backup", "--verify", str(row["id"]), env=self.env)
        self.assertRc(bad, 1)
        self.assertRegex(bh.last_line(bad.stderr), r"soumissions_disponibilites : le contenu "
                         r"restauré diffère du manifeste")

    def test_list(self):
        proc = bh.run("backup-submissions", env=self.env)
        self.assertRc(proc, 0)
        backup_id = self.assertSuccessSummary(proc)["id"]
        row = bh.backup_row(backup_id)
        listing = bh.run("restore-backup", "--list", env=self.env)
        self.assertRc(listing, 0)
        self.assertIn("ÉTAT", listing.stdout)
        line = [line for line in listing.stdout.splitlines() if line.startswith("%d " % backup_id)]
        self.assertEqual(len(line), 1, listing.stdout)
        self.assertRegex(line[0], r"^%d\s+réussie\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\d+ min\s+[\d,]+ "
                         r"(o|Kio|Mio)\s+non\s+%s$"
                         % (backup_id, re.escape(row["destination"] + "/" + row["object_key"])))
        self.assertIn("sans ligne dans backup_metadata : 0", listing.stdout)
        # An object nobody recorded is listed (a database that lost backup_metadata).
        stray = "fiable-20200101T020000Z-999999.jsonl.gz"
        open(os.path.join(self.dest, stray), "wb").close()
        listing = bh.run("restore-backup", "--list", env=self.env)
        self.assertIn("sans ligne dans backup_metadata : 1", listing.stdout)
        self.assertIn("  " + stray, listing.stdout)

    def test_help_and_usage(self):
        for program in ("backup-submissions", "cleanup-old-backups", "restore-backup"):
            with self.subTest(program=program):
                proc = bh.run(program, "--help", env=self.env)
                self.assertRc(proc, 0)
                self.assertIn("BACKUP_DESTINATION", proc.stdout)
                bad = bh.run(program, "--nonsense", env=self.env)
                self.assertRc(bad, 64)


class ConcurrencyTest(bh.BackupTestCase):

    def setUp(self):
        self.dest = bh.new_local_destination()
        self.addCleanup(bh.remove_tree, self.dest)
        self.env = bh.environment(self.dest)

    def test_second_run_exits_cleanly_while_the_lock_is_held(self):
        first = bh.next_backup_id()
        holder = bh.hold_backup_lock()
        try:
            proc = bh.run("backup-submissions", env=self.env)
            cleanup = bh.run("cleanup-old-backups", env=self.env)
        finally:
            holder.communicate(timeout=ft.ceiling(10))
        self.assertRc(proc, 0)
        self.assertRegex(bh.last_line(proc.stderr), r"une autre sauvegarde .* est en cours")
        self.assertRc(cleanup, 0)
        self.assertRegex(bh.last_line(cleanup.stderr), r"en cours : rien à faire")
        self.assertEqual(bh.backup_rows_since(first), [], "no row for a run that did nothing")
        self.assertEqual(os.listdir(self.dest), [])

    def test_two_runs_at_once(self):
        first = bh.next_backup_id()
        path = os.path.join(os.environ["FIABLE_TEST_BACKUP_BIN"], "fiable-backup-submissions")
        procs = [subprocess.Popen([path, "--verify-after"], env=self.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(2)]
        outs = [p.communicate(timeout=ft.ceiling(120)) for p in procs]
        self.assertEqual([p.returncode for p in procs], [0, 0], outs)
        rows = bh.backup_rows_since(first)
        self.assertGreaterEqual(len(rows), 1)
        self.assertTrue(all(r["status"] == "success" for r in rows), rows)
        # Either both ran one after the other, or the second gave way: never two at once.
        if len(rows) == 1:
            self.assertTrue(any(b"une autre sauvegarde" in err for _, err in outs), outs)

    def test_stale_running_row_is_marked_failed(self):
        stale = ft.sql_int("INSERT INTO backup_metadata (destination, started_at) "
                           "VALUES ('file:///nulle-part', now() - interval '1 day') RETURNING id")
        proc = bh.run("backup-submissions", env=self.env)
        self.assertRc(proc, 0)
        row = bh.backup_row(stale)
        self.assertEqual(row["status"], "failed")
        self.assertRegex(row["error"], "interrompue")


class FailureTest(bh.BackupTestCase):

    def test_database_down(self):
        first = bh.next_backup_id()
        dest = bh.new_local_destination()
        self.addCleanup(bh.remove_tree, dest)
        dev("db-stop", "fast")
        try:
            proc = bh.run("backup-submissions", env=bh.environment(dest))
        finally:
            dev("db-start")
            self.assertTrue(ft.wait_db_ready(), "the database did not come back")
        self.assertRc(proc, 1)
        self.assertRegex(bh.last_line(proc.stderr), r"^fiable-backup-submissions : sauvegarde "
                         r"impossible : base de données injoignable")
        self.assertEqual(bh.backup_rows_since(first), [], "nothing could be recorded")
        self.assertEqual(os.listdir(dest), [], "nothing written")

    def test_missing_destination(self):
        first = bh.next_backup_id()
        missing = os.path.join(tempfile.gettempdir(), "fiable-absent-" + os.urandom(4).hex())
        proc = bh.run("backup-submissions", env=bh.environment(missing))
        self.assertFailedRun(proc, first, r"le dossier de sauvegarde .* n'existe pas")
        self.assertFalse(os.path.exists(missing))

    def test_unwritable_destination(self):
        """A read-only directory (the superuser ignores modes: a read-only bind mount)."""
        dest = bh.new_local_destination()
        self.addCleanup(bh.remove_tree, dest)
        if subprocess.run(["mount", "--bind", dest, dest]).returncode != 0:
            raise AssertionError("cannot bind-mount %s (root needed)" % dest)
        self.addCleanup(subprocess.run, ["umount", dest])
        self.assertEqual(subprocess.run(["mount", "-o", "remount,bind,ro", dest]).returncode, 0)
        first = bh.next_backup_id()
        proc = bh.run("backup-submissions", env=bh.environment(dest))
        self.assertFailedRun(proc, first, r"(lecture seule|permission refusée)")

    def test_disk_full_on_local_destination(self):
        """An 8 KiB tmpfs as destination (root mounts it), and more than that to save."""
        dest = bh.new_local_destination()
        self.addCleanup(bh.remove_tree, dest)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k,mode=0700", "tmpfs",
                                  dest], stderr=subprocess.PIPE)
        if mounted.returncode != 0:
            raise AssertionError("cannot mount a small tmpfs (root needed): %s"
                                 % mounted.stderr.decode())
        self.addCleanup(subprocess.run, ["umount", dest])
        # Incompressible comments, so the payload is larger than the file system.
        for _ in range(12):
            ft.create_submission(commentaire=base64.b64encode(os.urandom(1400)).decode()[:1900])
        first = bh.next_backup_id()
        proc = bh.run("backup-submissions", env=bh.environment(dest))
        self.assertFailedRun(proc, first, r"espace disque insuffisant")
        self.assertFrenchOutput(proc)
        self.assertEqual(os.listdir(dest), [], "no partial or temporary file left")

    def test_bad_configuration(self):
        dest = bh.new_local_destination()
        self.addCleanup(bh.remove_tree, dest)
        proc = bh.run("backup-submissions", env=bh.environment(dest, BACKUP_RETRIES="zéro"))
        self.assertRc(proc, 1)
        self.assertIn("BACKUP_RETRIES doit être un entier", proc.stderr)
        proc = bh.run("backup-submissions", env=bh.environment(dest, BACKUP_DESTINATION=None))
        first_line = bh.last_line(proc.stderr)
        self.assertRc(proc, 1)
        self.assertIn("BACKUP_DESTINATION n'est pas configurée", first_line)


if __name__ == "__main__":
    unittest.main(verbosity=2)
