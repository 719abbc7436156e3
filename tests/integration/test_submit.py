#!/usr/bin/env python3
"""POST /api/submit: creation, what is stored, idempotency, duplicates, verbatim storage."""

import base64
import concurrent.futures
import datetime
import os
import re
import sys
import threading
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import sql, sql_int, sql_one, submit  # noqa: E402

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22,}$")


def setUpModule():
    ft.require_env()


def parse_timestamp(text):
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("timestamp without a time zone: %r" % text)
    return value


class CreateTest(ft.FiableTestCase):

    def test_create_returns_201_and_stores_one_row(self):
        payload = ft.valid_payload(nom="Élodie Durand", commentaire="Plutôt le matin.")
        metric_before = ft.max_metric_id()
        resp = submit(payload)
        body = self.assertCreated(resp)

        # The answer.
        self.assertEqual(set(body), {"id", "email", "nom", "creneaux", "commentaire", "version",
                                     "created_at", "edit_token"}, resp.describe())
        self.assertIsInstance(body["id"], int, resp.describe())
        self.assertEqual(body["email"], payload["email"], resp.describe())
        self.assertEqual(body["nom"], payload["nom"], resp.describe())
        self.assertEqual(body["creneaux"], payload["creneaux"], resp.describe())
        self.assertEqual(body["commentaire"], payload["commentaire"], resp.describe())
        self.assertEqual(body["version"], 1, resp.describe())
        self.assertEqual(resp.header("ETag"), '"v1"', resp.describe())
        self.assertEqual(resp.header("Cache-Control"), "no-store", resp.describe())
        token = body["edit_token"]
        self.assertIsInstance(token, str, resp.describe())
        self.assertRegex(token, TOKEN_RE, "edit_token is not a url-safe string of >= 22 chars")
        # At least 128 bits: 22 base64url characters carry 132 bits.
        self.assertGreaterEqual(len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))),
                                16, "edit_token carries fewer than 128 bits")
        created = parse_timestamp(body["created_at"])

        # The row.
        self.assertEqual(ft.count_by_email(payload["email"]), 1)
        row = ft.submission_row(body["id"])
        self.assertIsNotNone(row, "no row with the returned id\n" + resp.describe())
        self.assertEqual(row["email"], payload["email"])
        self.assertEqual(row["nom"], payload["nom"])
        self.assertEqual(row["creneaux"], payload["creneaux"])
        self.assertEqual(row["commentaire"], payload["commentaire"])
        self.assertEqual(row["version"], 1)
        self.assertIsNone(row["deleted_at"])
        self.assertEqual(row["historique"], [])
        self.assertAlmostEqual(created.timestamp(), row["created_epoch"], delta=1.0,
                               msg="created_at of the answer differs from the row's")

        # Only sha256(edit_token) is stored, and the token itself is nowhere in the database.
        self.assertEqual(row["hash"], ft.sha256_hex(token))
        self.assertEqual(sql_one("SELECT edit_token_hash = sha256(convert_to(:'p1', 'UTF8')) "
                                 "FROM soumissions_disponibilites WHERE id = :'p2'::bigint",
                                 token, body["id"]), "t")
        for table in ("soumissions_disponibilites", "idempotency_keys", "audit_logs",
                      "request_metrics"):
            with self.subTest(table=table):
                self.assertEqual(
                    sql_int("SELECT count(*) FROM %s AS t WHERE strpos(t::text, :'p1') > 0" % table,
                            token), 0, "the edit token is stored in %s" % table)

        # The idempotency record.
        rows = sql("SELECT status_code, submission_id, strpos(coalesce(response_body, ''), "
                   ":'p2') FROM idempotency_keys WHERE key_sha256 = decode(:'p1', 'hex')",
                   ft.key_sha256(resp.key), token)
        self.assertEqual(len(rows), 1, "no idempotency_keys row for the key")
        self.assertEqual(rows[0][0], "201")
        self.assertEqual(rows[0][1], str(body["id"]))
        self.assertEqual(rows[0][2], "0", "the edit token is in idempotency_keys.response_body")

        # One audit row.
        audit = sql("SELECT action, client_addr, user_agent, coalesce(request_id, '') "
                    "FROM audit_logs WHERE entity = 'soumissions_disponibilites' "
                    "AND entity_id = :'p1'", body["id"])
        self.assertEqual(len(audit), 1, "expected one audit row, got %r" % audit)
        action, client_addr, user_agent, request_id = audit[0]
        self.assertEqual(action, "submission.create")
        self.assertEqual(client_addr, "127.0.0.1")
        self.assertEqual(user_agent, resp.user_agent)
        self.assertTrue(request_id.strip(), "audit row without request_id")

        # One metric row for this request (it may be written just after the answer).
        def metrics():
            return sql_int("SELECT count(*) FROM request_metrics WHERE id > :'p1'::bigint "
                           "AND endpoint = '/api/submit' AND status = 201 AND method = 'POST'",
                           metric_before)
        self.wait_for(metrics, 5, "no request_metrics row for /api/submit 201")
        self.assertEqual(metrics(), 1, "expected exactly one request_metrics row")

    def test_commentaire_is_optional(self):
        payload = ft.valid_payload()
        del payload["commentaire"]
        body = self.assertCreated(submit(payload))
        self.assertIn(body.get("commentaire"), ("", None))
        self.assertEqual(ft.submission_row(body["id"])["commentaire"], "")

    def test_edit_tokens_differ_between_submissions(self):
        a = self.assertCreated(submit(ft.valid_payload()))
        b = self.assertCreated(submit(ft.valid_payload()))
        self.assertNotEqual(a["edit_token"], b["edit_token"])
        self.assertNotEqual(a["id"], b["id"])

    def test_strings_are_trimmed(self):
        email = ft.unique_email()
        payload = ft.valid_payload(email="  %s  " % email, nom="  Jean Dupont \t ")
        resp = submit(payload)
        body = self.assertCreated(resp)
        self.assertEqual(body["email"], email, resp.describe())
        self.assertEqual(body["nom"], "Jean Dupont", resp.describe())
        row = ft.submission_row(body["id"])
        self.assertEqual(row["email"], email)
        self.assertEqual(row["nom"], "Jean Dupont")

    def test_unknown_fields_are_refused_and_named(self):
        """A member the endpoint does not know is refused, never dropped in silence: a
        misspelled "commentair" would lose what the person typed."""
        payload = ft.valid_payload(admin=True, version=99, id=1, deleted_at="2020-01-01",
                                   extra={"a": [1, 2]})
        before = ft.max_submission_id()
        resp = submit(payload)
        p = self.assertValidationErrors(resp, {"admin", "version", "id", "deleted_at", "extra"})
        self.assertIn("inconnu", p["errors"]["extra"], resp.describe())
        self.assertNothingStored(resp, before)
        # The misspelling of the issue, beside a faulty field: both named at once.
        payload = ft.valid_payload(email="pas-une-adresse")
        payload["commentair"] = payload.pop("commentaire")
        resp = submit(payload)
        self.assertValidationErrors(resp, {"email", "commentair"})
        self.assertNothingStored(resp, before)
        # Fixed, the same content goes through.
        payload["commentaire"] = payload.pop("commentair")
        payload["email"] = ft.unique_email()
        body = self.assertCreated(submit(payload))
        self.assertEqual(body["commentaire"], payload["commentaire"])

    def test_member_names_must_be_utf8(self):
        payload = ft.valid_payload()
        good = ft.encode_json(payload)
        for name, raw in (("invalid byte", good[:-1] + b',"comm\xffntaire":"x"}'),
                          ("overlong", good[:-1] + b',"\xc0\xaf":1}'),
                          ("surrogate", good[:-1] + b',"\xed\xa0\x80":1}'),
                          ("in a known member's place", good.replace(b'"nom"', b'"n\xffm"'))):
            with self.subTest(name=name):
                before = ft.max_submission_id()
                resp = submit(payload, raw=raw)
                self.assertProblem(resp, 400, "invalid_json")
                self.assertNothingStored(resp, before)

    def test_json_with_charset_is_accepted(self):
        resp = submit(ft.valid_payload(), content_type="application/json; charset=utf-8")
        self.assertCreated(resp)

    def test_limits_are_inclusive(self):
        # 100 characters of two bytes each, 2000 characters of comment, a 254-character e-mail.
        local = "b-" + uuid.uuid4().hex
        local += "x" * (64 - len(local))
        domain = "c" * 63 + "." + "d" * 63 + "." + "e" * 57 + ".org"
        email = local + "@" + domain
        self.assertEqual(len(email), 254)
        payload = ft.valid_payload(email=email, nom="é" * 100, commentaire="ü" * 2000)
        resp = submit(payload)
        body = self.assertCreated(resp)
        row = ft.submission_row(body["id"])
        self.assertEqual(row["email"], email)
        self.assertEqual(row["nom"], "é" * 100)
        self.assertEqual(row["commentaire"], "ü" * 2000)

    def test_commentaire_keeps_line_breaks(self):
        commentaire = "Ligne 1\nLigne 2\n\tindentée"
        body = self.assertCreated(submit(ft.valid_payload(commentaire=commentaire)))
        self.assertEqual(body["commentaire"], commentaire)
        self.assertEqual(ft.submission_row(body["id"])["commentaire"], commentaire)


