"""Shared helpers of the integration tests (standard library only).

The tests talk to a running stack (nginx in front of the FastCGI programs, PostgreSQL 15)
started by `scripts/dev test`, which exports:

  FIABLE_TEST_BASE_URL  e.g. http://127.0.0.1:18080
  FIABLE_TEST_PG        libpq conninfo of the superuser `postgres` on the test database
  FIABLE_TEST_DEV       path of scripts/dev (db-stop, db-start, db-restart, worker-pids,
                        smtp-stop, smtp-start)
  FIABLE_TEST_APP_PG    libpq conninfo of the application role fiable_app
  FIABLE_TEST_MAILBOX   maildir where the test SMTP server (aiosmtpd) stores what it receives
  FIABLE_TEST_SMTP_PORT port of that server on 127.0.0.1
  FIABLE_TEST_MAIL_OUTBOX  path of the cron program fiable-mail-outbox
  FIABLE_VAR            the test environment's state directory (holds the secret)
  FIABLE_TEST_SLOWDOWN  factor (default 1) applied to every waiting ceiling, for a loaded
                        machine: a wait ends as soon as its event happens, so raising it
                        makes a red run green, never a green run slower

Waiting: a test waits for a definite event (a row reaching a final state, a message with a
given subject, the server answering) with `ceiling(seconds)` as its limit, never for a fixed
time. A test that proves something does NOT happen first waits for what does happen.

Without FIABLE_TEST_BASE_URL every test file fails (it never skips): run `scripts/dev test`.
"""

import base64
import csv
import datetime
import email
import email.policy
import email.utils
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


def _slowdown():
    value = os.environ.get("FIABLE_TEST_SLOWDOWN", "1") or "1"
    try:
        factor = float(value)
    except ValueError:
        raise AssertionError("FIABLE_TEST_SLOWDOWN must be a number, not %r" % value)
    if not factor >= 1:
        raise AssertionError("FIABLE_TEST_SLOWDOWN must be at least 1, not %r" % value)
    return factor


SLOWDOWN = _slowdown()


