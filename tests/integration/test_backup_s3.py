#!/usr/bin/env python3
"""Backups to S3: the test server is s3rver behind a front that checks every SigV4 signature
with an independent implementation (npm aws4) and the body against x-amz-content-sha256, as
S3 does. What the backup stores is read back here with a third signer (Python's). Wrong keys
(403), a missing bucket, a stopped server and passing 503s each end as S3 would make them:
failed with a French message and no object left, or retried until it works."""

import hashlib
import json
import os
import re
import sys
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


def ensure_s3_up():
    dev("s3-start")


def list_keys(prefix):
    status, _, body = bh.s3_request("GET", None, query="list-type=2&prefix=%s" % prefix.replace(
        "/", "%2F"))
    if status != 200:
        raise AssertionError("listing: %d %s" % (status, body[:300]))
    return re.findall(r"<Key>([^<]+)</Key>", body.decode("utf-8"))


class HarnessTest(bh.BackupTestCase):
    """The front really checks signatures: a test that passed against a server accepting
    anything would prove nothing."""

    def setUp(self):
        ensure_s3_up()

    def test_front_verifies_signatures(self):
        key = "harness/%s.txt" % os.urandom(6).hex()
        status, _, body = bh.s3_request("PUT", key, body=b"bonjour")
        self.assertEqual(status, 200, body)
        self.assertEqual(bh.s3_get(key), b"bonjour")
        status, _, body = bh.s3_request("GET", key, secret="mauvais-secret")
        self.assertEqual(status, 403, body)
        self.assertIn(b"<Code>SignatureDoesNotMatch</Code>", body)
        status, _, body = bh.s3_request("GET", key, access_key="INCONNU")
        self.assertEqual(status, 403, body)
        self.assertIn(b"<Code>InvalidAccessKeyId</Code>", body)
        status, _, body = bh.s3_request("GET", key, sign=False)
        self.assertEqual(status, 403, body)
        # A body that is not the one announced (and signed) is refused.
        status, _, body = bh.s3_request("PUT", key, body=b"autre",
                                        headers={"x-amz-content-sha256":
                                                 hashlib.sha256(b"bonjour").hexdigest()})
        self.assertIn(status, (400, 403), body)
        self.assertEqual(bh.s3_get(key), b"bonjour")
        self.assertEqual(bh.s3_request("DELETE", key)[0], 204)


