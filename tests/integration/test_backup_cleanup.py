#!/usr/bin/env python3
"""fiable-cleanup-old-backups: with 60 daily backups of fake dates, exactly the retention set
is left (every backup of the last 7 days, the newest of each of the last 5 ISO weeks and of
each of the last 12 months, the 3 newest) — computed here independently with datetime;
--dry-run deletes nothing; objects and rows are marked, audited, an object already gone is no
error; a second run deletes nothing; a failed newest backup stops the cleanup."""

import datetime
import json
import os
import sys
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backup_helpers as bh  # noqa: E402
import fiable_test as ft  # noqa: E402
from fiable_test import dev  # noqa: E402

UTC = datetime.timezone.utc


def setUpModule():
    bh.require_backup_env()


def expected_kept(times, now, daily=7, weekly=5, monthly=12, minimum=3):
    """Indexes (into times, newest first) of the backups the policy keeps."""
    def week(t):
        return (t - datetime.timedelta(days=t.weekday())).date()   # its Monday

    def month(t):
        return t.year * 12 + t.month - 1

    this_week, this_month = week(now), month(now)
    kept, seen_weeks, seen_months = set(), set(), set()
    for i, t in enumerate(times):
        if i < max(minimum, 1) or now - t < datetime.timedelta(days=daily):
            kept.add(i)
        w, m = week(t), month(t)
        if w not in seen_weeks:
            seen_weeks.add(w)
            if (this_week - w).days // 7 < weekly:
                kept.add(i)
        if m not in seen_months:
            seen_months.add(m)
            if this_month - m < monthly:
                kept.add(i)
    return kept


def fake_backups(destination, times, status="success", write=None):
    """Rows for backups started at `times` (newest first); `write(name)` stores each object.
    Returns their ids, in the same order."""
    entries = []
    for t in times:
        stamp = t.strftime("%Y%m%dT%H%M%SZ")
        tag = uuid.uuid4().hex[:8]
        key = "fiable-%s-%s.jsonl.gz" % (stamp, tag)
        entries.append({"started_at": t.isoformat(), "object_key": key,
                        "manifest_key": key.replace(".jsonl.gz", ".manifest.json")})
        if write is not None and status == "success":
            write(entries[-1]["object_key"])
            write(entries[-1]["manifest_key"])
    ids = ft.sql_json(
        "WITH ins AS (INSERT INTO backup_metadata (started_at, finished_at, status, destination, "
        "object_key, manifest_key, size_bytes, sha256, error) "
        "SELECT e.started_at, e.started_at + interval '1 minute', :'p2', :'p3', e.object_key, "
        "e.manifest_key, 1000, CASE WHEN :'p2' = 'success' THEN repeat('0', 64) END, "
        "CASE WHEN :'p2' = 'failed' THEN 'panne simulée' END "
        "FROM json_to_recordset(:'p1'::json) AS e(started_at timestamptz, object_key text, "
        "manifest_key text) RETURNING id, started_at) "
        "SELECT json_agg(id ORDER BY started_at DESC)::text FROM ins",
        json.dumps(entries), status, destination)
    return ids, entries


def live_ids(destination):
    return [int(r[0]) for r in ft.sql(
        "SELECT id FROM backup_metadata WHERE destination = :'p1' AND status = 'success' "
        "AND deleted_at IS NULL ORDER BY started_at DESC", destination)]