def ceiling(seconds):
    """The limit of a wait of `seconds` on a quiet machine, scaled by FIABLE_TEST_SLOWDOWN."""
    return seconds * SLOWDOWN


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
    for name, value in all_headers.items():
        if name.lower() == "idempotency-key":
            record_key(value)
    conn = http.client.HTTPConnection(host, port, timeout=ceiling(timeout),
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


def sql(query, *params, timeout=30, conninfo=None):
    """Runs query as the superuser and returns its rows as lists of strings (None for NULL).
    Parameters are psql variables referenced as :'p1', :'p2', ... (quoted by psql, never
    spliced by Python). conninfo: another database than the test database (see
    database_conninfo). Raises SqlError when psql fails."""
    require_env()
    cmd = [_psql(), "-X", "-t", "-q", "--csv", "-v", "ON_ERROR_STOP=1", "-P", "null=" + _NULL,
           "-d", conninfo or os.environ["FIABLE_TEST_PG"]]
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
                          stderr=subprocess.PIPE, env=env, timeout=ceiling(timeout))
    if proc.returncode != 0:
        raise SqlError(query, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    out = proc.stdout.decode("utf-8")
    # A blank line is one empty string (csv reads it as a row without fields).
    return [[None if f == _NULL else f for f in (row or [""])]
            for row in csv.reader(io.StringIO(out, newline=""))]


def app_sql(query, *params):
    """sql() on a connection of the application role itself (FIABLE_TEST_APP_PG), not a
    superuser that SET ROLE: what a compromised FastCGI program could run."""
    if not os.environ.get("FIABLE_TEST_APP_PG"):
        raise EnvironmentMissing("FIABLE_TEST_APP_PG is not set. " + _ENV_HELP)
    return sql(query, *params, conninfo=os.environ["FIABLE_TEST_APP_PG"])


def database_conninfo(dbname, app=False):
    """The conninfo of the superuser (app: of fiable_app) on another database of the cluster."""
    require_env()
    base = os.environ["FIABLE_TEST_APP_PG" if app else "FIABLE_TEST_PG"]
    if not re.search(r"\bdbname=\S+", base):
        raise EnvironmentMissing("no dbname= in %r" % base)
    return re.sub(r"\bdbname=\S+", "dbname=" + dbname, base)


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
    deadline = time.monotonic() + ceiling(timeout)
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


def key_sha256(key):
    """The hex SHA-256 under which an Idempotency-Key is stored (the key itself never is)."""
    return sha256_hex(key.lower())


# Where the tests note the hash of every key they send: at the end of a run, `scripts/dev
# test` looks for each of them in clear in the database, the logs and the backups
# (clear_keys.py). Only hashes: the list itself holds no key.
KEY_HASHES_FILE = "test-key-hashes"


def record_key(key):
    """Notes the hash of a key a test sends (request() does it for its requests)."""
    var = os.environ.get("FIABLE_VAR")
    if var and key:
        with open(os.path.join(var, KEY_HASHES_FILE), "a", encoding="ascii") as f:
            f.write(key_sha256(key.strip()) + "\n")


def idempotency_rows(key):
    return sql_int("SELECT count(*) FROM idempotency_keys WHERE key_sha256 = decode(:'p1', 'hex')",
                   key_sha256(key))


def audit_rows_for_agent(user_agent):
    return sql_int("SELECT count(*) FROM audit_logs WHERE user_agent = :'p1'", user_agent)


def stored_once_problems(created):
    """For 201 answers (Response objects), those whose submission is not stored exactly once
    (one row for the e-mail, one submission.create audit row, one idempotency row), with the
    counts found. One query for all."""
    entries = [{"email": r.payload["email"], "key": key_sha256(r.key), "id": str(r.json()["id"])}
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
        "  (SELECT count(*) FROM idempotency_keys k WHERE k.key_sha256 = decode(e.key, 'hex'))"
        "   AS idem"
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
                          stderr=subprocess.PIPE, timeout=ceiling(timeout))
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
# Mail: the test SMTP server (aiosmtpd, Maildir handler) and the cron program


def mailbox_dir():
    """The maildir of the test SMTP server (messages arrive in its new/ folder)."""
    require_env()
    path = os.environ.get("FIABLE_TEST_MAILBOX")
    if not path:
        raise EnvironmentMissing("FIABLE_TEST_MAILBOX is not set. " + _ENV_HELP)
    return path


def _mail_files():
    """(arrival time, path) of every message in the maildir, oldest first."""
    found = []
    for sub in ("new", "cur"):
        folder = os.path.join(mailbox_dir(), sub)
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue
        for name in names:
            if name.startswith("."):
                continue
            path = os.path.join(folder, name)
            try:
                found.append((os.stat(path).st_mtime, path))
            except FileNotFoundError:
                pass
    found.sort()
    return found


def parse_mail(data):
    """An RFC 5322 message (bytes) as an email.message.EmailMessage (modern policy:
    headers come back decoded, e.g. an RFC 2047 subject as plain text)."""
    return email.message_from_bytes(data, policy=email.policy.default)


def _recipients(msg):
    """Lowercased addresses the message was sent to: the SMTP envelope (X-RcptTo, added
    by aiosmtpd) and the To header."""
    found = set()
    for name in ("X-RcptTo", "To"):
        for value in msg.get_all(name) or []:
            for _, addr in email.utils.getaddresses([str(value)]):
                if addr:
                    found.add(addr.lower())
    return found


def mails_to(to_address, since=None):
    """The messages already received for to_address (case-insensitive), oldest first,
    only those that arrived at or after since (a time.time() value) when given."""
    want = to_address.strip().lower()
    out = []
    for mtime, path in _mail_files():
        # 50 ms of slack: file times are taken from a coarse clock.
        if since is not None and mtime < since - 0.05:
            continue
        try:
            with open(path, "rb") as f:
                msg = parse_mail(f.read())
        except FileNotFoundError:
            continue
        if want in _recipients(msg):
            out.append(msg)
    return out


def wait_for_mail(to_address, timeout=10.0, since=None, *, count=1):
    """Waits until at least `count` messages for to_address have arrived at the test SMTP
    server after `since` (a time.time() value; None = any time), polling up to
    ceiling(timeout) seconds. Returns them as a list of email.message.EmailMessage, oldest
    first (parsed with email.policy.default: msg["Subject"] is the decoded text,
    msg.get_body().get_content() the decoded body). Returns what arrived (possibly []) when
    the time is up: assert on the length. Never use it to prove that NO message comes: see
    settled_mails, which first waits for the outbox to finish."""
    deadline = time.monotonic() + ceiling(timeout)
    while True:
        found = mails_to(to_address, since)
        if len(found) >= count or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def outbox_pending(to_address):
    """What the mail sender has still to do for this address (case-insensitive): rows of
    mail_outbox not yet in a final state, and link requests not yet resolved (resolving one
    may queue a message)."""
    return sql_int("SELECT (SELECT count(*) FROM mail_outbox "
                   "        WHERE lower(recipient) = lower(:'p1') AND status = 'pending') "
                   "     + (SELECT count(*) FROM modify_link_requests "
                   "        WHERE resolved_at IS NULL AND lower(email) = lower(:'p1'))",
                   to_address)


def outbox_sent(to_address):
    """Rows of mail_outbox for this address (case-insensitive) that reached 'sent'."""
    return sql_int("SELECT count(*) FROM mail_outbox WHERE lower(recipient) = lower(:'p1') "
                   "AND status = 'sent'", to_address)


def settled_mails(to_address, timeout=30.0):
    """Every message the product will send to to_address from what is queued now: waits
    (ceiling(timeout)) until the sender has nothing left to do for the address
    (outbox_pending), then until the
    test SMTP server holds as many messages for it as the outbox marked sent (a row is
    marked sent once the server accepted it, so its file may lag by a moment). Returns all
    the messages received for the address, oldest first. This is the definite event that a
    test proving that NO (further) message is sent waits for. Raises AssertionError when
    the outbox does not settle in time, or when the server holds more messages than the
    outbox sent (a message sent twice)."""
    deadline = time.monotonic() + ceiling(timeout)
    while outbox_pending(to_address) > 0:
        if time.monotonic() >= deadline:
            raise AssertionError("mail_outbox still has pending messages for %s after %.0f s"
                                 % (to_address, ceiling(timeout)))
        time.sleep(0.1)
    sent = outbox_sent(to_address)
    while True:
        found = mails_to(to_address)
        if len(found) >= sent:
            break
        if time.monotonic() >= deadline:
            raise AssertionError("the outbox marked %d message(s) to %s sent, the test SMTP "
                                 "server holds %d after %.0f s"
                                 % (sent, to_address, len(found), ceiling(timeout)))
        time.sleep(0.1)
    if len(found) > sent:
        raise AssertionError("the test SMTP server holds %d message(s) to %s, the outbox sent "
                             "%d: %s" % (len(found), to_address, sent,
                                         [str(m["Subject"]) for m in found]))
    return found


def mail_text(msg):
    """The decoded text/plain body of a message."""
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        raise AssertionError("the message has no text/plain part:\n%s" % msg)
    return part.get_content()


_EDIT_TOKEN = re.compile(r"#edit=([A-Za-z0-9_-]+)")


def extract_edit_token(msg):
    """The edit token of the link PUBLIC_URL/#edit=TOKEN in the message body (the last one
    if several). Raises AssertionError when the body holds no such link."""
    tokens = _EDIT_TOKEN.findall(mail_text(msg))
    if not tokens:
        raise AssertionError("no #edit=TOKEN link in the message:\n%s" % mail_text(msg))
    return tokens[-1]


def outbox_environment(**overrides):
    """The environment the workers run with (database as fiable_app, secret, PUBLIC_URL,
    SMTP_URL of the test server), for the cron program. A value of None removes a variable."""
    require_env()
    var = os.environ.get("FIABLE_VAR")
    port = os.environ.get("FIABLE_TEST_SMTP_PORT")
    app_pg = os.environ.get("FIABLE_TEST_APP_PG")
    if not var or not port or not app_pg:
        raise EnvironmentMissing("FIABLE_VAR, FIABLE_TEST_SMTP_PORT or FIABLE_TEST_APP_PG is "
                                 "not set. " + _ENV_HELP)
    return program_environment({"FIABLE_DATABASE_URL": app_pg, "PUBLIC_URL": base_url(),
                                "SMTP_URL": "smtp://127.0.0.1:%s" % port,
                                "MAIL_FROM": "Fiable <fiable@localhost>"}, overrides)


def program_environment(settings, overrides):
    """The environment of a program run by hand: a bare PATH and locale, the instance's
    secret, the sanitizer options of the run, then settings, then overrides (a value of
    None removes a variable)."""
    with open(os.path.join(os.environ["FIABLE_VAR"], "secret"), encoding="ascii") as f:
        secret = f.read().strip()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "FIABLE_SECRET": secret}
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    env.update(settings)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


_SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")


def run_outbox(timeout=60, **env_overrides):
    """Runs cron/fiable-mail-outbox once with the workers' environment (see
    outbox_environment; keyword arguments override variables, None removes one). Returns
    the subprocess.CompletedProcess (stdout and stderr as text). Raises AssertionError on a
    sanitizer report in its output."""
    prog = os.environ.get("FIABLE_TEST_MAIL_OUTBOX")
    if not prog:
        raise EnvironmentMissing("FIABLE_TEST_MAIL_OUTBOX is not set. " + _ENV_HELP)
    proc = subprocess.run([prog], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=outbox_environment(**env_overrides), timeout=ceiling(timeout))
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    if _SANITIZER.search(proc.stderr):
        raise AssertionError("sanitizer report from fiable-mail-outbox:\n" + proc.stderr)
    return proc


def outbox_row(outbox_id):
    """A mail_outbox row as a dict (None when absent); times as epoch seconds."""
    return sql_json(
        "SELECT (SELECT json_build_object('id', id, 'kind', kind, 'recipient', recipient, "
        "'subject', subject, 'body', body, 'status', status, 'attempts', attempts, "
        "'last_error', last_error, 'submission_id', submission_id, "
        "'next_attempt_epoch', extract(epoch FROM next_attempt_at), "
        "'sent_epoch', extract(epoch FROM sent_at), "
        "'now_epoch', extract(epoch FROM now()))::text "
        "FROM mail_outbox WHERE id = :'p1'::bigint)", outbox_id)


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
            "(SELECT count(*) FROM idempotency_keys WHERE key_sha256 = decode(:'p1', 'hex')), "
            "(SELECT count(*) FROM audit_logs WHERE user_agent = :'p2'), "
            "(SELECT count(*) FROM soumissions_disponibilites "
            " WHERE :'p3' <> '' AND lower(email) = lower(:'p3'))",
            key_sha256(resp.key or ""), resp.user_agent or "", email)[0]
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
        """Polls predicate until it returns a true value (returned), failing with message
        after ceiling(timeout) seconds."""
        deadline = time.monotonic() + ceiling(timeout)
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                self.fail(message)
            time.sleep(interval)


