#!/usr/bin/env python3
"""POST /api/submit refusals: field validation, size, media type, JSON, method, origin.
Every refusal is a problem+json answer with a stable code, and stores nothing."""

import json
import os
import sys
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import submit  # noqa: E402

MAX_BODY = 65536


def setUpModule():
    ft.require_env()


class FieldValidationTest(ft.FiableTestCase):

    def check_invalid(self, fields, remove=(), **overrides):
        payload = ft.valid_payload(**overrides)
        for name in remove:
            del payload[name]
        before = ft.max_submission_id()
        resp = submit(payload)
        self.assertValidationErrors(resp, fields)
        self.assertNothingStored(resp, before)
        return resp

    # --- email

    def test_email_without_at(self):
        self.check_invalid({"email"}, email="pas-une-adresse.example.org")

    def test_email_too_long(self):
        email = "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".example.org"
        self.assertGreater(len(email), 254)
        self.check_invalid({"email"}, email=email)

    def test_email_with_spaces(self):
        self.check_invalid({"email"}, email="jean dupont-%s@example.org" % uuid.uuid4().hex)

    def test_email_empty(self):
        self.check_invalid({"email"}, email="   ")

    def test_email_missing(self):
        self.check_invalid({"email"}, remove=("email",))

    def test_email_not_a_string(self):
        self.check_invalid({"email"}, email=["a@example.org"])

    # --- nom

    def test_nom_empty(self):
        self.check_invalid({"nom"}, nom="")

    def test_nom_only_spaces(self):
        self.check_invalid({"nom"}, nom="     ")

    def test_nom_missing(self):
        self.check_invalid({"nom"}, remove=("nom",))

    def test_nom_too_long_ascii(self):
        self.check_invalid({"nom"}, nom="a" * 101)

    def test_nom_too_long_counts_characters(self):
        # 101 characters (202 bytes) is too long; 100 "é" is accepted (test_submit).
        self.check_invalid({"nom"}, nom="é" * 101)

    def test_nom_with_control_character(self):
        self.check_invalid({"nom"}, nom="Jean\u0001Dupont")

    def test_nom_with_escape_character(self):
        self.check_invalid({"nom"}, nom="Jean\u001b[31mDupont")

    def test_nom_with_nul_character(self):
        # cJSON would cut the string at \u0000 ("Jean"): the body must be refused instead.
        payload = ft.valid_payload(nom="Jean\u0000Dupont")
        raw = ft.encode_json(payload)
        self.assertIn(b"\\u0000", raw)
        before = ft.max_submission_id()
        resp = submit(payload, raw=raw)
        self.assertProblemIn(resp, 400, ("validation_failed", "invalid_json"))
        self.assertNothingStored(resp, before)
        self.assertEqual(ft.sql_int("SELECT count(*) FROM soumissions_disponibilites "
                                    "WHERE email = :'p1'", payload["email"]), 0)

    def test_nom_not_a_string(self):
        for value in (123, ["Jean"], {"prenom": "Jean"}, True, None):
            with self.subTest(nom=value):
                self.check_invalid({"nom"}, nom=value)

    # --- creneaux

    def test_creneaux_missing(self):
        self.check_invalid({"creneaux"}, remove=("creneaux",))

    def test_creneaux_empty(self):
        self.check_invalid({"creneaux"}, creneaux=[])

    def test_creneaux_not_an_array(self):
        for value in (ft.valid_slots(1)[0], {"0": ft.valid_slots(1)[0]}, 1, None):
            with self.subTest(creneaux=value):
                self.check_invalid({"creneaux"}, creneaux=value)

    def test_creneaux_unknown_id(self):
        self.check_invalid({"creneaux"},
                           creneaux=ft.valid_slots(1) + ["inconnu-" + uuid.uuid4().hex[:12]])

    def test_creneaux_unknown_id_with_bad_characters(self):
        self.check_invalid({"creneaux"}, creneaux=["'); DROP TABLE creneaux;--"])

    def test_creneaux_duplicate_id(self):
        slot = ft.valid_slots(1)[0]
        self.check_invalid({"creneaux"}, creneaux=[slot, slot])

    def test_creneaux_non_string_item(self):
        for value in ([1], ft.valid_slots(1) + [2], [None], [["a"]]):
            with self.subTest(creneaux=value):
                self.check_invalid({"creneaux"}, creneaux=value)

    # --- commentaire

    def test_commentaire_too_long(self):
        self.check_invalid({"commentaire"}, commentaire="x" * 2001)

    def test_commentaire_too_long_counts_characters(self):
        self.check_invalid({"commentaire"}, commentaire="é" * 2001)

    def test_commentaire_not_a_string(self):
        for value in (42, ["texte"], {"a": 1}, False):
            with self.subTest(commentaire=value):
                self.check_invalid({"commentaire"}, commentaire=value)

    # --- several faults at once

    def test_all_faulty_fields_are_named_at_once(self):
        self.check_invalid({"email", "nom", "creneaux"}, email="pas-une-adresse", nom="",
                           creneaux=["inconnu-" + uuid.uuid4().hex[:12]])

    def test_four_faulty_fields(self):
        self.check_invalid({"email", "nom", "creneaux", "commentaire"}, email="a b@c",
                           nom="x" * 101, creneaux=[], commentaire=7)

    def test_empty_object(self):
        before = ft.max_submission_id()
        resp = submit({})
        self.assertValidationErrors(resp, {"email", "nom", "creneaux"})
        self.assertNothingStored(resp, before)