class S3BackupTest(bh.BackupTestCase):

    def setUp(self):
        ensure_s3_up()
        self.addCleanup(ensure_s3_up)
        self.env = bh.s3_environment()

    def test_backup_verify_and_read_back_independently(self):
        ft.create_submission()
        first = bh.next_backup_id()
        proc = bh.run("backup-submissions", "--verify-after", env=self.env)
        self.assertRc(proc, 0)
        summary = self.assertSuccessSummary(proc, verified=True)
        self.assertFrenchOutput(proc)
        row = bh.backup_rows_since(first)[0]
        self.assertEqual(row["status"], "success")
        self.assertEqual(row["destination"], self.env["BACKUP_DESTINATION"])
        self.assertEqual(summary["object"], row["destination"] + "/" + row["object_key"])
        self.assertEqual(row["verification"], "ok")

        data = bh.s3_get(bh.s3_key(self.env, row["object_key"]))
        self.assertEqual(len(data), row["size_bytes"])
        self.assertEqual(hashlib.sha256(data).hexdigest(), row["sha256"])
        manifest = json.loads(bh.s3_get(bh.s3_key(self.env, row["manifest_key"])))
        self.assertEqual(manifest, row["manifest"])
        headers, tables = bh.read_payload(data)
        for h in headers:
            self.assertEqual(bh.table_lines_sha256(tables[h["table"]]),
                             manifest["tables"][h["table"]]["sha256"])

        proc = bh.run("restore-backup", "--verify", str(row["id"]), env=self.env)
        self.assertRc(proc, 0)
        self.assertIn("vérifiée", bh.last_line(proc.stderr))

        # The listing of the destination (ListObjectsV2, signed query) knows both objects.
        listing = bh.run("restore-backup", "--list", env=self.env)
        self.assertRc(listing, 0)
        self.assertIn("Objets de %s sans ligne dans backup_metadata : 0"
                      % self.env["BACKUP_DESTINATION"], listing.stdout)
        stray = bh.s3_key(self.env, "fiable-20200101T020000Z-999999.jsonl.gz")
        self.assertEqual(bh.s3_request("PUT", stray, body=b"x")[0], 200)
        listing = bh.run("restore-backup", "--list", env=self.env)
        self.assertIn("sans ligne dans backup_metadata : 1", listing.stdout)

    def test_wrong_secret_is_403_and_nothing_stored(self):
        first = bh.next_backup_id()
        env = bh.s3_environment(S3_SECRET_ACCESS_KEY="pas-le-bon-secret")
        proc = bh.run("backup-submissions", env=env)
        self.assertFailedRun(proc, first, r"accès refusé par le stockage S3 \(403 "
                             r"SignatureDoesNotMatch\)")
        self.assertEqual(list_keys(bh.s3_key(env, "")), [])

    def test_unknown_access_key_is_403(self):
        first = bh.next_backup_id()
        env = bh.s3_environment(S3_ACCESS_KEY_ID="AKIAINCONNU")
        proc = bh.run("backup-submissions", env=env)
        self.assertFailedRun(proc, first, r"\(403 InvalidAccessKeyId\)")

    def test_wrong_region_is_refused(self):
        first = bh.next_backup_id()
        proc = bh.run("backup-submissions", env=bh.s3_environment(S3_REGION="us-west-2"))
        self.assertFailedRun(proc, first, r"400 à PUT : AuthorizationHeaderMalformed")

    def test_missing_bucket(self):
        first = bh.next_backup_id()
        env = bh.s3_environment()
        env["BACKUP_DESTINATION"] = "s3://compartiment-absent/nuit"
        proc = bh.run("backup-submissions", env=env)
        self.assertFailedRun(proc, first, r"le compartiment S3 « compartiment-absent » "
                             r"n'existe pas")

    def test_storage_down(self):
        first = bh.next_backup_id()
        dev("s3-stop")
        proc = bh.run("backup-submissions", env=self.env)
        row = self.assertFailedRun(proc, first, r"stockage S3 injoignable .* \(abandon après 3 "
                                   r"essais\)")
        self.assertEqual(proc.stderr.count("nouvel essai"), 2 + 2,
                         "two retries of the upload, two of the clean-up\n" + bh.describe(proc))
        ensure_s3_up()
        self.assertFalse(bh.s3_exists(bh.s3_key(self.env, row["object_key"])))

    def test_storage_back_during_the_retries(self):
        """Down when the upload starts, back two seconds later: the backoff carries it."""
        first = bh.next_backup_id()
        dev("s3-stop")
        restart = threading.Timer(1.0, ensure_s3_up)
        restart.start()
        try:
            proc = bh.run("backup-submissions", env=dict(self.env, BACKUP_RETRIES="8",
                                                         BACKUP_RETRY_DELAY_MS="400"))
        finally:
            restart.join()
        self.assertRc(proc, 0)
        self.assertIn("nouvel essai", proc.stderr)
        self.assertSuccessSummary(proc)
        self.assertEqual(bh.backup_rows_since(first)[0]["status"], "success")

    def test_transient_503_are_retried(self):
        first = bh.next_backup_id()
        bh.s3_fail_next(2, 503)
        proc = bh.run("backup-submissions", env=self.env)
        self.assertRc(proc, 0)
        self.assertEqual(len(re.findall(r"a répondu 503 à PUT : SlowDown .* nouvel essai",
                                        proc.stderr)), 2, bh.describe(proc))
        self.assertSuccessSummary(proc)
        row = bh.backup_rows_since(first)[0]
        self.assertEqual(row["status"], "success")
        data = bh.s3_get(bh.s3_key(self.env, row["object_key"]))
        self.assertEqual(hashlib.sha256(data).hexdigest(), row["sha256"])

    def test_persistent_500_fails_and_leaves_nothing(self):
        first = bh.next_backup_id()
        bh.s3_fail_next(3, 500)
        proc = bh.run("backup-submissions", env=self.env)
        row = self.assertFailedRun(proc, first, r"a répondu 500 à PUT")
        self.assertFalse(bh.s3_exists(bh.s3_key(self.env, row["object_key"])))


if __name__ == "__main__":
    unittest.main(verbosity=2)