# --------------------------------------------------------------------------------------
# Modification, withdrawal, restoration, edit links (test_modify, test_restore, test_link)

MODIFY = "/api/modify"
MODIFY_LINK = "/api/modify/link"
RESTORE = "/api/restore"
ADMIN_RESTORE = "/api/admin/restore"

# What GET/PUT/DELETE /api/modify and the restorations answer (never the edit token).
REPRESENTATION_KEYS = {"id", "email", "nom", "creneaux", "commentaire", "version", "created_at",
                       "updated_at", "deleted_at", "historique", "en_retard", "campagne"}
CONTENT_FIELDS = ("email", "nom", "creneaux", "commentaire")

# In ModifyTestCase.assertHistoryEntry: a value that is not compared.
ANY = object()


def etag(version):
    return '"v%d"' % version


def parse_iso(text):
    """An ISO 8601 timestamp with a time zone (a trailing Z is accepted) as a datetime."""
    if not isinstance(text, str):
        raise ValueError("not a timestamp string: %r" % (text,))
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("timestamp without a time zone: %r" % text)
    return value


def content_of(payload):
    """The four fields of a submission payload or representation (commentaire defaults to "")."""
    content = {f: payload.get(f) for f in CONTENT_FIELDS}
    if content["commentaire"] is None:
        content["commentaire"] = ""
    return content


def create_submission(**overrides):
    """Submits valid_payload(**overrides); returns (payload, body of the 201 answer)."""
    payload = valid_payload(**overrides)
    resp = submit(payload)
    if resp.status != 201:
        raise AssertionError("could not create a submission\n" + resp.describe())
    return payload, resp.json()


def _auth(token):
    return {"Authorization": None if token is None else "Bearer " + token}


