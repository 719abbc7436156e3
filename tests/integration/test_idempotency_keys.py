#!/usr/bin/env python3
"""The Idempotency-Key is a credential (sql/0010): with the body of a submission, it gets the
submission's edit token back on a replay. So it is stored, audited and measured as its
SHA-256 only, and keys written in clear before the migration no longer yield a token.

The reproduction of the finding: read a person's key from audit_logs (or from a backup),
rebuild the body from the stored answer, POST it with that key, take the edit_token of the
201, open GET /api/modify with it. On the test stack (KeyIsASecretTest) there is no key to
read; on a database migrated from 0009 with rows written by the code of before
(ExposedKeysTest), the key is there but its replay answers without a token, while the
person's edit link keeps working. MigrationRoundTripTest takes 0010 down and up again."""

import base64
import glob
import hashlib
import hmac
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

import backup_helpers as bh  # noqa: E402
import fiable_test as ft  # noqa: E402
from fiable_test import sql, sql_int, sql_one, submit  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SQL_DIR = os.path.join(ROOT, "sql")
MIGRATION = "0010_cles_idempotence"
METRICS = "/api/admin/metrics"
_SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")


def setUpModule():
    bh.require_backup_env()
    for name in ("FIABLE_BUILD", "FIABLE_TEST_SPOOL_DIR"):
        if not os.environ.get(name):
            raise ft.EnvironmentMissing("%s is not set: run the tests with `scripts/dev test`"
                                        % name)
    ft.valid_slots(2)


def secret():
    with open(os.path.join(os.environ["FIABLE_VAR"], "secret"), encoding="ascii") as f:
        return bytes.fromhex(f.read().strip())


