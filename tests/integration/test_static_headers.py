#!/usr/bin/env python3
"""The static files as nginx serves them (deploy/nginx/fiable, the shipped site): pages,
modules and styles revalidated on every visit (Cache-Control: no-cache, an ETag, 304 when
unchanged), so that after a deploy a new page never runs with an old script; JavaScript and
CSS in UTF-8; the security headers on everything, HSTS included."""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402

# path -> the media type nginx must name (then "; charset=utf-8" for text)
REVALIDATED = {
    "/": "text/html",
    "/c/demo/": "text/html",
    "/app.js": None,                     # application/javascript (Debian's mime.types)
    "/formulaire/campagne.js": None,
    "/commun/dom.js": None,
    "/style.css": "text/css",
    "/sw.js": None,
    "/manifest.webmanifest": "application/manifest+json",
}


def setUpModule():
    ft.require_env()


class StaticHeadersTest(ft.FiableTestCase):

    def test_pages_scripts_and_styles_are_revalidated_in_utf8(self):
        for path, media in REVALIDATED.items():
            with self.subTest(path=path):
                r = ft.get(path, headers={"Accept": "*/*"})
                self.assertEqual(r.status, 200, r.describe())
                self.assertEqual(r.header("Cache-Control"), "no-cache", r.describe())
                ctype = r.header("Content-Type")
                if media is None:
                    self.assertRegex(ctype, r"^(application|text)/javascript; charset=utf-8$",
                                     r.describe())
                else:
                    self.assertEqual(ctype, media + "; charset=utf-8", r.describe())
                etag = r.header("ETag")
                self.assertTrue(etag, "no ETag to revalidate with\n" + r.describe())
                again = ft.get(path, headers={"Accept": "*/*", "If-None-Match": etag})
                self.assertEqual(again.status, 304, again.describe())
                self.assertEqual(again.header("Cache-Control"), "no-cache", again.describe())

    def test_images_keep_ordinary_caching(self):
        r = ft.get("/icone.svg", headers={"Accept": "*/*"})
        self.assertEqual(r.status, 200, r.describe())
        self.assertIsNone(r.header("Cache-Control"), r.describe())

    def test_security_headers_on_every_answer(self):
        for path in ("/", "/app.js", "/nexiste-pas", "/api/nexiste-pas"):
            with self.subTest(path=path):
                r = ft.get(path, headers={"Accept": "*/*"})
                self.assertEqual(r.header("Strict-Transport-Security"), "max-age=63072000",
                                 r.describe())
                self.assertIn("default-src 'self'", r.header("Content-Security-Policy") or "")
                self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")


if __name__ == "__main__":
    unittest.main(verbosity=2)