def modify_get(token, headers=None, **kw):
    """GET /api/modify with the token as Bearer credentials (token None: no Authorization)."""
    h = _auth(token)
    h.update(headers or {})
    return request("GET", MODIFY, headers=h, **kw)


def _write(method, path, token, payload, *, if_match, key=None, raw=None, content_type=JSON,
           headers=None, **kw):
    h = _auth(token)
    if if_match is not None:
        h["If-Match"] = if_match
    if key is not None:
        h["Idempotency-Key"] = key
    body = raw if raw is not None else (None if payload is None else encode_json(payload))
    if content_type is not None and body is not None:
        h["Content-Type"] = content_type
    h.update(headers or {})
    resp = request(method, path, body=body, headers=h, **kw)
    resp.payload = payload
    return resp


def modify_put(token, payload, *, if_match, key=None, raw=None, content_type=JSON, headers=None,
               **kw):
    """PUT /api/modify. if_match: the If-Match value (e.g. etag(1)), None to send none;
    key: an Idempotency-Key, none by default; raw: the exact body bytes."""
    return _write("PUT", MODIFY, token, payload, if_match=if_match, key=key, raw=raw,
                  content_type=content_type, headers=headers, **kw)


def modify_delete(token, *, if_match, headers=None, **kw):
    """DELETE /api/modify (no body). if_match None: no If-Match."""
    return _write("DELETE", MODIFY, token, None, if_match=if_match, headers=headers, **kw)


def restore(token, payload, *, if_match=None, raw=None, content_type=JSON, headers=None, **kw):
    """POST /api/restore with {"version": N} or {"undelete": true}."""
    return _write("POST", RESTORE, token, payload, if_match=if_match, raw=raw,
                  content_type=content_type, headers=headers, **kw)


def admin_password():
    """The administration password of the test environment ($FIABLE_VAR/admin-password)."""
    require_env()
    var = os.environ.get("FIABLE_VAR")
    if not var:
        raise EnvironmentMissing("FIABLE_VAR is not set. " + _ENV_HELP)
    with open(os.path.join(var, "admin-password"), encoding="utf-8") as f:
        return f.read().strip()


def basic_auth(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode("utf-8")).decode()


def admin_restore(payload, *, authorization=_DEFAULT, headers=None, **kw):
    """POST /api/admin/restore, as user admin by default (authorization: the Authorization
    header value, None for none)."""
    if authorization is _DEFAULT:
        authorization = basic_auth("admin", admin_password())
    h = {"Authorization": authorization}
    h.update(headers or {})
    return _write("POST", ADMIN_RESTORE, None, payload, if_match=None, headers=h, **kw)


def modify_link(email_address, *, source_address, raw=None, headers=None, **kw):
    """POST /api/modify/link {"email": ...} from source_address (see link_source())."""
    h = {"Content-Type": JSON}
    h.update(headers or {})
    payload = {"email": email_address}
    body = raw if raw is not None else encode_json(payload)
    resp = request("POST", MODIFY_LINK, body=body, headers=h, source_address=source_address,
                   **kw)
    resp.payload = payload
    return resp


_link_sources = set()


def link_source():
    """A loopback source address (127.0.0.N, 100 <= N <= 250, then 3..99) that no link
    request came from in the last hour and that this process has not handed out yet: the
    per-address limit of POST /api/modify/link then counts one test's requests only."""
    used = {r[0] for r in sql("SELECT DISTINCT client_addr FROM modify_link_requests "
                              "WHERE created_at > now() - interval '1 hour'")}
    for n in list(range(100, 251)) + list(range(3, 100)):
        addr = "127.0.0.%d" % n
        if addr not in used and addr not in _link_sources:
            _link_sources.add(addr)
            return (addr, 0)
    raise AssertionError("no unused loopback source address left for link requests")


def audit_entries(submission_id, action):
    """[actor, client_addr, user_agent] of the audit rows of one action on a submission,
    oldest first."""
    return sql("SELECT actor, client_addr, user_agent FROM audit_logs "
               "WHERE entity_id = :'p1' AND action = :'p2' ORDER BY id", submission_id, action)


def audit_count(submission_id):
    """Audit rows about a submission, whatever the action."""
    return sql_int("SELECT count(*) FROM audit_logs WHERE entity_id = :'p1'", submission_id)