class IdempotencyTest(ft.FiableTestCase):

    def test_replay_is_byte_identical(self):
        payload = ft.valid_payload()
        key = ft.new_key()
        raw = ft.encode_json(payload)
        first = submit(payload, key=key, raw=raw)
        body = self.assertCreated(first)
        second = submit(payload, key=key, raw=raw)
        self.assertEqual(second.status, first.status, second.describe())
        self.assertEqual(second.body, first.body,
                         "replayed body differs\nfirst:\n%s\nsecond:\n%s"
                         % (first.describe(), second.describe()))
        self.assertEqual(second.header("ETag"), first.header("ETag"), second.describe())
        self.assertEqual(second.media_type, first.media_type)
        self.assertEqual(ft.count_by_email(payload["email"]), 1)
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE entity_id = :'p1' "
                                 "AND action = 'submission.create'", body["id"]), 1,
                         "the replay wrote a second audit row")
        self.assertEqual(ft.audit_rows_for_agent(second.user_agent), 0,
                         "the replay wrote an audit row")

    def test_key_is_case_insensitive_uuid(self):
        payload = ft.valid_payload()
        key = ft.new_key()
        raw = ft.encode_json(payload)
        first = submit(payload, key=key, raw=raw)
        self.assertCreated(first)
        second = submit(payload, key=key.upper(), raw=raw)
        self.assertEqual(second.status, 201, second.describe())
        self.assertEqual(second.body, first.body, second.describe())
        self.assertEqual(ft.count_by_email(payload["email"]), 1)

    def test_key_as_a_structured_field_string(self):
        """The Idempotency-Key draft writes the key as an sf-string: "…"."""
        payload = ft.valid_payload()
        key = ft.new_key()
        raw = ft.encode_json(payload)
        first = submit(payload, key='"%s"' % key, raw=raw)
        self.assertCreated(first)
        second = submit(payload, key=key, raw=raw)
        self.assertEqual((second.status, second.body), (201, first.body), second.describe())
        self.assertEqual(ft.count_by_email(payload["email"]), 1)
        for bad in ('"%s' % key, '""%s""' % key, "'%s'" % key):
            with self.subTest(key=bad):
                self.assertProblem(submit(ft.valid_payload(), key=bad), 400,
                                   "idempotency_key_invalid")

    def test_concurrent_requests_with_one_key_store_one_row(self):
        payload = ft.valid_payload()
        key = ft.new_key()
        raw = ft.encode_json(payload)
        n = 20
        barrier = threading.Barrier(n)

        def send(_):
            barrier.wait(timeout=30)
            return submit(payload, key=key, raw=raw, timeout=60)

        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            responses = list(pool.map(send, range(n)))
        statuses = sorted(r.status for r in responses)
        bad = [r for r in responses if r.status != 201]
        self.assertFalse(bad, "statuses %r; first non-201:\n%s"
                         % (statuses, bad[0].describe() if bad else ""))
        bodies = {r.body for r in responses}
        self.assertEqual(len(bodies), 1, "the 20 answers are not byte-identical: %r" % bodies)
        self.assertEqual({r.header("ETag") for r in responses}, {'"v1"'})
        self.assertEqual(ft.count_by_email(payload["email"]), 1)
        sid = responses[0].json()["id"]
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE entity_id = :'p1' "
                                 "AND action = 'submission.create'", sid), 1)
        self.assertEqual(ft.idempotency_rows(key), 1)

    def test_same_key_other_payload_is_422(self):
        payload = ft.valid_payload()
        key = ft.new_key()
        self.assertCreated(submit(payload, key=key))
        before = ft.max_submission_id()
        other = dict(payload, nom="Quelqu'un d'autre")
        resp = submit(other, key=key)
        self.assertProblem(resp, 422, "idempotency_key_reused")
        self.assertEqual(ft.max_submission_id(), before)
        self.assertEqual(ft.audit_rows_for_agent(resp.user_agent), 0)
        # Another e-mail under the same key is refused too, and not stored.
        third = dict(payload, email=ft.unique_email())
        resp = submit(third, key=key)
        self.assertProblem(resp, 422, "idempotency_key_reused")
        self.assertEqual(ft.count_by_email(third["email"]), 0)
        self.assertEqual(ft.count_by_email(payload["email"]), 1)

    def test_missing_key_is_400(self):
        before = ft.max_submission_id()
        resp = submit(ft.valid_payload(), key=None)
        self.assertProblem(resp, 400, "idempotency_key_missing")
        self.assertNothingStored(resp, before)

    def test_malformed_key_is_400(self):
        for key in ("not-a-uuid", "12345", str(uuid.uuid4()) + "x",
                    "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "' OR 1=1 --"):
            with self.subTest(key=key):
                before = ft.max_submission_id()
                resp = submit(ft.valid_payload(), key=key)
                self.assertProblem(resp, 400, "idempotency_key_invalid")
                self.assertNothingStored(resp, before)


class DuplicateEmailTest(ft.FiableTestCase):

    def _check_duplicate(self, first_email, second_email):
        self.assertCreated(submit(ft.valid_payload(email=first_email)))
        before = ft.max_submission_id()
        resp = submit(ft.valid_payload(email=second_email, nom="Deuxième envoi"))
        self.assertProblem(resp, 409, "already_submitted")
        self.assertEqual(ft.count_by_email(first_email), 1)
        self.assertEqual(ft.max_submission_id(), before, "a row was stored")
        self.assertEqual(ft.idempotency_rows(resp.key), 0, "the 409 was stored under its key")
        self.assertEqual(ft.audit_rows_for_agent(resp.user_agent), 0, "an audit row was stored")
        self.assertEqual(sql_int("SELECT count(*) FROM soumissions_disponibilites "
                                 "WHERE nom = 'Deuxième envoi' AND lower(email) = lower(:'p1')",
                                 second_email), 0)

    def test_same_email_is_409(self):
        email = ft.unique_email()
        self._check_duplicate(email, email)

    def test_email_differing_in_case_is_409(self):
        local = "alice-" + uuid.uuid4().hex
        self._check_duplicate(local.capitalize() + "@Example.org", local + "@example.org")

    def test_email_differing_in_case_is_409_reverse(self):
        local = "bob-" + uuid.uuid4().hex
        self._check_duplicate(local + "@example.org", local.upper() + "@EXAMPLE.ORG")

    def test_deleted_submission_does_not_block(self):
        email = ft.unique_email()
        first = self.assertCreated(submit(ft.valid_payload(email=email)))
        sql("UPDATE soumissions_disponibilites SET deleted_at = now() WHERE id = :'p1'::bigint",
            first["id"])
        second = self.assertCreated(submit(ft.valid_payload(email=email)))
        self.assertNotEqual(first["id"], second["id"])


class VerbatimTest(ft.FiableTestCase):

    def _roundtrip(self, nom, commentaire, email=None):
        payload = ft.valid_payload(nom=nom, commentaire=commentaire)
        if email is not None:
            payload["email"] = email
        resp = submit(payload)
        body = self.assertCreated(resp)
        self.assertEqual(body["nom"], nom, resp.describe())
        self.assertEqual(body["commentaire"], commentaire, resp.describe())
        self.assertEqual(body["email"], payload["email"], resp.describe())
        self.assertEqual(sql_one("SELECT nom = :'p1' AND commentaire = :'p2' AND email = :'p3' "
                                 "FROM soumissions_disponibilites WHERE id = :'p4'::bigint",
                                 nom, commentaire, payload["email"], body["id"]), "t",
                         "the row is not stored verbatim: %r" % ft.submission_row(body["id"]))
        self.assertEqual(sql_one("SELECT to_regclass('public.soumissions_disponibilites') "
                                 "IS NOT NULL"), "t")
        return body

    def test_sql_injection_is_stored_verbatim(self):
        self._roundtrip("Robert'); DROP TABLE soumissions_disponibilites;--",
                        "'; DELETE FROM audit_logs; SELECT '1\" OR \"1\"=\"1 \\'; --")

    def test_html_is_stored_verbatim(self):
        self._roundtrip("<script>alert(1)</script>", "\"&<>  <img src=x onerror=alert(1)>")

    def test_apostrophe_in_email_is_stored_verbatim(self):
        self._roundtrip("O'Brien", "&amp; %s %n {{7*7}} ${x}",
                        email="o'brien-%s@example.org" % uuid.uuid4().hex)

    def test_unicode_is_stored_verbatim(self):
        self._roundtrip("Zoë Ŝtraße 山田 🙂", "Émoji 🙂 et guillemets « français »")


if __name__ == "__main__":
    unittest.main(verbosity=2)
