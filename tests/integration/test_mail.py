#!/usr/bin/env python3
"""The mail outbox: messages queued in mail_outbox are delivered by cron/fiable-mail-outbox
to a real SMTP server (aiosmtpd, started by `scripts/dev test`), retried with backoff when
the server is down, written as .eml files when no SMTP server is configured, and never
carry a header injected through their subject or recipient."""

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import dev  # noqa: E402

SUBJECT = "Votre lien pour modifier votre réponse — créneaux d'été"
FROM_ADDRESS = "fiable@localhost"


def setUpModule():
    ft.require_dev()
    for name in ("FIABLE_TEST_MAILBOX", "FIABLE_TEST_SMTP_PORT", "FIABLE_TEST_MAIL_OUTBOX",
                 "FIABLE_TEST_APP_PG", "FIABLE_VAR"):
        if not os.environ.get(name):
            raise ft.EnvironmentMissing("%s is not set: run the tests with `scripts/dev test`"
                                        % name)
    # These tests drive the cron pass by hand on rows they insert: the mail service
    # (fiable-mail-outbox --watch) would race them for the same rows, so it pauses meanwhile.
    dev("mailer-stop")


def tearDownModule():
    dev("mailer-start")


def ensure_smtp_up():
    """Leaves the test SMTP server running whatever a test did."""
    dev("smtp-start")


def new_token():
    return uuid.uuid4().hex + "_-" + uuid.uuid4().hex[:8]


def french_body(token):
    return ("Bonjour Élise,\n\n"
            "Vous avez demandé un lien pour modifier votre réponse. Le voici :\n\n"
            "  %s/#edit=%s\n\n"
            "Ce lien est personnel : ne le transmettez à personne. Les liens reçus "
            "précédemment ne fonctionnent plus.\n" % (ft.base_url(), token))


def enqueue(recipient, subject_sql="(:'p2')", *extra, body=None, kind="edit_link"):
    """Queues a message as the superuser; returns (id, token, body). subject_sql is an SQL
    expression (it may build control characters with chr()) over the parameters :'p2'
    (SUBJECT) and :'p5', :'p6'... (extra)."""
    token = new_token()
    body = french_body(token) if body is None else body
    outbox_id = ft.sql_one(
        "INSERT INTO mail_outbox (kind, recipient, subject, body) "
        "VALUES (:'p4', :'p1', " + subject_sql + ", :'p3') RETURNING id",
        recipient, SUBJECT, body, kind, *extra)
    return outbox_id, token, body


def raw_mail_files_to(address):
    """Raw bytes of every maildir message whose envelope or To names address."""
    out = []
    for _, path in ft._mail_files():
        with open(path, "rb") as f:
            data = f.read()
        if address.lower() in ft._recipients(ft.parse_mail(data)):
            out.append(data)
    return out