class ModifyTestCase(FiableTestCase):
    """Assertions on the representation answered by /api/modify and the restorations."""

    def assertRepresentation(self, resp, submission_id, content=None, version=None,
                             withdrawn=None):
        """A 200 representation of submission_id (with these content fields, version and
        withdrawal state when given), its ETag, and the same values in the stored row.
        Returns the body."""
        self.assertStatus(resp, 200)
        self.assertMediaType(resp, JSON)
        body = resp.json()
        self.assertIsInstance(body, dict, resp.describe())
        self.assertEqual(set(body), REPRESENTATION_KEYS,
                         "the representation does not have exactly the expected keys\n"
                         + resp.describe())
        self.assertEqual(body["id"], submission_id, resp.describe())
        if content is not None:
            self.assertEqual(content_of(body), content_of(content),
                             "unexpected content\n" + resp.describe())
        self.assertIsInstance(body["version"], int, resp.describe())
        if version is not None:
            self.assertEqual(body["version"], version, "unexpected version\n" + resp.describe())
        self.assertEqual(resp.header("ETag"), etag(body["version"]),
                         "the ETag does not match the version\n" + resp.describe())
        parse_iso(body["created_at"])
        parse_iso(body["updated_at"])
        if body["deleted_at"] is not None:
            parse_iso(body["deleted_at"])
        if withdrawn is not None:
            self.assertEqual(body["deleted_at"] is not None, withdrawn,
                             "unexpected deleted_at\n" + resp.describe())
        self.assertIsInstance(body["historique"], list, resp.describe())
        self.assertEqual(len(body["historique"]), body["version"] - 1,
                         "the history should hold one entry per version after the first\n"
                         + resp.describe())
        self.assertNotIn(b"edit_token", resp.body, resp.describe())

        row = submission_row(submission_id)
        self.assertIsNotNone(row, "no row %s\n%s" % (submission_id, resp.describe()))
        self.assertEqual(content_of(row), content_of(body),
                         "the stored row differs from the answer\n" + resp.describe())
        self.assertEqual(row["version"], body["version"], "stored version\n" + resp.describe())
        self.assertEqual(row["historique"], body["historique"],
                         "historique differs from historique_modifications\n" + resp.describe())
        self.assertEqual(row["deleted_at"] is None, body["deleted_at"] is None,
                         "stored deleted_at\n" + resp.describe())
        self.assertAlmostEqual(parse_iso(body["created_at"]).timestamp(), row["created_epoch"],
                               delta=0.01, msg="created_at differs from the row's")
        self.assertAlmostEqual(parse_iso(body["updated_at"]).timestamp(), row["updated_epoch"],
                               delta=0.01, msg="updated_at differs from the row's")
        return body

    def assertHistoryEntry(self, entry, version, champs, resp=None):
        """One history entry: version -> version + 1, changing exactly the fields of champs
        ({field: (avant, apres)}; a value of ANY is not compared)."""
        where = "\n" + resp.describe() if resp is not None else ""
        self.assertIsInstance(entry, dict, where)
        self.assertEqual(set(entry), {"version", "nouvelle_version", "modifie_le", "champs"},
                         "unexpected keys in a history entry: %r%s" % (entry, where))
        self.assertEqual(entry["version"], version, "entry %r%s" % (entry, where))
        self.assertEqual(entry["nouvelle_version"], version + 1, "entry %r%s" % (entry, where))
        parse_iso(entry["modifie_le"])
        self.assertEqual(set(entry["champs"]), set(champs),
                         "the entry does not name exactly the changed fields: %r%s"
                         % (entry, where))
        for field, (avant, apres) in champs.items():
            change = entry["champs"][field]
            self.assertEqual(set(change), {"avant", "apres"}, "entry %r%s" % (entry, where))
            if avant is not ANY:
                self.assertEqual(change["avant"], avant, "%s.avant in %r%s"
                                 % (field, entry, where))
            if apres is not ANY:
                self.assertEqual(change["apres"], apres, "%s.apres in %r%s"
                                 % (field, entry, where))

    def assertUnchanged(self, submission_id, before, resp=None):
        """The stored row equals the snapshot `before` (a submission_row() dict)."""
        after = submission_row(submission_id)
        self.assertEqual(after, before, "the submission was changed"
                         + ("\n" + resp.describe() if resp is not None else ""))

