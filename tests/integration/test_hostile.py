"""Hostile input over HTTP: each attempt gets a fast 4xx with a clear problem+json (or nginx's
own refusal for what never reaches a program), the workers survive, and nothing is stored."""

import http.client
import json
import socket
import time
import unittest

import fiable_test as ft

FAST_S = 2.0  # a refusal is immediate; this only catches a worker stuck on the input


class HostileInputTest(ft.FiableTestCase):

    @classmethod
    def setUpClass(cls):
        ft.require_dev()

    def setUp(self):
        self.pids_before = sorted(ft.worker_pids("submit"))
        self.max_id = ft.max_submission_id()

    def tearDown(self):
        # The workers that read the hostile input are still the same processes.
        self.assertEqual(sorted(ft.worker_pids("submit")), self.pids_before,
                         "a fiable-submit worker died on hostile input")
        self.assertEqual(ft.get(ft.HEALTH).status, 200)

    def refused(self, raw, status, codes, content_type=ft.JSON):
        start = time.monotonic()
        resp = ft.submit(raw=raw, content_type=content_type)
        elapsed = time.monotonic() - start
        self.assertProblemIn(resp, status, codes)
        self.assertLess(elapsed, FAST_S, "slow refusal: %s" % resp.describe())
        self.assertNothingStored(resp, self.max_id)
        return resp

    def test_invalid_utf8(self):
        for raw in (b'{"email":"a@b.be","nom":"\xff\xfe","creneaux":["x"]}',
                    b'{"email":"a@b.be","nom":"\xc0\xaf","creneaux":["x"]}',
                    b'{"email":"a@b.be","nom":"\xed\xa0\x80","creneaux":["x"]}'):
            with self.subTest(raw=raw):
                self.refused(raw, 400, ("invalid_json", "validation_failed"))

    def test_nul_bytes(self):
        payload = ft.valid_payload()
        for raw in (ft.encode_json(payload) + b"\x00",
                    ft.encode_json(payload).replace(b'"nom"', b'"n\x00om"'),
                    b"\x00" * 100):
            with self.subTest(raw=raw[:40]):
                self.refused(raw, 400, ("invalid_json",))

    def test_ten_megabytes(self):
        resp = self.refused(b'{"nom":"' + b"a" * (10 * 1024 * 1024) + b'"}', 413,
                            ("payload_too_large",))
        self.assertEqual(resp.media_type, ft.PROBLEM_JSON)

    def test_deep_nesting(self):
        for depth in (1500, 20000):
            raw = b'{"email":' + b"[" * depth + b"]" * depth + b"}"
            with self.subTest(depth=depth):
                self.refused(raw, 413 if len(raw) > 65536 else 400,
                             ("invalid_json", "payload_too_large", "validation_failed"))

    def test_huge_arrays(self):
        payload = ft.valid_payload(creneaux=["s%d" % i for i in range(6000)])
        resp = self.refused(ft.encode_json(payload), 400, ("validation_failed",))
        self.assertIn("creneaux", resp.json()["errors"])

    def test_wrong_types(self):
        for field, value in (("email", {"a": 1}), ("nom", 12), ("nom", True),
                             ("creneaux", {"0": "x"}), ("creneaux", [None]),
                             ("commentaire", ["x"])):
            with self.subTest(field=field, value=value):
                resp = self.refused(ft.encode_json(ft.valid_payload(**{field: value})), 400,
                                    ("validation_failed",))
                self.assertIn(field, resp.json()["errors"])

    def test_duplicate_keys(self):
        payload = ft.valid_payload()
        raw = ft.encode_json(payload)[:-1] + b',"email":"autre@example.org"}'
        self.refused(raw, 400, ("invalid_json",))

    def test_crlf_in_fields_that_reach_mails(self):
        for field, value in (("nom", "Alice\r\nBcc: victime@example.org"),
                             ("email", "alice@example.org\r\nBcc: victime@example.org"),
                             ("nom", "Alice\nSubject: faux")):
            with self.subTest(field=field):
                resp = self.refused(ft.encode_json(ft.valid_payload(**{field: value})), 400,
                                    ("validation_failed",))
                self.assertIn(field, resp.json()["errors"])

    def test_header_flood(self):
        host, port, _ = ft._split_base()
        body = ft.encode_json(ft.valid_payload())
        cases = {
            "many headers": "".join("X-Flood-%d: %s\r\n" % (i, "y" * 50) for i in range(2000)),
            "one huge header": "X-Huge: %s\r\n" % ("z" * 200000),
        }
        for name, extra in cases.items():
            with self.subTest(name=name):
                start = time.monotonic()
                with socket.create_connection((host, port), timeout=10) as s:
                    head = ("POST /api/submit HTTP/1.1\r\nHost: %s:%d\r\n"
                            "Content-Type: application/json\r\nIdempotency-Key: %s\r\n"
                            "Content-Length: %d\r\nConnection: close\r\n%s\r\n"
                            % (host, port, ft.new_key(), len(body), extra))
                    try:
                        s.sendall(head.encode("ascii") + body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    data = b""
                    try:
                        while True:
                            chunk = s.recv(65536)
                            if not chunk:
                                break
                            data += chunk
                    except (ConnectionResetError, socket.timeout):
                        pass
                status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
                self.assertTrue(400 <= status < 500, "%s: answered %r" % (name, data[:200]))
                self.assertLess(time.monotonic() - start, 5.0)
                self.assertEqual(ft.max_submission_id(), self.max_id)

    def test_injection_strings_are_data(self):
        nasty = ["'; DROP TABLE audit_logs; --", "<img src=x onerror=alert(1)>",
                 "${jndi:ldap://x}", "{{7*7}}", "%00%0d%0a", "\\u0000 littéral"]
        for text in nasty:
            with self.subTest(text=text):
                payload = ft.valid_payload(nom=text[:100], commentaire=text)
                resp = ft.submit(payload)
                self.assertCreated(resp)
                row = ft.submission_row(resp.json()["id"])
                self.assertEqual(row["nom"], text[:100])
                self.assertEqual(row["commentaire"], text)
                self.max_id = ft.max_submission_id()
        self.assertEqual(ft.sql_int("SELECT count(*) FROM pg_tables WHERE tablename = 'audit_logs'"), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
