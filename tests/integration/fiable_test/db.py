"""SQL through psql (superuser on the test database), the stored rows the tests look at, and
the hashes of the Idempotency-Keys they send."""

import csv
import glob
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import time

from .env import EnvironmentMissing, _ENV_HELP, ceiling, require_env

# psql prints CSV (values holding "," or newlines come back intact) with NULL as this marker.
_NULL = "\x15NULL\x15"


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


def audit_entries(submission_id, action):
    """[actor, client_addr, user_agent] of the audit rows of one action on a submission,
    oldest first."""
    return sql("SELECT actor, client_addr, user_agent FROM audit_logs "
               "WHERE entity_id = :'p1' AND action = :'p2' ORDER BY id", submission_id, action)


def audit_count(submission_id):
    """Audit rows about a submission, whatever the action (not those of another entity with
    the same id: a participant, a slot)."""
    return sql_int("SELECT count(*) FROM audit_logs WHERE entity = 'soumissions_disponibilites' "
                   "AND entity_id = :'p1'", submission_id)
