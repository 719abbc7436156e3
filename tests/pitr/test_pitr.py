#!/usr/bin/env python3
"""Point-in-time recovery with pgBackRest (issue 19): the whole cluster brought back to a
chosen second on a fresh data directory, by the commands of docs/DEPLOIEMENT.md as written.

A full then a differential backup of the test cluster (which archives every WAL segment
through archive_command, scripts/dev.d/postgresql.sh) are taken by the command of the timers'
unit (deploy/systemd/fiable-pgbackrest@.service); answers are written through the API around
the differential one; a second T of the
database's clock is chosen; more answers are written; the WAL is archived. The blocks
sh pitr:restaurer and sh pitr:demarrer restore the cluster as it was at T into a scratch
directory and start it on its own socket. Exactly the answers committed before T are there
(the same rows as in the running database), none after, the audit log ends where it ended at
T, and fiable-verify-audit finds the chain intact on the restored cluster.

This is the repair of a bad deploy (back to the second before it) and of a lost site (the
same restore on a new machine from the repository)."""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pitr  # noqa: E402
from pitr import bh, ft  # noqa: E402

# The rows compared between the running database (before T) and the restored one.
ANSWERS = ("SELECT id, email, nom, creneaux::text, commentaire, version, created_at, updated_at, "
           "deleted_at FROM soumissions_disponibilites %s ORDER BY id")
AUDIT_HEAD = "SELECT count(*), max(chain_seq) FROM audit_logs %s"


def setUpModule():
    pitr.require_pitr_env()
    ft.valid_slots(2)


class RestoreScenario(bh.BackupTestCase):
    """The scenario, on the repository that REPO names (pgbackrest --repo)."""
    REPO = []

    def setUp(self):
        self.scratch = pitr.ScratchCluster()
        self.addCleanup(self.scratch.stop)

    def submit_answers(self, n):
        ids = []
        for _ in range(n):
            _, body = ft.create_submission()
            ids.append(int(body["id"]))
        return ids

    def restore_to_a_chosen_second(self):
        # The archive works (pgbackrest check switches a segment and waits for it), then the
        # commands of the timers' unit: a full backup, answers, a differential one. The restore
        # starts from both.
        pitr.pgbackrest("check", "--archive-timeout=%d" % ft.ceiling(60))
        pitr.unit_backup("full", self.REPO)
        before = self.submit_answers(2)
        pitr.unit_backup("diff", self.REPO)
        info = pitr.pgbackrest("info", *self.REPO)
        self.assertRegex(info, r"full backup: \d{8}-\d{6}F\n")
        self.assertRegex(info, r"diff backup: \d{8}-\d{6}F_\d{8}-\d{6}D\n")

        before += self.submit_answers(3)
        # Once the audit chain is sealed after commit (sql/0026, branch i-seal), a row is
        # linked a moment after its answer: T comes once every row before it is linked, so
        # that the copy holds no row left unsealed.
        wait_sealed = getattr(ft, "wait_audit_sealed", None)
        if wait_sealed is not None:
            wait_sealed()
        target = pitr.next_second_and_wait()
        after = self.submit_answers(4)
        self.assertLess(max(before), min(after))
        expected = ft.sql(ANSWERS % "WHERE created_at < :'p1'::timestamptz", target)
        expected_audit = ft.sql(AUDIT_HEAD % "WHERE created_at < :'p1'::timestamptz", target)[0]
        live_audit = ft.sql(AUDIT_HEAD % "")[0]
        self.assertGreater(int(live_audit[0]), int(expected_audit[0]),
                           "the answers after T wrote no audit rows")
        pitr.wait_archived()

        settings = self.scratch.doc_settings(CIBLE=target)
        settings["PGBACKREST"] = " ".join([settings["PGBACKREST"]] + self.REPO)
        out = pitr.run_doc_block("restaurer", settings, timeout=600)
        print("restauration à %s : %s" % (target, (out.stdout + out.stderr).strip()), flush=True)
        out = pitr.run_doc_block("demarrer", settings, timeout=600)
        print(out.stdout.strip(), flush=True)

        self.assertEqual(self.scratch.sql("SELECT pg_is_in_recovery()"), [["f"]],
                         "the restored cluster was not promoted")
        # --archive-mode=off: the copy pushes nothing into the repository (the line the
        # switch-over of docs/DEPLOIEMENT.md removes).
        self.assertIn("archive_mode = 'off'\n", self.scratch.auto_conf())
        self.assertEqual(self.scratch.sql("SHOW archive_mode"), [["off"]])
        restored = self.scratch.sql(ANSWERS % "")
        restored_ids = {int(r[0]) for r in restored}
        self.assertTrue(set(before) <= restored_ids, "answers written before T are missing")
        self.assertFalse(set(after) & restored_ids, "answers written after T were restored")
        self.assertEqual(restored, expected,
                         "the restored answers are not exactly those stored before T")
        self.assertEqual(self.scratch.sql(AUDIT_HEAD % "")[0], expected_audit,
                         "the restored audit log does not end where it ended at T")

        env = bh.environment(bh.new_local_destination(),
                             BACKUP_DATABASE_URL=self.scratch.conninfo("fiable_backup"))
        proc = bh.run("verify-audit", env=env)
        self.assertRc(proc, 0)
        self.assertRegex(bh.last_line(proc.stderr),
                         r"^fiable-verify-audit : chaîne intacte : %s ligne\(s\)"
                         % expected_audit[0])
        print(bh.last_line(proc.stderr), flush=True)


class FolderRepositoryTest(RestoreScenario):
    """ctest ha.pitr: the repository of the test stack, a folder (repo1)."""

    def test_restore_to_a_chosen_second(self):
        self.restore_to_a_chosen_second()


class S3RepositoryTest(RestoreScenario):
    """ctest ha.pitr_s3: a second repository on the harness's S3 server (which checks every
    signature), through a TLS front, encrypted (repo2-cipher-type), added for this test only
    in conf.d/ (archive_command pushes to every repository configured)."""
    REPO = ["--repo=2"]

    def setUp(self):
        super().setUp()
        self.relay = pitr.TlsRelay(self.scratch.root, pitr.s3_port())
        self.addCleanup(self.relay.close)
        self.addCleanup(pitr.remove_s3_repository)
        pitr.add_s3_repository(self.relay)
        pitr.pgbackrest("stanza-create")
        self.accepted = pitr.s3_accepted()

    def test_restore_to_a_chosen_second(self):
        self.restore_to_a_chosen_second()
        restore_command = [line for line in self.scratch.auto_conf().splitlines()
                           if line.startswith("restore_command")]
        self.assertEqual(len(restore_command), 1, "no restore_command in postgresql.auto.conf")
        self.assertIn("--repo=2", restore_command[0], "the WAL did not come from S3")
        accepted = pitr.s3_accepted()
        print("S3 : %d requête(s) signée(s) acceptée(s), %d connexion(s) TLS"
              % (accepted - self.accepted, self.relay.connections), flush=True)
        self.assertGreater(accepted, self.accepted)


if __name__ == "__main__":
    unittest.main(verbosity=2)