class MailOutboxTest(ft.FiableTestCase):

    def setUp(self):
        ensure_smtp_up()
        self.addCleanup(ensure_smtp_up)

    def run_outbox(self, expected_rc, **env):
        proc = ft.run_outbox(**env)
        self.assertEqual(proc.returncode, expected_rc,
                         "fiable-mail-outbox exited %d, expected %d\nstderr:\n%s"
                         % (proc.returncode, expected_rc, proc.stderr))
        return proc

    def assertSummary(self, proc):
        """The last stderr line is the French one-line summary."""
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        self.assertTrue(lines, "no summary on stderr")
        self.assertRegex(lines[-1], r"^fiable-mail-outbox : \d+ envoyé\(s\), \d+ à réessayer "
                         r"plus tard, \d+ abandonné\(s\), \d+ encore dû\(s\)$")
        return lines[-1]

    def test_delivered_with_headers_and_french_body(self):
        to = ft.unique_email("mail")
        since = time.time()
        outbox_id, token, body = enqueue(to)
        proc = self.run_outbox(0)
        summary = self.assertSummary(proc)
        self.assertGreaterEqual(int(re.search(r"(\d+) envoyé", summary).group(1)), 1, summary)

        mails = ft.wait_for_mail(to, timeout=10, since=since)
        self.assertEqual(len(mails), 1, "expected exactly one message to %s" % to)
        msg = mails[0]
        self.assertEqual(msg["Subject"], SUBJECT, "UTF-8 subject not decoded back")
        self.assertEqual([a.addr_spec for a in msg["To"].addresses], [to])
        self.assertEqual([a.addr_spec for a in msg["From"].addresses], [FROM_ADDRESS])
        self.assertEqual(msg["X-MailFrom"], FROM_ADDRESS, "SMTP envelope sender")
        self.assertEqual(msg["X-RcptTo"], to, "SMTP envelope recipient")
        self.assertLess(abs(msg["Date"].datetime.timestamp() - time.time()), 120,
                        "Date header far from now: %s" % msg["Date"])
        self.assertRegex(msg["Message-ID"], r"^<[0-9a-f]{32}@localhost>$")
        self.assertEqual(msg["MIME-Version"], "1.0")
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg.get_content_charset(), "utf-8")
        text = ft.mail_text(msg).replace("\r\n", "\n")
        self.assertEqual(text, body, "body changed on the way")
        self.assertIn("Bonjour Élise", text)
        self.assertEqual(ft.extract_edit_token(msg), token)

        row = ft.outbox_row(outbox_id)
        self.assertEqual(row["status"], "sent", row)
        self.assertIsNone(row["body"], "the body (with its link) must be erased once sent")
        self.assertEqual(row["attempts"], 1, row)
        self.assertIsNone(row["last_error"], row)
        self.assertIsNotNone(row["sent_epoch"], row)

        # Delivered once: a second run sends nothing more to this address. The run is
        # synchronous (it exits once the SMTP server has accepted what it sent) and
        # settled_mails fails if the server holds more messages than the outbox sent.
        self.run_outbox(0)
        self.assertEqual(len(ft.settled_mails(to)), 1, "message sent twice")
        self.assertEqual(len(ft.mails_to(to, since)), 1, "message sent twice")

    def test_smtp_outage_is_retried_later_then_delivered(self):
        to = ft.unique_email("outage")
        dev("smtp-stop")
        outbox_id, token, _ = enqueue(to)
        proc = self.run_outbox(3)
        self.assertIn("0 envoyé(s)", self.assertSummary(proc))

        row = ft.outbox_row(outbox_id)
        self.assertEqual(row["status"], "pending", row)
        self.assertEqual(row["attempts"], 1, row)
        self.assertTrue(row["last_error"], "last_error not recorded: %r" % row)
        self.assertIsNotNone(row["body"], "the body is kept until the message is sent")
        delay = row["next_attempt_epoch"] - row["now_epoch"]
        self.assertGreater(delay, 30, "next attempt not put off: %r" % row)
        self.assertLess(delay, 2 * 60 * 1.2, "first retry should come within about a minute")

        # Not due yet: another run leaves it alone.
        dev("smtp-start")
        self.run_outbox(0)
        self.assertEqual(ft.outbox_row(outbox_id)["attempts"], 1)

        ft.sql("UPDATE mail_outbox SET next_attempt_at = now() WHERE id = :'p1'::bigint",
               outbox_id)
        since = time.time()
        self.run_outbox(0)
        mails = ft.wait_for_mail(to, timeout=10, since=since)
        self.assertEqual(len(mails), 1, "not delivered once the server is back")
        self.assertEqual(ft.extract_edit_token(mails[0]), token)
        row = ft.outbox_row(outbox_id)
        self.assertEqual((row["status"], row["attempts"], row["last_error"], row["body"]),
                         ("sent", 2, None, None), row)

    def test_eml_file_without_smtp_server(self):
        tmp = tempfile.mkdtemp(prefix="fiable-mail-")
        self.addCleanup(shutil.rmtree, tmp, True)
        mail_dir = os.path.join(tmp, "courriels")   # created by the program
        to = ft.unique_email("eml")
        outbox_id, token, body = enqueue(to)
        self.run_outbox(0, SMTP_URL="", FIABLE_MAIL_DIR=mail_dir)

        names = sorted(os.listdir(mail_dir))
        self.assertFalse([n for n in names if n.startswith(".")],
                         "temporary files left behind: %r" % names)
        found = []
        for name in names:
            self.assertRegex(name, r"^\d{8}T\d{6}Z-[0-9a-f]{16}\.eml$")
            path = os.path.join(mail_dir, name)
            with open(path, "rb") as f:
                data = f.read()
            msg = ft.parse_mail(data)
            if to in ft._recipients(msg):
                found.append((path, data, msg))
        self.assertEqual(len(found), 1, "expected one .eml file for %s in %r" % (to, names))
        path, data, msg = found[0]
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640)
        self.assertIn(b"\r\n\r\n", data, "headers and body separated by CRLF CRLF")
        self.assertNotRegex(data, rb"(?<!\r)\n", "a line end is not CRLF")
        self.assertEqual(msg["Subject"], SUBJECT)
        self.assertEqual(ft.mail_text(msg).replace("\r\n", "\n"), body)
        self.assertEqual(ft.extract_edit_token(msg), token)
        row = ft.outbox_row(outbox_id)
        self.assertEqual((row["status"], row["body"]), ("sent", None), row)

    def test_header_injection_through_subject(self):
        to = ft.unique_email("inject")
        evil = "x-%s@evil.example" % uuid.uuid4().hex
        since = time.time()
        outbox_id, _, _ = enqueue(
            to, "('Bonjour' || chr(13) || chr(10) || 'Bcc: ' || :'p5')", evil)
        self.run_outbox(0)
        mails = ft.wait_for_mail(to, timeout=10, since=since)
        self.assertEqual(len(mails), 1)
        msg = mails[0]
        self.assertIsNone(msg.get_all("Bcc"), "an injected Bcc header reached the message")
        self.assertEqual(msg["X-RcptTo"], to, "the injected address became a recipient")
        self.assertNotIn("\n", msg["Subject"])
        self.assertIn("Bonjour", msg["Subject"])
        for data in raw_mail_files_to(to):
            self.assertIsNone(re.search(rb"(?im)^bcc:", data), data.decode("utf-8", "replace"))
        # An injected recipient would have been one more RCPT TO of the transaction that
        # delivered the message found above, stored in the same file: nothing to wait for.
        self.assertEqual(ft.mails_to(evil), [], "a message reached the injected address")
        self.assertEqual(ft.outbox_row(outbox_id)["status"], "sent")

    def test_header_injection_through_recipient_is_given_up(self):
        to = ft.unique_email("badrcpt")
        evil = "x-%s@evil.example" % uuid.uuid4().hex
        outbox_id = ft.sql_one(
            "INSERT INTO mail_outbox (kind, recipient, subject, body) "
            "VALUES ('receipt', :'p1' || chr(13) || chr(10) || 'Bcc: ' || :'p2', 'Sujet', "
            "'Corps') RETURNING id", to, evil)
        proc = self.run_outbox(0)
        self.assertRegex(self.assertSummary(proc), r"[1-9]\d* abandonné")
        row = ft.outbox_row(outbox_id)
        self.assertEqual((row["status"], row["attempts"], row["body"]), ("failed", 1, None),
                         row)
        self.assertTrue(row["last_error"], row)
        # The run has ended (synchronous) and gave the message up before any SMTP
        # transaction: whatever it could have sent would already be in the maildir.
        self.assertEqual(ft.mails_to(evil), [], "a message reached the injected address")
        self.assertEqual(ft.mails_to(to), [], "a message went to a malformed recipient")

    def test_not_configured_with_pending_messages(self):
        to = ft.unique_email("nomail")
        outbox_id, token, _ = enqueue(to)
        proc = self.run_outbox(2, SMTP_URL="", FIABLE_MAIL_DIR="")
        self.assertIn("non configuré", proc.stderr)
        row = ft.outbox_row(outbox_id)
        self.assertEqual((row["status"], row["attempts"]), ("pending", 0), row)
        # Configured again: what waited is delivered.
        since = time.time()
        self.run_outbox(0)
        mails = ft.wait_for_mail(to, timeout=10, since=since)
        self.assertEqual(len(mails), 1)
        self.assertEqual(ft.extract_edit_token(mails[0]), token)

    def test_database_unreachable(self):
        proc = self.run_outbox(
            1, FIABLE_DATABASE_URL="host=/nonexistent-fiable port=1 dbname=fiable user=x")
        self.assertIn("base de données injoignable", proc.stderr)

    def test_help(self):
        proc = ft.run_outbox(FIABLE_SECRET=None)
        self.assertEqual(proc.returncode, 1, "no FIABLE_SECRET must be refused")
        self.assertIn("FIABLE_SECRET", proc.stderr)
        out = subprocess.run([os.environ["FIABLE_TEST_MAIL_OUTBOX"], "--help"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        self.assertEqual(out.returncode, 0)
        text = out.stdout.decode("utf-8")
        for name in ("SMTP_URL", "SMTP_PASSWORD", "MAIL_FROM", "FIABLE_MAIL_DIR"):
            with self.subTest(name=name):
                self.assertIn(name, text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