def edit_token(key, label):
    """The edit token the programs derive from a key: base64url(HMAC-SHA-256(secret,
    "fiable edit token LABEL " + key)); v1 before sql/0010, v2 since."""
    mac = hmac.new(secret(), ("fiable edit token %s %s" % (label, key.lower())).encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def key_forms(key):
    """The ways a key could be written: hyphenated or not, lowercase (the tables are searched
    lowercased)."""
    k = key.lower()
    return [k, k.replace("-", "")]


def tables_holding(texts, conninfo=None):
    """Tables of the public schema with a row whose text (lowercased) holds one of texts."""
    rows = sql(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' AND (xpath('/row/n/text()', "
        "query_to_xml(format('SELECT count(*) AS n FROM %I.%I AS t WHERE strpos(lower(t::text), "
        "%L) > 0 OR strpos(lower(t::text), %L) > 0', n.nspname, c.relname, :'p1', :'p2'), "
        "false, true, '')))[1]::text::integer > 0 ORDER BY 1",
        texts[0], texts[1], conninfo=conninfo)
    return [r[0] for r in rows]


def lost_writes():
    """The lost-writes indicator of the last 24 hours (target "aucune perte")."""
    resp = ft.get(METRICS + "?window=24h",
                  headers={"Authorization": ft.basic_auth("admin", ft.admin_password())})
    if resp.status != 200:
        raise AssertionError("GET %s\n%s" % (METRICS, resp.describe()))
    return resp.json()["indicateurs"]["envois_jamais_aboutis"]


class KeyIsASecretTest(ft.FiableTestCase):
    """On the test stack: no key in clear in the database or a backup, and the legitimate
    replay still gets the token."""

    def assertNoKeyInDatabase(self, key):
        self.assertEqual(tables_holding(key_forms(key)), [],
                         "the key is in clear in these tables")

    def test_reproduction_fails_and_lost_response_replay_keeps_the_token(self):
        payload = ft.valid_payload()
        key = ft.new_key()
        raw = ft.encode_json(payload)
        first = submit(payload, key=key, raw=raw)
        body = self.assertCreated(first)
        token = body["edit_token"]
        digest = ft.key_sha256(key)

        # What an administrator (or a backup) has: the audit row holds the key's hash only.
        rows = sql("SELECT a::text, a.details->>'idempotency_key_sha256', "
                   "a.details ? 'idempotency_key' FROM audit_logs AS a "
                   "WHERE a.entity_id = :'p1' AND a.action = 'submission.create'", body["id"])
        self.assertEqual(len(rows), 1, rows)
        text, audited, has_key = rows[0]
        self.assertEqual(audited, digest, "the audit row does not link to the key by its hash")
        self.assertEqual(has_key, "f", text)
        for form in key_forms(key):
            self.assertNotIn(form, text.lower())
        # The hash is where the key was (what links the rows), the key nowhere.
        self.assertEqual(sql_one(
            "SELECT (SELECT count(*) FROM idempotency_keys WHERE key_sha256 = decode(:'p1', 'hex')) "
            "|| ' ' || (SELECT count(*) FROM request_metrics "
            "WHERE idempotency_key_sha256 = decode(:'p1', 'hex') AND status = 201)", digest), "1 1")
        self.assertNoKeyInDatabase(key)

        # The reproduction with what the audit row offers: its hash is no key (400), and a
        # key made from it claims anew and finds the e-mail taken (409): never a token.
        resp = submit(payload, key=audited, raw=raw)
        self.assertProblem(resp, 400, "idempotency_key_invalid")
        resp = submit(payload, key=str(uuid.UUID(hex=audited[:32])), raw=raw)
        self.assertProblem(resp, 409, "already_submitted")
        self.assertNotIn(token.encode(), resp.body)

        # The person whose 201 was lost sends the same key and body again: the same answer,
        # byte for byte, with the token, which opens the answer.
        again = submit(payload, key=key, raw=raw)
        self.assertEqual(again.status, 201, again.describe())
        self.assertEqual(again.body, first.body, again.describe())
        self.assertEqual(again.json()["edit_token"], token)
        opened = ft.modify_get(token)
        self.assertStatus(opened, 200)
        self.assertEqual(opened.json()["id"], body["id"])
        self.assertEqual(token, edit_token(key, "v2"), "the token is not derived as documented")
        self.assertNoKeyInDatabase(key)

    def test_modify_key_is_stored_audited_and_measured_as_its_hash(self):
        payload, created = ft.create_submission()
        key = ft.new_key().upper()      # normalised before it is hashed
        content = dict(ft.content_of(payload), nom="Nom changé")
        first = ft.modify_put(created["edit_token"], content, if_match=ft.etag(1), key=key)
        self.assertStatus(first, 200)
        again = ft.modify_put(created["edit_token"], content, if_match=ft.etag(1), key=key)
        self.assertStatus(again, 200)
        self.assertEqual(again.body, first.body, "the replayed change differs")
        self.assertEqual(ft.submission_row(created["id"])["version"], 2, "applied twice")
        digest = ft.key_sha256(key)
        self.assertEqual(sql(
            "SELECT endpoint, status_code, key_exposed FROM idempotency_keys "
            "WHERE key_sha256 = decode(:'p1', 'hex')", digest), [["PUT /api/modify", "200", "f"]])
        self.assertEqual(sql(
            "SELECT details->>'idempotency_key_sha256', details ? 'idempotency_key' "
            "FROM audit_logs WHERE entity_id = :'p1' AND action = 'submission.update'",
            created["id"]), [[digest, "f"]])
        self.assertGreaterEqual(sql_int(
            "SELECT count(*) FROM request_metrics WHERE idempotency_key_sha256 = "
            "decode(:'p1', 'hex') AND endpoint = '/api/modify'", digest), 2)
        self.assertNoKeyInDatabase(key)

    def test_app_role_cannot_clear_the_exposed_mark(self):
        def can(column, privilege):
            return sql_one("SELECT has_column_privilege('fiable_app', 'idempotency_keys', "
                           ":'p1', :'p2')", column, privilege)
        self.assertEqual(can("key_exposed", "UPDATE"), "f")
        self.assertEqual(can("key_sha256", "UPDATE"), "f")
        for column in ("status_code", "response_body", "submission_id"):
            with self.subTest(column=column):
                self.assertEqual(can(column, "UPDATE"), "t", column)
        self.assertEqual(can("key_exposed", "SELECT"), "t")

    def test_backup_file_holds_no_key(self):
        payload, _ = ft.create_submission()
        key = ft.new_key()
        resp = submit(payload, key=key)          # the same person again: 409, measured
        self.assertProblem(resp, 409, "already_submitted")
        submit_key = ft.new_key()
        raw = ft.encode_json(dict(payload, email=ft.unique_email("sauvegarde")))
        created = self.assertCreated(submit(None, key=submit_key, raw=raw))
        modify_key = ft.new_key()
        self.assertStatus(ft.modify_put(created["edit_token"],
                                        dict(ft.content_of(json.loads(raw)), nom="Autre nom"),
                                        if_match=ft.etag(1), key=modify_key), 200)
        # Kept after the test: the search of keys in clear at the end of the run reads it too.
        dest = bh.new_local_destination()
        proc = bh.run("backup-submissions", env=bh.environment(dest))
        self.assertEqual(proc.returncode, 0, bh.describe(proc))
        files = sorted(glob.glob(os.path.join(dest, "**", "fiable-*"), recursive=True))
        payloads = [f for f in files if f.endswith(".jsonl.gz")]
        self.assertEqual(len(payloads), 1, files)
        self.assertEqual(len(files), 2, "a payload and its manifest: %r" % files)
        with open(payloads[0], "rb") as f:
            _, rows = bh.read_payload(f.read())
        texts = [line for lines in rows.values() for line in lines]
        for p in files:
            if p.endswith(".json"):
                with open(p, encoding="utf-8") as f:
                    texts.append(f.read())
        text = "\n".join(texts)
        # The backup holds the audit rows of these changes, linked to their key by its hash...
        audit = [json.loads(line) for line in rows["audit_logs"]]
        audited = {a["details"].get("idempotency_key_sha256") for a in audit if a["details"]}
        self.assertIn(ft.key_sha256(submit_key), audited)
        self.assertIn(ft.key_sha256(modify_key), audited)
        self.assertFalse([a for a in audit if a["details"] and "idempotency_key" in a["details"]],
                         "an audit row of the backup holds a key")
        # ...and none of the keys, in any form.
        for k in (key, submit_key, modify_key):
            for form in key_forms(k):
                self.assertNotIn(form, text.lower())

    def test_lost_writes_are_counted_by_hash(self):
        """The "aucune perte" target joins failed writes to their later success by the key's
        hash; spool lines written before sql/0010 (key in clear) are hashed on ingestion."""
        spool = os.environ["FIABLE_TEST_SPOOL_DIR"]
        retried, lost, lost_legacy = ft.new_key(), ft.new_key(), ft.new_key()
        # The write that failed first, then succeeded with the same key.
        self.assertCreated(submit(ft.valid_payload(), key=retried))
        for k in (lost, lost_legacy):
            ft.record_key(k)
        before = lost_writes()
        t = time.time() - 2 * 3600   # more than an hour ago: the browser had time to retry

        def line(key=None, digest=None):
            obj = {"id": uuid.uuid4().hex, "t": t, "endpoint": "/api/submit", "method": "POST",
                   "status": 503, "duration_us": 1200}
            if key is not None:
                obj["idempotency_key"] = key             # as spooled before sql/0010
            if digest is not None:
                obj["idempotency_key_sha256"] = digest
            return json.dumps(obj)
        lines = [line(key=retried.upper()), line(digest=ft.key_sha256(lost)),
                 line(digest=ft.key_sha256(lost)), line(key=lost_legacy)]
        path = os.path.join(spool, "metrics-0-%s.ingest" % uuid.uuid4().hex[:16])
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        st = os.stat(spool)
        shutil.chown(path, st.st_uid, st.st_gid)

        def ingested():
            return not os.path.exists(path) and lost_writes() - before == 2
        self.wait_for(ingested, 30, "the spool file was not ingested, or the lost writes are "
                      "not %d + 2: %s" % (before, lost_writes()))
        for k, n in ((retried, 1), (lost, 2), (lost_legacy, 1)):
            self.assertEqual(sql_int(
                "SELECT count(*) FROM request_metrics WHERE status = 503 "
                "AND spool_id IS NOT NULL AND idempotency_key_sha256 = decode(:'p1', 'hex')",
                ft.key_sha256(k)), n)
            self.assertEqual(tables_holding(key_forms(k)), [], "key in clear")


# --------------------------------------------------------------------------------------
# A database migrated from 0009, with what the code of before wrote.


def create_database(prefix):
    name = "%s_%s" % (prefix, uuid.uuid4().hex[:10])
    sql("CREATE DATABASE :\"p1\" TEMPLATE template0 ENCODING 'UTF8'", name)
    return name


def drop_database(name):
    sql("DROP DATABASE IF EXISTS :\"p1\" WITH (FORCE)", name)


def migrate(conninfo, upto=None):
    """scripts/migrate on conninfo, with every migration or those before `upto` only."""
    folder = SQL_DIR
    tmp = None
    if upto is not None:
        tmp = os.path.join(os.environ["FIABLE_VAR"], "migrations-" + uuid.uuid4().hex[:8])
        os.makedirs(tmp)
        for f in glob.glob(os.path.join(SQL_DIR, "[0-9][0-9][0-9][0-9]_*.sql")):
            if os.path.basename(f) < upto:
                shutil.copy(f, tmp)
        folder = tmp
    try:
        proc = subprocess.run([os.path.join(ROOT, "scripts", "migrate"), "--dir", folder,
                               conninfo], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        if tmp:
            shutil.rmtree(tmp)
    if proc.returncode != 0:
        raise AssertionError("scripts/migrate failed (%d)\n%s%s"
                             % (proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout


def migrate_down(conninfo):
    """The down script of 0010, as docs/DEPLOIEMENT.md runs it."""
    down = os.path.join(SQL_DIR, MIGRATION + ".down.sql")
    proc = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                           "-d", conninfo, "-f", down, "-c",
                           "DELETE FROM schema_migrations WHERE version = '%s'" % MIGRATION],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError("the down script failed\n%s%s" % (proc.stdout, proc.stderr))


class Legacy:
    """The rows the code of before (migrations up to 0009) wrote for one submission made with
    an Idempotency-Key: the submission and its v1 token, the key in clear in idempotency_keys,
    audit_logs and request_metrics."""

    def __init__(self, conninfo, nom):
        self.conninfo = conninfo
        self.key = ft.new_key()
        ft.record_key(self.key)
        self.payload = {"email": ft.unique_email("ancienne"), "nom": nom,
                        "creneaux": ["cle-a", "cle-b"], "commentaire": "Avant la migration."}
        self.raw = ft.encode_json(self.payload)
        self.token = edit_token(self.key, "v1")
        row = sql("INSERT INTO soumissions_disponibilites (email, nom, creneaux, commentaire, "
                  "edit_token_hash) VALUES (:'p1', :'p2', :'p3'::jsonb, :'p4', "
                  "sha256(convert_to(:'p5', 'UTF8'))) RETURNING id, "
                  "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                  self.payload["email"], nom, json.dumps(self.payload["creneaux"]),
                  self.payload["commentaire"], self.token, conninfo=conninfo)[0]
        self.id = int(row[0])
        # What fiable-submit stored: the answer without the token, compact (cJSON).
        self.stored = json.dumps({"id": self.id, "email": self.payload["email"], "nom": nom,
                                  "creneaux": self.payload["creneaux"],
                                  "commentaire": self.payload["commentaire"], "version": 1,
                                  "created_at": row[1]}, separators=(",", ":"))
        sql("INSERT INTO idempotency_keys (key, endpoint, payload_sha256, status_code, "
            "response_body, submission_id) VALUES (:'p1'::uuid, 'POST /api/submit', "
            "decode(:'p2', 'hex'), 201, :'p3', :'p4'::bigint)",
            self.key, hashlib.sha256(self.raw).hexdigest(), self.stored, self.id,
            conninfo=conninfo)
        sql("INSERT INTO audit_logs (action, entity, entity_id, actor, details) "
            "VALUES ('submission.create', 'soumissions_disponibilites', :'p1', :'p2', "
            "jsonb_build_object('version', 1, 'idempotency_key', :'p3'::text, 'creneaux', 2))",
            self.id, self.payload["email"], self.key, conninfo=conninfo)
        # A first try that failed two hours ago, then the success: not a lost write.
        sql("INSERT INTO request_metrics (created_at, endpoint, method, status, duration_us, "
            "idempotency_key) VALUES (now() - interval '2 hours', '/api/submit', 'POST', 503, "
            "900, :'p1'::uuid), (now(), '/api/submit', 'POST', 201, 900, :'p1'::uuid)",
            self.key, conninfo=conninfo)


def legacy_database(prefix):
    """A database migrated up to 0009 holding two submissions written by the code of before
    and one write that failed for good; then migrated to the end. Returns (name, conninfo,
    [Legacy, Legacy], lost key, physical checks made before the migration)."""
    name = create_database(prefix)
    conninfo = ft.database_conninfo(name)
    migrate(conninfo, upto=MIGRATION)
    sql("INSERT INTO creneaux (id, starts_at, ends_at, label) VALUES "
        "('cle-a', now() + interval '30 days', now() + interval '30 days 3 hours', 'Matin'), "
        "('cle-b', now() + interval '31 days', now() + interval '31 days 3 hours', 'Soir')",
        conninfo=conninfo)
    people = [Legacy(conninfo, "Ancienne Personne"), Legacy(conninfo, "Autre Personne")]
    lost = ft.new_key()
    ft.record_key(lost)
    sql("INSERT INTO request_metrics (created_at, endpoint, method, status, duration_us, "
        "idempotency_key) VALUES (now() - interval '2 hours', '/api/submit', 'POST', 503, 900, "
        ":'p1'::uuid)", lost, conninfo=conninfo)
    return name, conninfo, people, lost


def lost_writes_in(conninfo):
    return int(sql("SELECT metriques_resume(now() - interval '24 hours', now(), "
                   "interval '1 hour', 'UTC')->>'envois_jamais_aboutis'", conninfo=conninfo)[0][0])


def files_holding(conninfo, table, needle_hex):
    """Files of table and its indexes (after a checkpoint) that hold these bytes."""
    sql("CHECKPOINT", conninfo=conninfo)
    return [r[0] for r in sql(
        "SELECT c.relname FROM pg_class c WHERE (c.oid = :'p1'::regclass OR c.oid IN "
        "(SELECT indexrelid FROM pg_index WHERE indrelid = :'p1'::regclass)) "
        "AND position(decode(:'p2', 'hex') IN pg_read_binary_file(pg_relation_filepath(c.oid))) > 0 "
        "ORDER BY 1", table, needle_hex, conninfo=conninfo)]


def column_type(conninfo, table, column):
    rows = sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
               "WHERE attrelid = :'p1'::regclass AND attname = :'p2' AND NOT attisdropped",
               table, column, conninfo=conninfo)
    return rows[0][0] if rows else None


class Program:
    """A FastCGI program of the build on a socket of its own, against another database (the
    way multiwatch runs it: the listening socket on descriptor 0). Requests go through
    libfcgi's cgi-fcgi."""

    def __init__(self, name, conninfo, folder):
        import socket
        self.name = name
        self.sock = os.path.join(folder, name + ".sock")
        self.log = os.path.join(folder, name + ".log")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.sock)
        s.listen(16)
        env = ft.program_environment({"FIABLE_DATABASE_URL": conninfo,
                                      "PUBLIC_URL": ft.base_url()}, {})
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [os.path.join(os.environ["FIABLE_BUILD"], "cgi-bin", name)], stdin=s.fileno(),
                stdout=log, stderr=log, env=env)
        s.close()

    def request(self, method, uri, body=b"", headers=None):
        """(status, headers dict with lowercase names, body bytes)."""
        tool = shutil.which("cgi-fcgi")
        if tool is None:
            raise AssertionError("cgi-fcgi is missing (Debian package libfcgi-bin)")
        env = {"REQUEST_METHOD": method, "DOCUMENT_URI": uri, "SCRIPT_NAME": uri,
               "REQUEST_URI": uri, "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
               "SERVER_PROTOCOL": "HTTP/1.1", "PATH": "/usr/bin:/bin",
               "HTTP_USER_AGENT": ft.new_user_agent()}
        if body:
            env["CONTENT_TYPE"] = ft.JSON
        for k, v in (headers or {}).items():
            if k.lower() == "idempotency-key":
                ft.record_key(v)
            env["HTTP_" + k.upper().replace("-", "_")] = v
        proc = subprocess.run([tool, "-bind", "-connect", self.sock], input=body, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        fields = {}
        for line in head.decode("latin-1").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.strip()
        status = int(fields.get("status", "200").split()[0])
        return status, fields, payload

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with open(self.log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if _SANITIZER.search(text):
            raise AssertionError("sanitizer report from %s:\n%s" % (self.name, text))


class ExposedKeysTest(ft.FiableTestCase):
    """The rows of before, migrated by 0010 and served by the programs of now."""

    @classmethod
    def setUpClass(cls):
        cls.db, cls.conninfo, cls.people, cls.lost = legacy_database("fiable_cles")
        try:
            victim = cls.people[0]
            # Before: the key is in the files of both tables (binary uuid: 16 bytes).
            cls.before = {t: files_holding(cls.conninfo, t, victim.key.replace("-", ""))
                          for t in ("idempotency_keys", "request_metrics")}
            cls.lost_before = lost_writes_in(cls.conninfo)
            cls.migrated = migrate(cls.conninfo)
            cls.after = cls.snapshot()
            # The programs log under the test environment: the search for keys in clear at
            # the end of the run reads their logs too.
            cls.folder = os.path.join(os.environ["FIABLE_VAR"], "cles-" + uuid.uuid4().hex[:8])
            os.makedirs(cls.folder)
            app = ft.database_conninfo(cls.db, app=True)
            cls.submit = Program("fiable-submit", app, cls.folder)
            cls.modify = Program("fiable-modify", app, cls.folder)
        except BaseException:
            drop_database(cls.db)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            for p in ("submit", "modify"):
                if hasattr(cls, p):
                    getattr(cls, p).stop()
        finally:
            drop_database(cls.db)

    @classmethod
    def snapshot(cls):
        """What the migration left, read before any test sends a request."""
        victim = cls.people[0]
        return {
            "columns": {(t, c): column_type(cls.conninfo, t, c) for t, c in (
                ("idempotency_keys", "key"), ("idempotency_keys", "key_sha256"),
                ("request_metrics", "idempotency_key"),
                ("request_metrics", "idempotency_key_sha256"))},
            "rows": [sql("SELECT key_exposed, status_code, submission_id, (SELECT count(*) "
                         "FROM request_metrics m WHERE m.idempotency_key_sha256 = k.key_sha256) "
                         "FROM idempotency_keys AS k WHERE k.key_sha256 = decode(:'p1', 'hex')",
                         ft.key_sha256(p.key), conninfo=cls.conninfo) for p in cls.people],
            "files": {t: files_holding(cls.conninfo, t, victim.key.replace("-", ""))
                      for t in ("idempotency_keys", "request_metrics")},
            "tables": tables_holding(key_forms(victim.key), cls.conninfo),
            "lost": lost_writes_in(cls.conninfo),
            "default": sql("SELECT column_default FROM information_schema.columns WHERE "
                           "table_name = 'idempotency_keys' AND column_name = 'key_exposed'",
                           conninfo=cls.conninfo),
        }

    def post(self, raw, key):
        return self.submit.request("POST", ft.SUBMIT, raw, {"Idempotency-Key": key})

    def get_modify(self, token):
        return self.modify.request("GET", ft.MODIFY, headers={"Authorization": "Bearer " + token})

    def test_migration_hashes_and_marks_the_keys_of_before(self):
        self.assertIn("application de " + MIGRATION, self.migrated)
        # Before, the key was in the files of both tables and of their indexes (a uuid is
        # stored as its 16 bytes); the failed write is in the partial index of 0007.
        self.assertEqual(self.before, {
            "idempotency_keys": ["idempotency_keys", "idempotency_keys_pkey"],
            "request_metrics": ["request_metrics", "request_metrics_failed_writes_idx"]},
            "the key of before was not where the check looks")
        after = self.after
        self.assertEqual(after["columns"], {
            ("idempotency_keys", "key"): None, ("idempotency_keys", "key_sha256"): "bytea",
            ("request_metrics", "idempotency_key"): None,
            ("request_metrics", "idempotency_key_sha256"): "bytea"})
        # Every key of before is found by its hash, marked exposed, its metrics linked.
        self.assertEqual(after["rows"], [[["t", "201", str(p.id), "2"]] for p in self.people])
        self.assertEqual(after["default"], [["false"]])
        # Tables and indexes were rewritten: the key is not left in their files. Only the
        # audit row, append-only and chained, still holds it.
        self.assertEqual(after["files"], {"idempotency_keys": [], "request_metrics": []})
        self.assertEqual(after["tables"], ["audit_logs"])
        self.assertEqual((self.lost_before, after["lost"]), (1, 1),
                         "the lost-writes metric changed with the migration")

    def test_replay_of_a_key_read_in_the_audit_log_has_no_token(self):
        victim = self.people[0]
        # The reproduction: the key from the audit row, the body rebuilt from the answer.
        key = sql("SELECT details->>'idempotency_key' FROM audit_logs WHERE entity_id = :'p1'",
                  victim.id, conninfo=self.conninfo)[0][0]
        self.assertEqual(key, victim.key)
        answer = json.loads(sql("SELECT response_body FROM idempotency_keys "
                                "WHERE submission_id = :'p1'::bigint", victim.id,
                                conninfo=self.conninfo)[0][0])
        raw = ft.encode_json({f: answer[f] for f in ("email", "nom", "creneaux", "commentaire")})
        self.assertEqual(raw, victim.raw)
        count = "SELECT count(*) FROM soumissions_disponibilites"
        before = sql_count(self.conninfo, count)
        status, headers, body = self.post(raw, key)
        # The stored answer, as before, but no token.
        self.assertEqual(status, 201, body)
        self.assertEqual(body.decode(), victim.stored)
        self.assertEqual(headers.get("etag"), '"v1"')
        self.assertNotIn("edit_token", json.loads(body))
        self.assertNotIn(victim.token.encode(), body)
        # The person's link keeps working.
        status, _, body = self.get_modify(victim.token)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["id"], victim.id)
        self.assertEqual(sql_count(self.conninfo, count), before, "the replay stored something")

    def test_key_of_before_claimed_afresh_does_not_yield_the_token(self):
        victim = self.people[1]
        # Its row gone (as a purge of old keys would do): the key is free again.
        sql("DELETE FROM idempotency_keys WHERE key_sha256 = decode(:'p1', 'hex')",
            ft.key_sha256(victim.key), conninfo=self.conninfo)
        status, _, body = self.post(victim.raw, victim.key)
        self.assertEqual(status, 409, body)
        self.assertEqual(json.loads(body)["code"], "already_submitted")
        self.assertNotIn(b"edit_token", body)
        own = ft.encode_json(dict(victim.payload, email=ft.unique_email("intrus")))
        status, _, body = self.post(own, victim.key)
        self.assertEqual(status, 201, body)
        token = json.loads(body)["edit_token"]
        self.assertNotEqual(token, victim.token)
        self.assertEqual(token, edit_token(victim.key, "v2"))
        status, _, body = self.get_modify(token)
        self.assertEqual(status, 200, body)
        self.assertNotEqual(json.loads(body)["id"], victim.id, "the token opens the victim's answer")
        status, _, body = self.get_modify(victim.token)
        self.assertEqual((status, json.loads(body)["id"]), (200, victim.id))

    def test_new_key_after_the_migration_replays_with_its_token(self):
        key = ft.new_key()
        raw = ft.encode_json({"email": ft.unique_email("apres"), "nom": "Après Migration",
                              "creneaux": ["cle-a"], "commentaire": ""})
        status, _, first = self.post(raw, key)
        self.assertEqual(status, 201, first)
        token = json.loads(first)["edit_token"]
        self.assertEqual(token, edit_token(key, "v2"))
        status, _, again = self.post(raw, key)
        self.assertEqual((status, again), (201, first), "the lost-response replay differs")
        self.assertEqual(self.get_modify(token)[0], 200)
        self.assertEqual(sql("SELECT key_exposed FROM idempotency_keys "
                             "WHERE key_sha256 = decode(:'p1', 'hex')", ft.key_sha256(key),
                             conninfo=self.conninfo), [["f"]])
        self.assertEqual(tables_holding(key_forms(key), self.conninfo), [])


def sql_count(conninfo, query, *params):
    return int(sql(query, *params, conninfo=conninfo)[0][0])


class MigrationRoundTripTest(ft.FiableTestCase):
    """0010 applied twice, taken down, applied again: the lost-writes metric stays right."""

    def test_idempotent_then_down_then_up(self):
        db, conninfo, people, lost = legacy_database("fiable_cles_retour")
        self.addCleanup(drop_database, db)
        migrate(conninfo)
        person = people[0]
        shape = """SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', '
                   ORDER BY attrelid::regclass::text, attnum) FROM pg_attribute
                   WHERE attrelid IN ('idempotency_keys'::regclass, 'request_metrics'::regclass)
                   AND attnum > 0 AND NOT attisdropped"""
        after = sql(shape, conninfo=conninfo)[0][0]
        # Idempotent: the file run once more changes nothing.
        proc = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                               "-d", conninfo, "-f", os.path.join(SQL_DIR, MIGRATION + ".sql")],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(sql(shape, conninfo=conninfo)[0][0], after)
        self.assertEqual(sql_count(conninfo, "SELECT count(*) FROM idempotency_keys "
                                   "WHERE key_exposed"), 2)

        migrate_down(conninfo)
        self.assertEqual(column_type(conninfo, "idempotency_keys", "key"), "uuid")
        self.assertIsNone(column_type(conninfo, "idempotency_keys", "key_exposed"))
        self.assertEqual(column_type(conninfo, "request_metrics", "idempotency_key"), "uuid")
        prefix = str(uuid.UUID(hex=ft.key_sha256(person.key)[:32]))
        self.assertEqual(sql_count(conninfo, "SELECT count(*) FROM idempotency_keys "
                                   "WHERE key = :'p1'::uuid", prefix), 1)
        self.assertEqual(lost_writes_in(conninfo), 1, "the lost writes are no longer right")
        self.assertEqual(sql("SELECT has_table_privilege('fiable_app', 'idempotency_keys', "
                             "'UPDATE')", conninfo=conninfo), [["t"]])
        # The code of before spools keys in clear: its ingestion works again.
        spooled = uuid.uuid4()
        ft.record_key(str(spooled))
        self.assertEqual(sql_count(conninfo, "SELECT metriques_ingerer(:'p1'::jsonb)", json.dumps(
            [{"id": uuid.uuid4().hex, "t": time.time(), "endpoint": "/api/submit",
              "method": "POST", "status": 201, "duration_us": 5,
              "idempotency_key": str(spooled)}])), 1)

        out = migrate(conninfo)
        self.assertIn("application de " + MIGRATION, out)
        self.assertEqual(sql(shape, conninfo=conninfo)[0][0], after)
        self.assertEqual(lost_writes_in(conninfo), 1)
        self.assertEqual(sql_count(conninfo, "SELECT count(*) FROM idempotency_keys "
                                   "WHERE key_exposed"), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
