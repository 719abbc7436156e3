"""Helpers of the backup tests (test_backup*.py): running the cron programs
fiable-backup-submissions, fiable-cleanup-old-backups and fiable-restore-backup with the test
environment, reading what they wrote, and talking to the test S3 server with an independent
SigV4 implementation (Python's hmac/hashlib).

`scripts/dev test` exports, besides what fiable_test.py lists:

  FIABLE_TEST_BACKUP_BIN          the folder of the built cron programs ($BUILD/cron)
  FIABLE_TEST_S3_ENDPOINT         http://127.0.0.1:PORT of the test S3 server: s3rver behind a
                                  front that checks every SigV4 signature with the npm package
                                  aws4 (403 on a mismatch); `scripts/dev s3-stop|s3-start`
  FIABLE_TEST_S3_BUCKET, FIABLE_TEST_S3_REGION, FIABLE_TEST_S3_ACCESS_KEY_ID,
  FIABLE_TEST_S3_SECRET_ACCESS_KEY
"""

import csv
import datetime
import gzip
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import subprocess
import urllib.parse
import uuid

import fiable_test as ft

# The tests compare whole tables through psql's CSV output: one value can exceed the
# default field limit of the csv module (128 KiB).
csv.field_size_limit(1 << 30)
_SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
PAYLOAD_NAME = re.compile(r"^fiable-\d{8}T\d{6}Z-(\d+)\.jsonl\.gz$")
# What the programs say must be French: these English words would betray a missed message.
_ENGLISH = re.compile(r"\b(error|failed|cannot|unable|denied|not found|invalid)\b", re.I)


def require_backup_env():
    ft.require_dev()
    for name in ("FIABLE_TEST_BACKUP_BIN", "FIABLE_TEST_APP_PG", "FIABLE_VAR",
                 "FIABLE_TEST_S3_ENDPOINT", "FIABLE_TEST_S3_BUCKET", "FIABLE_TEST_S3_REGION",
                 "FIABLE_TEST_S3_ACCESS_KEY_ID", "FIABLE_TEST_S3_SECRET_ACCESS_KEY"):
        if not os.environ.get(name):
            raise ft.EnvironmentMissing("%s is not set: run the tests with `scripts/dev test`"
                                        % name)


def role_conninfo(role):
    """The application conninfo with another role (fiable_backup, fiable_restore)."""
    app = os.environ["FIABLE_TEST_APP_PG"]
    if "user=fiable_app" not in app:
        raise ft.EnvironmentMissing("FIABLE_TEST_APP_PG does not name user=fiable_app: %r" % app)
    return app.replace("user=fiable_app", "user=" + role)


def new_local_destination():
    """A fresh, empty local destination folder under the test environment."""
    path = os.path.join(os.environ["FIABLE_VAR"], "backup-tests", uuid.uuid4().hex[:12])
    os.makedirs(path, mode=0o700)
    return path


def destination_name(path):
    """The canonical name a local destination is recorded with."""
    return "file://" + os.path.realpath(path)


def environment(destination, role="fiable_backup", **overrides):
    """The environment of a backup program: database (BACKUP_DATABASE_URL with role), secret,
    destination, short retry delays. A value of None removes a variable."""
    require_backup_env()
    return ft.program_environment({
        "FIABLE_DATABASE_URL": os.environ["FIABLE_TEST_APP_PG"],
        "BACKUP_DATABASE_URL": role_conninfo(role), "BACKUP_DESTINATION": destination,
        "BACKUP_RETRIES": "3", "BACKUP_RETRY_DELAY_MS": "50"}, overrides)


def s3_environment(prefix=None, role="fiable_backup", **overrides):
    """The environment for the test S3 server; destination s3://BUCKET/PREFIX (a fresh
    prefix by default, so each test sees only its own objects)."""
    require_backup_env()
    prefix = prefix if prefix is not None else "t-" + uuid.uuid4().hex[:12]
    env = environment("s3://%s/%s" % (os.environ["FIABLE_TEST_S3_BUCKET"], prefix), role=role,
                      S3_ENDPOINT=os.environ["FIABLE_TEST_S3_ENDPOINT"],
                      S3_REGION=os.environ["FIABLE_TEST_S3_REGION"],
                      S3_ACCESS_KEY_ID=os.environ["FIABLE_TEST_S3_ACCESS_KEY_ID"],
                      S3_SECRET_ACCESS_KEY=os.environ["FIABLE_TEST_S3_SECRET_ACCESS_KEY"])
    env.update({k: v for k, v in overrides.items() if v is not None})
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
    return env


