"""Shared helpers of the integration tests (standard library only).

The tests talk to a running stack (nginx in front of the FastCGI programs, PostgreSQL 15)
started by `scripts/dev test`, which exports:

  FIABLE_TEST_BASE_URL  e.g. http://127.0.0.1:18080
  FIABLE_TEST_PG        libpq conninfo of the superuser `postgres` on the test database
  FIABLE_TEST_DEV       path of scripts/dev (db-stop, db-start, db-restart, worker-pids)

Without FIABLE_TEST_BASE_URL every test file fails (it never skips): run `scripts/dev test`.
"""

import csv
import glob
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import subprocess
import time
import unittest
import urllib.parse
import uuid

SUBMIT = "/api/submit"
FORM = "/api/form"
HEALTH = "/api/health"

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"

# psql prints CSV (values holding "," or newlines come back intact) with NULL as this marker.
_NULL = "\x15NULL\x15"

_ENV_HELP = ("FIABLE_TEST_BASE_URL is not set: these integration tests need the test stack. "
             "Run them with `scripts/dev test` (it starts nginx, the FastCGI programs and "
             "PostgreSQL, exports FIABLE_TEST_BASE_URL, FIABLE_TEST_PG and FIABLE_TEST_DEV, "
             "then runs ctest).")


class EnvironmentMissing(AssertionError):
    """Raised when the test stack is not described by the environment."""


def require_env():
    """Fails (never skips) when the tests were not started by `scripts/dev test`."""
    if not os.environ.get("FIABLE_TEST_BASE_URL"):
        raise EnvironmentMissing(_ENV_HELP)
    if not os.environ.get("FIABLE_TEST_PG"):
        raise EnvironmentMissing("FIABLE_TEST_PG is not set. " + _ENV_HELP)


def require_dev():
    require_env()
    if not os.environ.get("FIABLE_TEST_DEV"):
        raise EnvironmentMissing("FIABLE_TEST_DEV is not set. " + _ENV_HELP)


def base_url():
    require_env()
    return os.environ["FIABLE_TEST_BASE_URL"].rstrip("/")


def _split_base():
    parts = urllib.parse.urlsplit(base_url())
    if parts.scheme != "http" or not parts.hostname:
        raise EnvironmentMissing("FIABLE_TEST_BASE_URL must look like http://HOST:PORT, not %r"
                                 % base_url())
    return parts.hostname, parts.port or 80, parts.netloc


def own_origin():
    """The origin of the site itself, as a browser on the form page would send it."""
    _, _, netloc = _split_base()
    return "http://" + netloc


# --------------------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, method, path, status, reason, headers, body, request_headers,
                 request_body):
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.headers = headers          # http.client.HTTPMessage (case-insensitive)
        self.body = body                # bytes
        self.request_headers = request_headers
        self.request_body = request_body
        self.user_agent = request_headers.get("User-Agent")
        self.key = request_headers.get("Idempotency-Key")
        self.payload = None
        self._json = None

    def header(self, name):
        return self.headers.get(name)

    def header_all(self, name):
        return self.headers.get_all(name) or []

    @property
    def media_type(self):
        value = self.header("Content-Type") or ""
        return value.split(";")[0].strip().lower()

    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                raise AssertionError("response body is not JSON (%s)\n%s" % (e, self.describe()))
        return self._json

    def describe(self):
        """The request and the answer, for failure messages."""
        req_body = self.request_body or b""
        if len(req_body) > 600:
            req_body = req_body[:600] + b"...(%d bytes)" % len(self.request_body)
        body = self.body
        if len(body) > 1500:
            body = body[:1500] + b"...(%d bytes)" % len(self.body)
        req_headers = "".join("    %s: %s\n" % kv for kv in self.request_headers.items())
        resp_headers = "".join("    %s: %s\n" % kv for kv in self.headers.items())
        return ("request:  %s %s\n%s    body: %r\nresponse: %d %s\n%s    body: %s"
                % (self.method, self.path, req_headers, req_body, self.status, self.reason,
                   resp_headers, body.decode("utf-8", "replace")))


def new_user_agent():
    """A User-Agent unique to one request, to find what that request stored."""
    return "fiable-itest/" + uuid.uuid4().hex


