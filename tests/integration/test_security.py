"""Security checks that cross the whole stack: secrets never written to logs, the admin
program refusing a request that did not pass nginx's authentication (talking to its FastCGI
socket directly), and a wrong edit token that gives nothing away."""

import glob
import os
import shutil
import subprocess
import unittest

import fiable_test as ft


def fastcgi(socket_path, method, uri, body=b"", params=None):
    """One request straight to a FastCGI socket with libfcgi's cgi-fcgi; returns the raw
    CGI response (headers, blank line, body)."""
    tool = shutil.which("cgi-fcgi")
    if tool is None:
        raise AssertionError("cgi-fcgi is missing (Debian package libfcgi-bin)")
    env = {"REQUEST_METHOD": method, "DOCUMENT_URI": uri, "SCRIPT_NAME": uri,
           "REQUEST_URI": uri, "CONTENT_TYPE": "application/json",
           "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
           "SERVER_PROTOCOL": "HTTP/1.1", "PATH": "/usr/bin:/bin"}
    env.update(params or {})
    proc = subprocess.run([tool, "-bind", "-connect", socket_path], input=body, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    return proc.stdout.decode("utf-8", "replace")


class SecurityTest(ft.FiableTestCase):

    @classmethod
    def setUpClass(cls):
        ft.require_dev()
        cls.var = os.environ["FIABLE_VAR"]

    def log_text(self, exclude=()):
        text = []
        for path in glob.glob(os.path.join(self.var, "log", "*")):
            if os.path.isfile(path) and os.path.basename(path) not in exclude:
                with open(path, "rb") as f:
                    text.append(f.read().decode("utf-8", "replace"))
        return "\n".join(text)

    def test_admin_program_refuses_without_authentication_on_its_socket(self):
        sock = os.path.join(self.var, "run", "fiable-restore.sock")
        out = fastcgi(sock, "POST", "/api/admin/restore", b'{"id":1,"undelete":true}')
        self.assertIn("Status: 403", out)
        self.assertIn('"code":"admin_required"', out)
        # A client cannot smuggle REMOTE_USER through nginx: an HTTP header becomes HTTP_*.
        resp = ft.request("POST", "/api/admin/restore", body=b'{"id":1,"undelete":true}',
                          headers={"Content-Type": ft.JSON, "Remote-User": "admin"})
        self.assertEqual(resp.status, 401)

    def test_secrets_never_reach_the_logs(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        # Use the token the ways a person would: read, modify, and a wrong one.
        self.assertEqual(ft.modify_get(token).status, 200)
        self.assertEqual(ft.modify_get(token[:-1] + ("A" if token[-1] != "A" else "B")).status, 401)
        link = ft.modify_link(payload["email"], source_address=ft.link_source())
        self.assertEqual(link.status, 202)
        mails = ft.wait_for_mail(payload["email"], count=2, timeout=15)
        tokens = {token} | {ft.extract_edit_token(m) for m in mails}
        with open(os.path.join(self.var, "secret")) as f:
            secret = f.read().strip()
        with open(os.path.join(self.var, "admin-password")) as f:
            password = f.read().strip()
        self.assertEqual(ft.admin_restore({"id": created["id"], "version": 1}).status in
                         (200, 400, 409), True)
        logs = self.log_text()
        self.assertTrue(logs, "no log was read")
        for name, value in [("secret", secret), ("admin password", password)] + \
                [("edit token", t) for t in tokens]:
            self.assertNotIn(value, logs, "%s found in the logs" % name)

    def test_email_addresses_never_reach_the_logs(self):
        """Every way an e-mail can be refused because another active answer holds it
        (submit, undelete, modification, restored version) answers 409 without the unique
        index raising an error: PostgreSQL would log the address in its DETAIL, and the
        program would echo it. Read in every log the stack writes (the database's, nginx's
        and the programs'), the test SMTP server's aside (it receives the receipts)."""
        addresses = []

        def address(prefix):
            addresses.append(ft.unique_email(prefix))
            return addresses[-1]

        # A second answer for an address already active (any case).
        taken = address("doublon")
        ft.create_submission(email=taken)
        self.assertEqual(ft.submit(ft.valid_payload(email=taken.upper())).status, 409)
        # Undelete while another answer took the address.
        withdrawn_email = address("retrait")
        _, withdrawn = ft.create_submission(email=withdrawn_email)
        self.assertEqual(ft.modify_delete(withdrawn["edit_token"], if_match=ft.etag(1)).status,
                         200)
        ft.create_submission(email=withdrawn_email)
        resp = ft.restore(withdrawn["edit_token"], {"undelete": True}, if_match=ft.etag(2))
        self.assertProblem(resp, 409, "already_submitted")
        # A modification to an address another answer holds.
        other_payload, other = ft.create_submission(email=address("autre"))
        resp = ft.modify_put(other["edit_token"], dict(other_payload, email=taken),
                             if_match=ft.etag(1))
        self.assertProblem(resp, 409, "already_submitted")
        # A restored version whose address is now someone else's.
        first = address("premiere")
        moved_payload, moved = ft.create_submission(email=first)
        self.assertEqual(ft.modify_put(moved["edit_token"],
                                       dict(moved_payload, email=address("nouvelle")),
                                       if_match=ft.etag(1)).status, 200)
        ft.create_submission(email=first)
        resp = ft.restore(moved["edit_token"], {"version": 1}, if_match=ft.etag(2))
        self.assertProblem(resp, 409, "already_submitted")

        logs = self.log_text(exclude=("smtp.log",))
        self.assertIn("database system is ready", logs, "postgresql.log was not read")
        self.assertIn("POST /api/restore", logs, "nginx's access log was not read")
        for found in sorted({a for a in addresses if a.lower() in logs.lower()}):
            lines = [line for line in logs.splitlines() if found.lower() in line.lower()]
            self.fail("%s found in the logs:\n%s" % (found, "\n".join(lines[:5])))

    def test_wrong_token_gives_nothing_away(self):
        _, created = ft.create_submission()
        answers = set()
        for token in (None, "", "x", created["edit_token"][::-1], "A" * 43, "A" * 44):
            with self.subTest(token=token):
                resp = ft.modify_get(token)
                self.assertEqual(resp.status, 401)
                answers.add(ft.body_without_request_id(resp))
        self.assertEqual(len(answers), 1, "different answers to wrong tokens: %r" % answers)


class RequestIdTest(ft.FiableTestCase):
    """Every response carries X-Request-Id, nginx's $request_id: the id of the access log,
    of the program's log lines (req=) and audit rows, and the instance of a problem."""

    def test_every_response_carries_its_request_id(self):
        seen = set()
        for resp in (ft.get("/"), ft.get("/style.css"), ft.get(ft.HEALTH), ft.get(ft.FORM),
                     ft.get("/api/nulle-part"), ft.get("/admin/"),
                     ft.get("/problemes/version_mismatch.html")):
            with self.subTest(path=resp.describe().splitlines()[0]):
                rid = resp.header("X-Request-Id") or ""
                self.assertRegex(rid, r"^[0-9a-f]{32}$", resp.describe())
                seen.add(rid)
        self.assertEqual(len(seen), 7, "one id per request")

    def test_problems_name_their_request_and_their_page(self):
        # Made by a program, by nginx (an unknown API address, a refused password).
        for resp, status, code in (
                (ft.modify_get("jeton-faux"), 401, "invalid_token"),
                (ft.get("/api/nulle-part"), 404, "not_found"),
                (ft.get("/api/admin/metrics"), 401, "admin_auth_failed")):
            with self.subTest(code=code):
                p = self.assertProblem(resp, status, code)
                self.assertEqual(p["instance"], "urn:fiable:requete:" +
                                 resp.header("X-Request-Id"), resp.describe())
                page = ft.get(p["type"])
                self.assertStatus(page, 200)
                self.assertIn("text/html", page.header("Content-Type"))
                self.assertIn("<code>%s</code>" % code, page.body.decode("utf-8"))

    def test_the_id_is_the_one_of_the_audit_row(self):
        resp = ft.submit(ft.valid_payload())
        body = self.assertCreated(resp)
        self.assertEqual(ft.sql_one("SELECT request_id FROM audit_logs WHERE entity_id = "
                                    ":'p1' AND action = 'submission.create'", body["id"]),
                         resp.header("X-Request-Id"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