class RequestRefusalTest(ft.FiableTestCase):

    def padded_body(self, size):
        """A valid submission padded with white space (between its last member and the
        closing brace) to exactly size bytes."""
        payload = ft.valid_payload()
        base = ft.encode_json(payload)
        raw = base[:-1] + b" " * (size - len(base)) + b"}"
        self.assertEqual(len(raw), size)
        return payload, raw

    def test_body_of_exactly_64_kib_is_accepted(self):
        payload, raw = self.padded_body(MAX_BODY)
        resp = submit(payload, raw=raw)
        self.assertCreated(resp)
        self.assertEqual(ft.count_by_email(payload["email"]), 1)

    def test_body_just_over_64_kib_is_413(self):
        payload, raw = self.padded_body(MAX_BODY + 1)
        before = ft.max_submission_id()
        resp = submit(payload, raw=raw)
        self.assertProblem(resp, 413, "payload_too_large")
        # Answered by the program (nginx lets up to 128 KiB through), which sends no-store.
        self.assertEqual(resp.header("Cache-Control"), "no-store", resp.describe())
        self.assertNothingStored(resp, before)

    def test_body_of_200_kib_is_413_from_nginx(self):
        payload, raw = self.padded_body(200 * 1024)
        before = ft.max_submission_id()
        resp = submit(payload, raw=raw)
        self.assertProblem(resp, 413, "payload_too_large")
        self.assertNothingStored(resp, before)

    def test_other_media_types_are_415(self):
        for content_type in ("text/plain", "application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=x", "application/jsonp",
                             "text/json", None):
            with self.subTest(content_type=content_type):
                payload = ft.valid_payload()
                before = ft.max_submission_id()
                resp = submit(payload, content_type=content_type)
                self.assertProblem(resp, 415, "unsupported_media_type")
                self.assertNothingStored(resp, before)

    def test_form_encoded_body_is_415(self):
        payload = ft.valid_payload()
        raw = ("email=%s&nom=Test&creneaux=%s" % (payload["email"], payload["creneaux"][0]))
        before = ft.max_submission_id()
        resp = submit(payload, raw=raw.encode(), content_type="application/x-www-form-urlencoded")
        self.assertProblem(resp, 415, "unsupported_media_type")
        self.assertNothingStored(resp, before)

    def test_unparseable_json_is_400(self):
        payload = ft.valid_payload()
        good = ft.encode_json(payload)
        bodies = {
            "truncated": good[:-1],
            "not json": b"email=a@b.org",
            "empty": b"",
            "single quotes": good.replace(b'"', b"'"),
            "trailing data": good + b" x",
            "two objects": good + good,
            "trailing comma": good[:-1] + b",}",
        }
        for name, raw in bodies.items():
            with self.subTest(body=name):
                before = ft.max_submission_id()
                resp = submit(payload, raw=raw)
                self.assertProblem(resp, 400, "invalid_json")
                self.assertNothingStored(resp, before)

    def test_json_that_is_not_an_object_is_400(self):
        payload = ft.valid_payload()
        for raw in (json.dumps([payload]), "null", "42", '"texte"', "true", "[]"):
            with self.subTest(body=raw[:40]):
                before = ft.max_submission_id()
                resp = submit(payload, raw=raw.encode())
                self.assertProblem(resp, 400, "invalid_json")
                self.assertNothingStored(resp, before)

    def test_invalid_utf8_is_400(self):
        payload = ft.valid_payload(nom="Jean")
        raw = ft.encode_json(payload).replace(b'"Jean"', b'"Je\xffan"')
        self.assertIn(b"\xff", raw)
        before = ft.max_submission_id()
        resp = submit(payload, raw=raw)
        self.assertProblemIn(resp, 400, ("invalid_json", "validation_failed"))
        self.assertNothingStored(resp, before)

    def test_other_methods_are_405(self):
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            with self.subTest(method=method):
                before = ft.max_submission_id()
                body = ft.encode_json(ft.valid_payload()) if method in ("PUT", "PATCH") else None
                headers = {"Idempotency-Key": ft.new_key()}
                if body is not None:
                    headers["Content-Type"] = "application/json"
                resp = ft.request(method, ft.SUBMIT, body=body, headers=headers)
                self.assertProblem(resp, 405, "method_not_allowed")
                allow = [m.strip().upper() for m in (resp.header("Allow") or "").split(",")
                         if m.strip()]
                self.assertIn("POST", allow, "no `Allow: POST`\n" + resp.describe())
                for m in ("GET", "PUT", "DELETE", "PATCH"):
                    self.assertNotIn(m, allow, resp.describe())
                self.assertNothingStored(resp, before)


