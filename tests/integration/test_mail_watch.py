#!/usr/bin/env python3
"""fiable-mail-outbox --watch, the mail service (issue 17, found on the way): after a restart
of the database it LISTENs again as soon as it is connected and passes at once, so a receipt
queued right after the restart leaves within seconds, not at the next periodic pass; and a
backlog larger than one pass (1,000 messages) drains without waiting for the period.

The service of the stack is paused; the tests run their own with --period 600, so that a
message that waits for the periodic pass would wait ten minutes: a delivery within the
ceilings below can only come from a notification or from the pass that follows a full one."""

import os
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import dev, sql, sql_int  # noqa: E402

PERIOD_S = 600
LISTENING = "à l'écoute des courriels mis en file"
# A pass delivers at most this many messages (BATCH * MAX_BATCHES, cron/mail-outbox.c).
PASS_MAX = 1000


def setUpModule():
    ft.require_dev()
    for name in ("FIABLE_TEST_MAIL_OUTBOX", "FIABLE_TEST_SMTP_PORT", "FIABLE_TEST_APP_PG"):
        if not os.environ.get(name):
            raise ft.EnvironmentMissing("%s is not set: run the tests with `scripts/dev test`"
                                        % name)
    dev("mailer-stop")


def tearDownModule():
    dev("mailer-start")


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + ft.ceiling(timeout)
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError("still waiting after %.0f s: %s" % (ft.ceiling(timeout), what))
        time.sleep(0.1)


class WatchingSenderTest(ft.FiableTestCase):

    def setUp(self):
        dev("smtp-start")
        ft.wait_db_ready()
        self.log = tempfile.NamedTemporaryFile(prefix="mail-watch-", suffix=".log", delete=False)
        self.addCleanup(os.unlink, self.log.name)
        self.proc = subprocess.Popen(
            [os.environ["FIABLE_TEST_MAIL_OUTBOX"], "--watch", "--period", str(PERIOD_S)],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            env=ft.outbox_environment())
        self.addCleanup(self.stop)
        wait_until(lambda: LISTENING in self.text(), 20, "the service's start")

    def text(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=ft.ceiling(20))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.assertNotRegex(self.text(), ft._SANITIZER)

    def receipt_delay(self):
        """Submits an answer (its receipt is queued and announced); seconds until the
        receipt reaches the SMTP server."""
        email = ft.unique_email("veille")
        since = time.time()
        start = time.monotonic()
        self.assertStatus(ft.submit(ft.valid_payload(email=email)), 201)
        mails = ft.wait_for_mail(email, timeout=60, since=since)
        delay = time.monotonic() - start
        self.assertEqual(len(mails), 1, "no receipt for %s within %.0f s; service log:\n%s"
                         % (email, ft.ceiling(60), self.text()[-3000:]))
        return delay

    def test_receipt_right_after_a_database_restart(self):
        # What does happen first: a receipt goes out at once on the notification.
        self.assertLess(self.receipt_delay(), ft.ceiling(10))
        for mode in ("fast", "immediate", "stopped a while"):
            with self.subTest(mode=mode):
                if mode == "stopped a while":
                    # Down long enough that the service tries (LISTEN, then connecting) and
                    # fails at least once before the database is back.
                    seen = len(self.text())
                    dev("db-stop", "fast")
                    wait_until(lambda: "connexion" in self.text()[seen:], 30,
                               "the service noticing the database is down")
                    dev("db-start")
                else:
                    dev("db-restart", mode)
                ft.wait_db_ready()
                delay = self.receipt_delay()
                print("db-restart %s: receipt after %.2f s (periodic pass: %d s)"
                      % (mode, delay, PERIOD_S), file=sys.stderr)
                self.assertLess(delay, ft.ceiling(10),
                                "the receipt waited for a pass, not for the notification; "
                                "service log:\n" + self.text()[-3000:])
        self.assertIsNone(self.proc.poll(), "the service stopped:\n" + self.text()[-3000:])

    def test_backlog_larger_than_a_pass_drains_without_the_period(self):
        domain = "lot-%s.example.org" % uuid.uuid4().hex[:8]
        count = PASS_MAX + 50
        self.addCleanup(sql, "DELETE FROM mail_outbox WHERE recipient LIKE :'p1'", "%@" + domain)
        # One transaction, one notification: the service wakes once and must go on by itself.
        sql("WITH m AS (INSERT INTO mail_outbox (kind, recipient, subject, body) "
            "SELECT 'edit_link', 'n' || i || '@' || :'p1', 'Lot ' || i, 'Bonjour.' "
            "FROM generate_series(1, :'p2'::integer) AS i RETURNING id) "
            "SELECT pg_notify('fiable_outbox', 'lot') FROM m LIMIT 1", domain, count)
        start = time.monotonic()

        def pending():
            return sql_int("SELECT count(*) FROM mail_outbox WHERE recipient LIKE :'p1' "
                           "AND status = 'pending'", "%@" + domain)

        # What does happen first: the first pass delivers its full 1,000.
        wait_until(lambda: pending() <= count - PASS_MAX, 240, "the first pass of the backlog")
        wait_until(lambda: pending() == 0, 120, "the rest of the backlog (the periodic pass "
                   "is %d s away)" % PERIOD_S)
        print("backlog of %d messages delivered in %.1f s" % (count, time.monotonic() - start),
              file=sys.stderr)
        self.assertEqual(sql_int("SELECT count(*) FROM mail_outbox WHERE recipient LIKE :'p1' "
                                 "AND status = 'sent'", "%@" + domain), count)


if __name__ == "__main__":
    unittest.main(verbosity=2)