class RetentionTest(bh.BackupTestCase):

    def setUp(self):
        self.dir = bh.new_local_destination()
        self.addCleanup(bh.remove_tree, self.dir)
        self.dest = bh.destination_name(self.dir)
        self.env = bh.environment(self.dir)

    def write(self, name):
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(b"sauvegarde factice")

    def sixty_days(self):
        now = datetime.datetime.now(UTC)
        times = [now - datetime.timedelta(hours=1, days=k) for k in range(60)]
        ids, entries = fake_backups(self.dest, times, write=self.write)
        return now, times, ids, entries

    def test_sixty_daily_backups(self):
        now, times, ids, entries = self.sixty_days()
        keep = expected_kept(times, now)
        self.assertTrue(11 <= len(keep) <= 16, "a sensible retention set: %r" % sorted(keep))
        to_delete = [ids[i] for i in range(60) if i not in keep]
        kept_ids = [ids[i] for i in range(60) if i in keep]
        # One object already gone before the cleanup: not an error.
        gone = next(i for i in range(60) if i not in keep)
        os.unlink(os.path.join(self.dir, entries[gone]["object_key"]))

        dry = bh.run("cleanup-old-backups", "--dry-run", env=self.env)
        self.assertRc(dry, 0)
        self.assertFrenchOutput(dry)
        said_delete = sorted(int(line.split()[1]) for line in dry.stdout.splitlines()
                             if line.startswith("supprimerait "))
        said_keep = sorted(int(line.split()[1]) for line in dry.stdout.splitlines()
                           if line.startswith("garderait "))
        self.assertEqual(said_delete, sorted(to_delete), dry.stdout)
        self.assertEqual(said_keep, sorted(kept_ids), dry.stdout)
        self.assertIn("simulation (rien n'est supprimé) : %d sauvegarde(s) à supprimer"
                      % len(to_delete), bh.last_line(dry.stderr))
        self.assertEqual(len(live_ids(self.dest)), 60, "the dry run deleted rows")
        self.assertEqual(len(os.listdir(self.dir)), 119, "the dry run deleted objects")

        audit_before = ft.sql_int("SELECT coalesce(max(id), 0) FROM audit_logs")
        proc = bh.run("cleanup-old-backups", env=self.env)
        self.assertRc(proc, 0)
        self.assertFrenchOutput(proc)
        self.assertRegex(bh.last_line(proc.stderr), r"^fiable-cleanup-old-backups : %d "
                         r"sauvegarde\(s\) supprimée\(s\) \(\d+ octets libérés\), %d gardée\(s\), "
                         r"0 échec\(s\), dans %s$" % (len(to_delete), len(kept_ids), self.dest))
        self.assertEqual(sorted(live_ids(self.dest)), sorted(kept_ids))
        left = sorted(os.listdir(self.dir))
        want = sorted([entries[i]["object_key"] for i in keep] +
                      [entries[i]["manifest_key"] for i in keep])
        self.assertEqual(left, want)
        marked = ft.sql_int("SELECT count(*) FROM backup_metadata WHERE destination = :'p1' AND "
                            "deleted_at IS NOT NULL", self.dest)
        self.assertEqual(marked, len(to_delete))
        audited = [int(r[0]) for r in ft.sql(
            "SELECT entity_id FROM audit_logs WHERE id > :'p1'::bigint AND action = "
            "'backup.delete' AND actor = 'fiable-cleanup-old-backups'", audit_before)]
        self.assertEqual(sorted(audited), sorted(to_delete))

        again = bh.run("cleanup-old-backups", env=self.env)
        self.assertRc(again, 0)
        self.assertRegex(bh.last_line(again.stderr), r": 0 sauvegarde\(s\) supprimée\(s\)")
        self.assertEqual(sorted(live_ids(self.dest)), sorted(kept_ids))
        self.assertEqual(sorted(os.listdir(self.dir)), want)

    def test_policy_is_configurable(self):
        now, times, ids, _ = self.sixty_days()
        env = dict(self.env, BACKUP_RETENTION_DAILY="2", BACKUP_RETENTION_WEEKLY="0",
                   BACKUP_RETENTION_MONTHLY="1", BACKUP_RETENTION_MIN="5")
        keep = expected_kept(times, now, daily=2, weekly=0, monthly=1, minimum=5)
        proc = bh.run("cleanup-old-backups", env=env)
        self.assertRc(proc, 0)
        self.assertEqual(sorted(live_ids(self.dest)), sorted(ids[i] for i in keep))
        self.assertEqual(len(keep), 5, "min 5 covers 2 days and this month's newest")

    def test_refuses_when_the_newest_backup_failed(self):
        now, times, ids, _ = self.sixty_days()
        fake_backups(self.dest, [now - datetime.timedelta(minutes=5)], status="failed")
        proc = bh.run("cleanup-old-backups", env=self.env)
        self.assertRc(proc, 2)
        self.assertRegex(bh.last_line(proc.stderr), r"nettoyage refusé : la dernière sauvegarde "
                         r"\(\d+, du .* UTC\) a échoué \(panne simulée\)")
        self.assertEqual(len(live_ids(self.dest)), 60)
        self.assertEqual(len(os.listdir(self.dir)), 120)

    def test_refuses_when_the_newest_backup_failed_its_verification(self):
        self.sixty_days()
        ft.sql("UPDATE backup_metadata SET verification = 'failed', verified_at = now(), "
               "verification_error = 'contenu différent' WHERE id = (SELECT id FROM "
               "backup_metadata WHERE destination = :'p1' ORDER BY started_at DESC LIMIT 1)",
               self.dest)
        proc = bh.run("cleanup-old-backups", "--dry-run", env=self.env)
        self.assertRc(proc, 2)
        self.assertIn("n'a pas passé sa vérification (contenu différent)", proc.stderr)

    def test_nothing_to_clean(self):
        proc = bh.run("cleanup-old-backups", env=self.env)
        self.assertRc(proc, 0)
        self.assertIn("aucune sauvegarde terminée", proc.stderr)

    def test_a_real_backup_is_kept(self):
        """The newest successful backup is never deleted, whatever the policy."""
        proc = bh.run("backup-submissions", env=self.env)
        self.assertRc(proc, 0)
        backup_id = self.assertSuccessSummary(proc)["id"]
        env = dict(self.env, BACKUP_RETENTION_DAILY="0", BACKUP_RETENTION_WEEKLY="0",
                   BACKUP_RETENTION_MONTHLY="0", BACKUP_RETENTION_MIN="1")
        proc = bh.run("cleanup-old-backups", env=env)
        self.assertRc(proc, 0)
        self.assertEqual(live_ids(self.dest), [backup_id])
        self.assertEqual(len(os.listdir(self.dir)), 2)


class S3RetentionTest(bh.BackupTestCase):

    def test_objects_deleted_from_s3(self):
        dev("s3-start")
        env = bh.s3_environment()
        dest = env["BACKUP_DESTINATION"]
        now = datetime.datetime.now(UTC)
        times = [now - datetime.timedelta(hours=1, days=3 * k) for k in range(20)]

        def write(name):
            status = bh.s3_request("PUT", bh.s3_key(env, name), body=b"factice")[0]
            self.assertEqual(status, 200)

        ids, entries = fake_backups(dest, times, write=write)
        keep = expected_kept(times, now)
        proc = bh.run("cleanup-old-backups", env=env)
        self.assertRc(proc, 0)
        self.assertEqual(sorted(live_ids(dest)), sorted(ids[i] for i in keep))
        for i, e in enumerate(entries):
            for name in (e["object_key"], e["manifest_key"]):
                self.assertEqual(bh.s3_exists(bh.s3_key(env, name)), i in keep, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