def request(method, path, body=None, headers=None, *, source_address=None, timeout=20):
    """Sends one request on a fresh connection. headers: a value of None removes a default."""
    host, port, _ = _split_base()
    all_headers = {"User-Agent": new_user_agent(), "Accept": "application/json"}
    for name, value in (headers or {}).items():
        for existing in [k for k in all_headers if k.lower() == name.lower()]:
            del all_headers[existing]
        if value is not None:
            all_headers[name] = value
    if isinstance(body, str):
        body = body.encode("utf-8")
    conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                      source_address=source_address)
    try:
        try:
            conn.request(method, path, body=body, headers=all_headers)
        except (BrokenPipeError, ConnectionResetError):
            # A server may answer (413) and close before reading a large body: read the answer.
            pass
        resp = conn.getresponse()
        data = resp.read()
        return Response(method, path, resp.status, resp.reason, resp.headers, data,
                        all_headers, body)
    finally:
        conn.close()


def get(path, headers=None, **kw):
    return request("GET", path, headers=headers, **kw)


_DEFAULT = object()


def new_key():
    return str(uuid.uuid4())


def encode_json(payload):
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def submit(payload=None, *, key=_DEFAULT, raw=None, content_type=JSON, headers=None, **kw):
    """POST /api/submit. key: a fresh UUID by default, None to send no Idempotency-Key.
    raw: the exact body bytes (payload is then only kept for the record)."""
    h = {}
    if content_type is not None:
        h["Content-Type"] = content_type
    if key is _DEFAULT:
        key = new_key()
    if key is not None:
        h["Idempotency-Key"] = key
    h.update(headers or {})
    body = raw if raw is not None else encode_json(payload)
    resp = request("POST", SUBMIT, body=body, headers=h, **kw)
    resp.payload = payload
    return resp


def unique_email(prefix="test"):
    return "%s-%s@example.org" % (prefix, uuid.uuid4().hex)


_slots_cache = []


def valid_slots(n=2):
    """Ids of existing future slots of the catalogue (test slots are added if too few)."""
    if len(_slots_cache) < n:
        ids = [r[0] for r in sql("SELECT id FROM creneaux WHERE starts_at > now() "
                                 "ORDER BY starts_at, id LIMIT 5")]
        if len(ids) < n:
            sql("INSERT INTO creneaux (id, starts_at, ends_at, label) "
                "SELECT 'itest-slot-' || g, now() + g * interval '1 day' + interval '30 days', "
                "now() + g * interval '1 day' + interval '30 days 3 hours', "
                "'Créneau de test ' || g FROM generate_series(1, 5) AS g "
                "ON CONFLICT (id) DO NOTHING")
            ids = [r[0] for r in sql("SELECT id FROM creneaux WHERE starts_at > now() "
                                     "ORDER BY starts_at, id LIMIT 5")]
        _slots_cache[:] = ids
    if len(_slots_cache) < n:
        raise AssertionError("the catalogue has fewer than %d future slots" % n)
    return list(_slots_cache[:n])


def valid_payload(**overrides):
    payload = {
        "email": unique_email(),
        "nom": "Camille Test",
        "creneaux": valid_slots(2),
        "commentaire": "Disponible le matin de préférence.",
    }
    payload.update(overrides)
    return payload


# --------------------------------------------------------------------------------------
# SQL through psql (superuser on the test database)


class SqlError(Exception):
    def __init__(self, query, returncode, stderr):
        super().__init__("psql failed (exit %d): %s\nquery: %s" % (returncode, stderr.strip(),
                                                                     query))
        self.stderr = stderr


_psql_path = []


def _psql():
    """psql itself: Debian's /usr/bin/psql is a Perl wrapper that costs ~0.1 s a call."""
    if not _psql_path:
        candidates = [os.environ.get("FIABLE_TEST_PSQL", "")]
        candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"),
                             key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit()
                             else 0, reverse=True)
        found = [c for c in candidates if c and os.access(c, os.X_OK)]
        _psql_path.append(found[0] if found else (shutil.which("psql") or "psql"))
    return _psql_path[0]


