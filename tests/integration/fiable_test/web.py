"""HTTP: one request on a fresh connection, the endpoints of the form, modification,
restoration and edit links, and valid payloads."""

import base64
import datetime
import http.client
import json
import os
import uuid

from .db import record_key, sql
from .env import EnvironmentMissing, _ENV_HELP, _split_base, ceiling, own_origin, require_env

SUBMIT = "/api/submit"
FORM = "/api/form"
HEALTH = "/api/health"

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"


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
# Modification, withdrawal, restoration, edit links (test_modify, test_restore, test_link)

MODIFY = "/api/modify"
MODIFY_LINK = "/api/modify/link"
RESTORE = "/api/restore"
ADMIN_RESTORE = "/api/admin/restore"

# What GET/PUT/DELETE /api/modify and the restorations answer (never the edit token).
REPRESENTATION_KEYS = {"id", "email", "nom", "creneaux", "commentaire", "version", "created_at",
                       "updated_at", "deleted_at", "historique", "en_retard", "campagne",
                       "creneaux_connus"}
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


def admin_api(method, path, body=None, headers=None, *, raw=None, content_type=JSON):
    """A request of the organiser's API (/api/admin/…): the admin's password, our own Origin
    (admin writes from another site are refused), body as JSON or raw bytes."""
    h = {"Authorization": basic_auth("admin", admin_password()), "Origin": own_origin()}
    if content_type is not None and (body is not None or raw is not None):
        h["Content-Type"] = content_type
    h.update(headers or {})
    data = raw if raw is not None else (encode_json(body) if body is not None else None)
    return request(method, path, body=data, headers=h)
