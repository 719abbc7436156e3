"""The test cases' assertions: statuses, RFC 9457 problems in French, nothing stored, and the
representation answered by /api/modify and the restorations."""

import re
import time
import unittest

from .db import key_sha256, sql, submission_row
from .env import ceiling
from .web import ANY, JSON, PROBLEM_JSON, REPRESENTATION_KEYS, content_of, etag, parse_iso

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
        # The French page of the code (static/problemes/), or about:blank.
        self.assertIn(p.get("type"), ("/problemes/%s.html" % p.get("code"), "about:blank"),
                      "problem.type\n" + resp.describe())
        # The occurrence: nginx's $request_id, the header a person reads and the logs' req=
        # (a stored answer replayed for its Idempotency-Key names the first request).
        self.assertRegex(resp.header("X-Request-Id") or "", r"^[0-9a-f]{32}$",
                         "X-Request-Id\n" + resp.describe())
        self.assertRegex(p.get("instance") or "", r"^urn:fiable:requete:[0-9a-f]{32}$",
                         "problem.instance\n" + resp.describe())
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
