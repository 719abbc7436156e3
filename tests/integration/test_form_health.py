#!/usr/bin/env python3
"""GET /api/form, GET /api/health, and the headers every response carries."""

import datetime
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import get, sql_json  # noqa: E402

FLAGS = ("autosave", "offline_queue", "modification", "email_links")


def setUpModule():
    ft.require_env()


def parse_timestamp(text):
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("timestamp without a time zone: %r" % text)
    return value


class FormTest(ft.FiableTestCase):

    def test_form(self):
        resp = get(ft.FORM)
        self.assertStatus(resp, 200)
        self.assertMediaType(resp, ft.JSON)
        self.assertEqual(resp.header("Cache-Control"), "no-store", resp.describe())
        form = resp.json()
        self.assertEqual(form.get("fuseau"), "Europe/Brussels", resp.describe())

        slots = form.get("creneaux")
        self.assertIsInstance(slots, list, resp.describe())
        self.assertTrue(slots, "the catalogue is empty\n" + resp.describe())
        catalogue = sql_json(
            "SELECT json_object_agg(id, json_build_object("
            "'libelle', label, "
            "'debut', extract(epoch FROM starts_at), 'fin', extract(epoch FROM ends_at), "
            "'jour', to_char(starts_at AT TIME ZONE 'Europe/Brussels', 'YYYY-MM-DD')))::text "
            "FROM creneaux")
        starts = []
        for slot in slots:
            self.assertIsInstance(slot, dict, resp.describe())
            self.assertTrue({"id", "debut", "fin", "libelle", "jour"} <= set(slot),
                            "slot lacks a field: %r" % slot)
            for field in ("id", "debut", "fin", "libelle", "jour"):
                self.assertIsInstance(slot[field], str, "slot.%s: %r" % (field, slot))
            self.assertIn(slot["id"], catalogue, "unknown slot in the form: %r" % slot)
            expected = catalogue[slot["id"]]
            debut = parse_timestamp(slot["debut"])
            fin = parse_timestamp(slot["fin"])
            self.assertAlmostEqual(debut.timestamp(), expected["debut"], delta=1, msg=slot)
            self.assertAlmostEqual(fin.timestamp(), expected["fin"], delta=1, msg=slot)
            self.assertLess(debut, fin, slot)
            self.assertEqual(slot["libelle"], expected["libelle"], slot)
            self.assertEqual(slot["jour"], expected["jour"], slot)
            starts.append(debut)
        self.assertEqual(starts, sorted(starts), "slots are not sorted by debut")
        self.assertEqual(len({s["id"] for s in slots}), len(slots), "a slot is listed twice")

        flags = form.get("fonctionnalites")
        self.assertIsInstance(flags, dict, resp.describe())
        stored = sql_json("SELECT json_object_agg(name, enabled)::text FROM feature_flags")
        for name in FLAGS:
            self.assertIn(name, flags, resp.describe())
            self.assertIsInstance(flags[name], bool, "fonctionnalites.%s" % name)
            if name in stored:
                self.assertEqual(flags[name], stored[name], "fonctionnalites.%s" % name)
        for name, value in flags.items():
            self.assertIsInstance(value, bool, "fonctionnalites.%s" % name)

    def test_form_lists_the_slots_the_submission_accepts(self):
        slots = [s["id"] for s in get(ft.FORM).json()["creneaux"]]
        resp = ft.submit(ft.valid_payload(creneaux=slots[:2]))
        self.assertCreated(resp)

    def test_form_follows_a_feature_flag(self):
        flag = "offline_queue"
        original = ft.sql_one("SELECT enabled FROM feature_flags WHERE name = :'p1'", flag)
        self.assertIn(original, ("t", "f"), "feature flag %s is not in feature_flags" % flag)
        wanted = "f" if original == "t" else "t"
        self.addCleanup(ft.sql, "UPDATE feature_flags SET enabled = :'p2'::boolean "
                        "WHERE name = :'p1'", flag, original)
        ft.sql("UPDATE feature_flags SET enabled = :'p2'::boolean WHERE name = :'p1'",
               flag, wanted)
        resp = get(ft.FORM)
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json()["fonctionnalites"][flag], wanted == "t", resp.describe())


class HealthTest(ft.FiableTestCase):

    def test_health(self):
        resp = get(ft.HEALTH)
        self.assertStatus(resp, 200)
        self.assertMediaType(resp, ft.JSON)
        self.assertEqual(resp.json().get("status"), "ok", resp.describe())
        self.assertEqual(resp.header("Cache-Control"), "no-store", resp.describe())

    def test_form_says_whether_receipts_are_mailed(self):
        # The test stack has an SMTP server: every answer gets a receipt.
        resp = get(ft.FORM)
        self.assertStatus(resp, 200)
        self.assertIs(resp.json().get("accuse_reception"), True, resp.describe())

    def test_health_ping(self):
        # The form's probe: the database only, nothing about backups or migrations.
        resp = get(ft.HEALTH + "?ping=1")
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json(), {"status": "ok", "database": "ok"}, resp.describe())
        self.assertEqual(resp.header("Cache-Control"), "no-store", resp.describe())


class HeadersTest(ft.FiableTestCase):

    def assertSecurityHeaders(self, resp):
        csp = resp.header("Content-Security-Policy") or ""
        self.assertIn("default-src 'self'", csp, "CSP\n" + resp.describe())
        self.assertIn("frame-ancestors 'none'", csp, "CSP\n" + resp.describe())
        self.assertEqual(len(resp.header_all("Content-Security-Policy")), 1,
                         "several CSP headers\n" + resp.describe())
        self.assertEqual(resp.header("X-Content-Type-Options"), "nosniff", resp.describe())

    def test_api_responses(self):
        responses = [
            get(ft.FORM),
            get(ft.HEALTH),
            ft.submit(ft.valid_payload()),                        # 201
            ft.submit(ft.valid_payload(email="x"), key=ft.new_key()),  # 400
            ft.submit(ft.valid_payload(), key=None),               # 400
            ft.request("GET", ft.SUBMIT),                          # 405
            ft.submit(ft.valid_payload(), content_type="text/plain"),  # 415
        ]
        for resp in responses:
            with self.subTest(request="%s %s -> %d" % (resp.method, resp.path, resp.status)):
                self.assertSecurityHeaders(resp)
                self.assertEqual(resp.header("Cache-Control"), "no-store", resp.describe())
        self.assertEqual([r.status for r in responses], [200, 200, 201, 400, 400, 405, 415])

    def test_nginx_responses(self):
        # Answers nginx makes itself: the 413 of a large body, an unknown API address, a page.
        big = ft.submit(ft.valid_payload(padding="x" * (200 * 1024)))
        self.assertProblem(big, 413, "payload_too_large")
        unknown = get("/api/nexiste-pas")
        self.assertStatus(unknown, 404)
        self.assertMediaType(unknown, ft.PROBLEM_JSON)
        root = get("/")
        for resp in (big, unknown, root):
            with self.subTest(request="%s %s -> %d" % (resp.method, resp.path, resp.status)):
                self.assertSecurityHeaders(resp)


if __name__ == "__main__":
    unittest.main(verbosity=2)