def run(program, *args, env, timeout=120):
    """Runs cron/fiable-PROGRAM; returns the CompletedProcess (text). Fails on a sanitizer
    report."""
    path = os.path.join(os.environ["FIABLE_TEST_BACKUP_BIN"], "fiable-" + program)
    proc = subprocess.run([path] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, timeout=ft.ceiling(timeout))
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    if _SANITIZER.search(proc.stderr):
        raise AssertionError("sanitizer report from fiable-%s:\n%s" % (program, proc.stderr))
    return proc


def describe(proc):
    return "exit %d\n--- stdout:\n%s\n--- stderr:\n%s" % (proc.returncode, proc.stdout,
                                                          proc.stderr)


def last_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def backup_rows_since(first_id):
    """backup_metadata rows with id >= first_id, as dicts, oldest first."""
    return ft.sql_json(
        "SELECT coalesce(json_agg(json_build_object('id', id, 'status', status, "
        "'destination', destination, 'object_key', object_key, 'manifest_key', manifest_key, "
        "'size_bytes', size_bytes, 'sha256', sha256, 'row_counts', row_counts, "
        "'manifest', manifest, 'error', error, 'deleted_at', deleted_at, "
        "'verified_at', verified_at, 'verification', verification, "
        "'verification_error', verification_error, 'snapshot_at', snapshot_at, "
        "'audit_last_id', audit_last_id, 'finished_at', finished_at) ORDER BY id), '[]')::text "
        "FROM backup_metadata WHERE id >= :'p1'::bigint", first_id)


def next_backup_id():
    """An id no backup row has yet (the rows a test creates have ids >= this one)."""
    return ft.sql_int("SELECT coalesce(max(id), 0) + 1 FROM backup_metadata")


def backup_row(backup_id):
    rows = backup_rows_since(backup_id)
    return rows[0] if rows and rows[0]["id"] == backup_id else None


def read_payload(data):
    """(headers, rows by table) of a gzip JSON-lines payload (bytes)."""
    headers, rows, current = [], {}, None
    for line in gzip.decompress(data).decode("utf-8").split("\n")[:-1]:
        obj = json.loads(line)
        if "fiable_backup" in obj:
            headers.append(obj)
            current = obj["table"]
            rows[current] = []
        else:
            rows[current].append(line)
    return headers, rows