def sql(query, *params, timeout=30):
    """Runs query as the superuser and returns its rows as lists of strings (None for NULL).
    Parameters are psql variables referenced as :'p1', :'p2', ... (quoted by psql, never
    spliced by Python). Raises SqlError when psql fails."""
    require_env()
    cmd = [_psql(), "-X", "-t", "-q", "--csv", "-v", "ON_ERROR_STOP=1", "-P", "null=" + _NULL,
           "-d", os.environ["FIABLE_TEST_PG"]]
    for i, value in enumerate(params, 1):
        if value is None:
            raise ValueError("sql(): pass NULL in the query itself, not as a parameter")
        value = str(value)
        if "\0" in value:
            raise ValueError("sql(): a parameter cannot hold a NUL character")
        cmd += ["-v", "p%d=%s" % (i, value)]
    cmd += ["-f", "-"]
    env = dict(os.environ)
    env.setdefault("PGCONNECT_TIMEOUT", "5")
    env["PGOPTIONS"] = "-c client_min_messages=warning"
    env["PGCLIENTENCODING"] = "UTF8"
    proc = subprocess.run(cmd, input=query.encode("utf-8"), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise SqlError(query, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    out = proc.stdout.decode("utf-8")
    # A blank line is one empty string (csv reads it as a row without fields).
    return [[None if f == _NULL else f for f in (row or [""])]
            for row in csv.reader(io.StringIO(out, newline=""))]


def sql_one(query, *params):
    """The single value of a one-row, one-column query."""
    rows = sql(query, *params)
    if len(rows) != 1 or len(rows[0]) != 1:
        raise AssertionError("expected one value from %r, got %r" % (query, rows))
    return rows[0][0]


def sql_int(query, *params):
    return int(sql_one(query, *params))


def sql_json(query, *params):
    """json.loads of the single value of query (None when NULL)."""
    value = sql_one(query, *params)
    return None if value is None else json.loads(value)


def db_ready():
    try:
        return sql_one("SELECT 1") == "1"
    except (SqlError, subprocess.TimeoutExpired):
        return False


def wait_db_ready(timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db_ready():
            return True
        time.sleep(0.25)
    return False


def submission_row(submission_id):
    """The stored row as a dict, or None."""
    return sql_json(
        "SELECT (SELECT json_build_object('id', id, 'email', email, 'nom', nom, "
        "'creneaux', creneaux, 'commentaire', commentaire, 'version', version, "
        "'deleted_at', deleted_at, 'historique', historique_modifications, "
        "'hash', encode(edit_token_hash, 'hex'), "
        "'created_epoch', extract(epoch FROM created_at), "
        "'updated_epoch', extract(epoch FROM updated_at))::text "
        "FROM soumissions_disponibilites WHERE id = :'p1'::bigint)",
        submission_id)


def count_by_email(email):
    """Rows (active or not) whose e-mail equals this one, ignoring case."""
    return sql_int("SELECT count(*) FROM soumissions_disponibilites "
                   "WHERE lower(email) = lower(:'p1')", email)


def max_submission_id():
    return sql_int("SELECT coalesce(max(id), 0) FROM soumissions_disponibilites")


def idempotency_rows(key):
    return sql_int("SELECT count(*) FROM idempotency_keys WHERE key::text = lower(:'p1')", key)


def audit_rows_for_agent(user_agent):
    return sql_int("SELECT count(*) FROM audit_logs WHERE user_agent = :'p1'", user_agent)


def stored_once_problems(created):
    """For 201 answers (Response objects), those whose submission is not stored exactly once
    (one row for the e-mail, one submission.create audit row, one idempotency row), with the
    counts found. One query for all."""
    entries = [{"email": r.payload["email"], "key": r.key, "id": str(r.json()["id"])}
               for r in created]
    if not entries:
        return []
    return sql_json(
        "SELECT coalesce(json_agg(x), '[]')::text FROM ("
        " SELECT e.email, e.key, e.id,"
        "  (SELECT count(*) FROM soumissions_disponibilites s"
        "    WHERE lower(s.email) = lower(trim(e.email))) AS rows,"
        "  (SELECT count(*) FROM audit_logs a WHERE a.entity_id = e.id"
        "    AND a.action = 'submission.create') AS audit,"
        "  (SELECT count(*) FROM idempotency_keys k WHERE k.key::text = lower(e.key)) AS idem"
        " FROM json_to_recordset(:'p1'::json) AS e(email text, key text, id text)) AS x"
        " WHERE x.rows <> 1 OR x.audit <> 1 OR x.idem <> 1",
        json.dumps(entries))


def max_metric_id():
    return sql_int("SELECT coalesce(max(id), 0) FROM request_metrics")


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------
# scripts/dev


def dev(*args, timeout=120):
    require_dev()
    proc = subprocess.run([os.environ["FIABLE_TEST_DEV"]] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError("`scripts/dev %s` failed (exit %d)\nstdout: %s\nstderr: %s"
                             % (" ".join(args), proc.returncode,
                                proc.stdout.decode("utf-8", "replace"),
                                proc.stderr.decode("utf-8", "replace")))
    return proc.stdout.decode("utf-8", "replace")


def worker_pids(family="submit"):
    out = dev("worker-pids", family, timeout=30)
    pids = []
    for line in out.splitlines():
        line = line.strip()
        if line:
            if not line.isdigit():
                raise AssertionError("`scripts/dev worker-pids %s` printed %r, not one pid a line"
                                     % (family, out))
            pids.append(int(line))
    return pids


# --------------------------------------------------------------------------------------
# Assertions


_ENGLISH = re.compile(r"\b(must|required|invalid|should|field|the|is|not allowed|too long)\b",
                      re.IGNORECASE)


class FiableTestCase(unittest.TestCase):
    maxDiff = 4000

    def assertStatus(self, resp, status):
        self.assertEqual(resp.status, status, "unexpected status\n" + resp.describe())

    def assertMediaType(self, resp, media_type):
        self.assertEqual(resp.media_type, media_type,
                         "unexpected Content-Type\n" + resp.describe())

    def assertFrench(self, text, resp, what):
        self.assertIsInstance(text, str, "%s is not a string\n%s" % (what, resp.describe()))
        self.assertTrue(text.strip(), "%s is empty\n%s" % (what, resp.describe()))
        self.assertIsNone(_ENGLISH.search(text),
                          "%s looks English, not French: %r\n%s" % (what, text, resp.describe()))

    def assertProblem(self, resp, status, code):
        """An RFC 9457 problem with our stable code and a French detail."""
        return self.assertProblemIn(resp, status, (code,))

    def assertProblemIn(self, resp, status, codes):
        """A problem whose code is one of codes."""
        self.assertStatus(resp, status)
        self.assertMediaType(resp, PROBLEM_JSON)
        p = resp.json()
        self.assertIsInstance(p, dict, resp.describe())
        self.assertIn(p.get("code"), codes, "unexpected problem code\n" + resp.describe())
        self.assertEqual(p.get("status"), status, "problem.status\n" + resp.describe())
        self.assertIsInstance(p.get("type"), str, "problem.type\n" + resp.describe())
        self.assertTrue(p.get("type"), "problem.type is empty\n" + resp.describe())
        self.assertIsInstance(p.get("title"), str, "problem.title\n" + resp.describe())
        self.assertFrench(p.get("detail"), resp, "problem.detail")
        return p

    def assertValidationErrors(self, resp, fields):
        """400 validation_failed naming exactly these fields, each with a French message."""
        p = self.assertProblem(resp, 400, "validation_failed")
        errors = p.get("errors")
        self.assertIsInstance(errors, dict, "problem.errors is not an object\n" + resp.describe())
        self.assertEqual(set(errors), set(fields),
                         "problem.errors does not name exactly the faulty fields\n"
                         + resp.describe())
        for field, message in errors.items():
            self.assertFrench(message, resp, "errors.%s" % field)
        return p

    def assertNothingStored(self, resp, max_id_before):
        """No submission row, no idempotency row for the key, no audit row for the request."""
        email = ""
        if isinstance(resp.payload, dict) and isinstance(resp.payload.get("email"), str):
            email = resp.payload["email"].strip()
        row = sql(
            "SELECT (SELECT coalesce(max(id), 0) FROM soumissions_disponibilites), "
            "(SELECT count(*) FROM idempotency_keys WHERE key::text = lower(:'p1')), "
            "(SELECT count(*) FROM audit_logs WHERE user_agent = :'p2'), "
            "(SELECT count(*) FROM soumissions_disponibilites "
            " WHERE :'p3' <> '' AND lower(email) = lower(:'p3'))",
            resp.key or "", resp.user_agent or "", email)[0]
        self.assertEqual(int(row[0]), max_id_before,
                         "a submission row was stored\n" + resp.describe())
        self.assertEqual(int(row[1]), 0, "an idempotency_keys row was stored\n" + resp.describe())
        self.assertEqual(int(row[2]), 0, "an audit_logs row was stored\n" + resp.describe())
        self.assertEqual(int(row[3]), 0, "a row with this e-mail was stored\n" + resp.describe())

    def assertCreated(self, resp):
        self.assertStatus(resp, 201)
        self.assertMediaType(resp, JSON)
        body = resp.json()
        self.assertIsInstance(body, dict, resp.describe())
        return body

    def wait_for(self, predicate, timeout, message, interval=0.1):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                self.fail(message)
            time.sleep(interval)