class OriginTest(ft.FiableTestCase):

    def test_foreign_origin_is_403(self):
        for origin in ("https://evil.example", "null", ft.own_origin() + ".evil.example",
                       "https://" + ft.own_origin()[len("http://"):]):
            with self.subTest(origin=origin):
                before = ft.max_submission_id()
                payload = ft.valid_payload()
                resp = submit(payload, headers={"Origin": origin})
                self.assertProblem(resp, 403, "forbidden_origin")
                self.assertNothingStored(resp, before)

    def test_cross_site_fetch_without_origin_is_403(self):
        before = ft.max_submission_id()
        resp = submit(ft.valid_payload(), headers={"Sec-Fetch-Site": "cross-site"})
        self.assertProblem(resp, 403, "forbidden_origin")
        self.assertNothingStored(resp, before)

    def test_own_origin_is_accepted(self):
        payload = ft.valid_payload()
        resp = submit(payload, headers={"Origin": ft.own_origin(),
                                        "Sec-Fetch-Site": "same-origin"})
        self.assertCreated(resp)
        self.assertEqual(ft.count_by_email(payload["email"]), 1)

    def test_own_origin_by_another_name_on_a_non_default_port(self):
        """The stack's nginx includes Debian's stock fastcgi_params, which passes HTTP_HOST as
        nginx's $host: without the port. A browser that reaches the site as localhost:PORT
        (not PUBLIC_URL's 127.0.0.1:PORT, and without FIABLE_ALLOWED_ORIGINS) sends Origin
        http://localhost:PORT: accepted, because the request came in on that port; another
        port of the same host is another origin."""
        conf = os.path.join(os.environ["FIABLE_VAR"], "nginx", "nginx.conf")
        with open(conf, encoding="utf-8") as f:
            self.assertIn("include /etc/nginx/fastcgi_params;", f.read())
        with open("/etc/nginx/fastcgi_params", encoding="utf-8") as f:
            host_params = [line.split() for line in f
                           if line.split()[:2] == ["fastcgi_param", "HTTP_HOST"]]
        _, port, _ = ft._split_base()
        self.assertNotEqual(port, 80)
        name = "localhost:%d" % port
        self.assertNotIn(name, os.environ.get("FIABLE_ALLOWED_ORIGINS", ""))
        payload = ft.valid_payload()
        resp = submit(payload, headers={"Host": name, "Origin": "http://" + name})
        self.assertCreated(resp)
        self.assertEqual(ft.count_by_email(payload["email"]), 1)
        for origin in ("http://localhost:%d" % (port + 1), "http://localhost",
                       "https://" + name, "http://" + name + ".evil.example"):
            with self.subTest(origin=origin):
                before = ft.max_submission_id()
                resp = submit(ft.valid_payload(), headers={"Host": name, "Origin": origin})
                self.assertProblem(resp, 403, "forbidden_origin")
                self.assertNothingStored(resp, before)
        print("HTTP_HOST in /etc/nginx/fastcgi_params: %s" % (host_params or "(not set: the "
              "Host header, with its port)"), file=sys.stderr)

    def test_same_origin_fetch_without_origin_is_accepted(self):
        payload = ft.valid_payload()
        self.assertCreated(submit(payload, headers={"Sec-Fetch-Site": "same-origin"}))


if __name__ == "__main__":
    unittest.main(verbosity=2)