def table_lines_sha256(lines):
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8") + b"\n")
    return h.hexdigest()


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def hold_backup_lock():
    """A psql session holding the backups' advisory lock until .communicate() ends it."""
    # Query results go to /dev/null (-o); \echo still reaches stdout.
    proc = subprocess.Popen([ft._psql(), "-X", "-q", "-o", "/dev/null", "-v", "ON_ERROR_STOP=1",
                             "-d", os.environ["FIABLE_TEST_PG"]],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdin.write(b"SELECT pg_advisory_lock(7310012346);\n\\echo locked\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if line.strip() != b"locked":
        proc.kill()
        raise AssertionError("could not take the backup lock: %r %r"
                             % (line, proc.stderr.read()))
    return proc


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------------------
# S3, signed here with SigV4 by Python itself (a third implementation besides libcurl's and
# aws4's): the test reads what the programs stored without trusting them.


def s3_request(method, key=None, *, body=b"", query="", secret=None, access_key=None,
               headers=None, sign=True):
    """Sends one request to the test S3 server; returns (status, headers, body)."""
    endpoint = urllib.parse.urlsplit(os.environ["FIABLE_TEST_S3_ENDPOINT"])
    host = endpoint.netloc
    region = os.environ["FIABLE_TEST_S3_REGION"]
    access_key = access_key or os.environ["FIABLE_TEST_S3_ACCESS_KEY_ID"]
    secret = secret or os.environ["FIABLE_TEST_S3_SECRET_ACCESS_KEY"]
    bucket = os.environ["FIABLE_TEST_S3_BUCKET"]
    path = "/%s/%s" % (bucket, key) if key else "/%s" % bucket
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    payload_hash = hashlib.sha256(body).hexdigest()
    all_headers = {"Host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
    if sign:
        signed = "host;x-amz-content-sha256;x-amz-date"
        canonical = "\n".join([method, path, query,
                               "host:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n"
                               % (host, payload_hash, amz_date), signed, payload_hash])
        scope = "%s/%s/s3/aws4_request" % (amz_date[:8], region)
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        k = ("AWS4" + secret).encode()
        for part in (amz_date[:8], region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        all_headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                                        "Signature=%s" % (access_key, scope, signed, signature))
    all_headers.update(headers or {})
    conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=20)
    try:
        conn.request(method, path + ("?" + query if query else ""), body=body or None,
                     headers=all_headers)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def s3_get(key):
    status, _, body = s3_request("GET", key)
    if status != 200:
        raise AssertionError("GET %s: %d %s" % (key, status, body[:300]))
    return body


def s3_exists(key):
    status, _, body = s3_request("HEAD", key)
    if status not in (200, 404):
        raise AssertionError("HEAD %s: %d %s" % (key, status, body[:300]))
    return status == 200


def s3_control(path, method="GET"):
    endpoint = urllib.parse.urlsplit(os.environ["FIABLE_TEST_S3_ENDPOINT"])
    conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=10)
    try:
        conn.request(method, "/__fiable/" + path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def s3_fail_next(count, status=503):
    """The next `count` S3 requests get `status` (a passing outage)."""
    s3_control("fail?count=%d&status=%d" % (count, status), method="POST")


def s3_key(env, name):
    """The full S3 key of an object named `name` at the destination of env."""
    dest = env["BACKUP_DESTINATION"]
    prefix = dest[len("s3://"):].split("/", 1)
    return (prefix[1] + "/" + name) if len(prefix) > 1 and prefix[1] else name


class BackupTestCase(ft.FiableTestCase):

    def assertRc(self, proc, rc):
        self.assertEqual(proc.returncode, rc, "unexpected exit status\n" + describe(proc))

    def assertFrenchOutput(self, proc):
        text = proc.stderr + proc.stdout
        # Timestamps, the program's own words and S3 error codes (SignatureDoesNotMatch) are
        # not sentences; libcurl's messages are quoted after a French one.
        for line in text.splitlines():
            line = line.split(" : ", 1)[0] if "injoignable" in line else line
            self.assertIsNone(_ENGLISH.search(re.sub(r"\([^)]*\)", "", line)),
                              "English in the output: %r\n%s" % (line, describe(proc)))

    def assertSuccessSummary(self, proc, verified=False):
        line = last_line(proc.stderr)
        m = re.match(r"^fiable-backup-submissions : sauvegarde (\d+) réussie( et vérifiée par "
                     r"restauration)? : (\d+) lignes \(campagnes (\d+), creneaux (\d+), "
                     r"soumissions_disponibilites (\d+), audit_logs (\d+), participants (\d+)\), "
                     r"(\d+) octets, (\d+\.\d+) s -> (\S+)$", line)
        self.assertIsNotNone(m, "no one-line summary at the end of stderr\n" + describe(proc))
        self.assertEqual(bool(m.group(2)), verified, line)
        return {"id": int(m.group(1)), "rows": int(m.group(3)), "campagnes": int(m.group(4)),
                "creneaux": int(m.group(5)), "soumissions_disponibilites": int(m.group(6)),
                "audit_logs": int(m.group(7)), "participants": int(m.group(8)),
                "bytes": int(m.group(9)), "seconds": float(m.group(10)),
                "object": m.group(11)}

    def assertFailedRun(self, proc, first_id, message_re):
        """Exit 1, a French message on stderr matching message_re, exactly one new row, failed
        with that error, and no success row."""
        self.assertRc(proc, 1)
        line = last_line(proc.stderr)
        self.assertRegex(line, r"^fiable-backup-submissions : sauvegarde \d+ ÉCHOUÉE après "
                         r"\d+\.\d+ s : ", describe(proc))
        self.assertRegex(line, message_re, describe(proc))
        rows = backup_rows_since(first_id)
        self.assertEqual(len(rows), 1, "expected one new backup_metadata row: %r" % rows)
        self.assertEqual(rows[0]["status"], "failed", rows)
        self.assertRegex(rows[0]["error"] or "", message_re, rows)
        self.assertIsNone(rows[0]["sha256"], rows)
        self.assertIsNotNone(rows[0]["finished_at"], rows)
        return rows[0]
