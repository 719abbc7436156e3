"""Mail: the test SMTP server (aiosmtpd, Maildir handler) and the cron program
fiable-mail-outbox."""

import email
import email.policy
import email.utils
import os
import re
import subprocess
import time

from .db import sql_int, sql_json
from .env import EnvironmentMissing, _ENV_HELP, base_url, ceiling, require_env
from .procs import _SANITIZER, program_environment

def mailbox_dir():
    """The maildir of the test SMTP server (messages arrive in its new/ folder)."""
    require_env()
    path = os.environ.get("FIABLE_TEST_MAILBOX")
    if not path:
        raise EnvironmentMissing("FIABLE_TEST_MAILBOX is not set. " + _ENV_HELP)
    return path


def _mail_files():
    """(arrival time, path) of every message in the maildir, oldest first."""
    found = []
    for sub in ("new", "cur"):
        folder = os.path.join(mailbox_dir(), sub)
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue
        for name in names:
            if name.startswith("."):
                continue
            path = os.path.join(folder, name)
            try:
                found.append((os.stat(path).st_mtime, path))
            except FileNotFoundError:
                pass
    found.sort()
    return found


def parse_mail(data):
    """An RFC 5322 message (bytes) as an email.message.EmailMessage (modern policy:
    headers come back decoded, e.g. an RFC 2047 subject as plain text)."""
    return email.message_from_bytes(data, policy=email.policy.default)


def _recipients(msg):
    """Lowercased addresses the message was sent to: the SMTP envelope (X-RcptTo, added
    by aiosmtpd) and the To header."""
    found = set()
    for name in ("X-RcptTo", "To"):
        for value in msg.get_all(name) or []:
            for _, addr in email.utils.getaddresses([str(value)]):
                if addr:
                    found.add(addr.lower())
    return found


def mails_to(to_address, since=None):
    """The messages already received for to_address (case-insensitive), oldest first,
    only those that arrived at or after since (a time.time() value) when given."""
    want = to_address.strip().lower()
    out = []
    for mtime, path in _mail_files():
        # 50 ms of slack: file times are taken from a coarse clock.
        if since is not None and mtime < since - 0.05:
            continue
        try:
            with open(path, "rb") as f:
                msg = parse_mail(f.read())
        except FileNotFoundError:
            continue
        if want in _recipients(msg):
            out.append(msg)
    return out


def wait_for_mail(to_address, timeout=10.0, since=None, *, count=1):
    """Waits until at least `count` messages for to_address have arrived at the test SMTP
    server after `since` (a time.time() value; None = any time), polling up to
    ceiling(timeout) seconds. Returns them as a list of email.message.EmailMessage, oldest
    first (parsed with email.policy.default: msg["Subject"] is the decoded text,
    msg.get_body().get_content() the decoded body). Returns what arrived (possibly []) when
    the time is up: assert on the length. Never use it to prove that NO message comes: see
    settled_mails, which first waits for the outbox to finish."""
    deadline = time.monotonic() + ceiling(timeout)
    while True:
        found = mails_to(to_address, since)
        if len(found) >= count or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def mails_by_recipient(addresses, subject_word=None):
    """One pass over the test SMTP server's mailbox: {lowercased address: [messages]} for
    the given addresses, only messages whose subject contains subject_word when given."""
    want = {a.lower() for a in addresses}
    out = {a: [] for a in want}
    for _mtime, path in _mail_files():
        try:
            with open(path, "rb") as f:
                msg = parse_mail(f.read())
        except FileNotFoundError:
            continue
        if subject_word is not None and subject_word not in str(msg["Subject"]):
            continue
        for r in _recipients(msg) & want:
            out[r].append(msg)
    return out


def campaign_mail_pending(cid):
    """Mails to campaign cid's participants (invitations, reminders) that the sender has
    not yet brought to a final state."""
    return sql_int("SELECT count(*) FROM mail_outbox m WHERE m.status = 'pending' AND "
                   "lower(m.recipient) IN (SELECT lower(email) FROM participants "
                   "WHERE campagne_id = :'p1'::bigint)", cid)


def outbox_pending(to_address):
    """What the mail sender has still to do for this address (case-insensitive): rows of
    mail_outbox not yet in a final state, and link requests not yet resolved (resolving one
    may queue a message)."""
    return sql_int("SELECT (SELECT count(*) FROM mail_outbox "
                   "        WHERE lower(recipient) = lower(:'p1') AND status = 'pending') "
                   "     + (SELECT count(*) FROM modify_link_requests "
                   "        WHERE resolved_at IS NULL AND lower(email) = lower(:'p1'))",
                   to_address)


def outbox_sent(to_address):
    """Rows of mail_outbox for this address (case-insensitive) that reached 'sent'."""
    return sql_int("SELECT count(*) FROM mail_outbox WHERE lower(recipient) = lower(:'p1') "
                   "AND status = 'sent'", to_address)


def settled_mails(to_address, timeout=30.0):
    """Every message the product will send to to_address from what is queued now: waits
    (ceiling(timeout)) until the sender has nothing left to do for the address
    (outbox_pending), then until the
    test SMTP server holds as many messages for it as the outbox marked sent (a row is
    marked sent once the server accepted it, so its file may lag by a moment). Returns all
    the messages received for the address, oldest first. This is the definite event that a
    test proving that NO (further) message is sent waits for. Raises AssertionError when
    the outbox does not settle in time, or when the server holds more messages than the
    outbox sent (a message sent twice)."""
    deadline = time.monotonic() + ceiling(timeout)
    while outbox_pending(to_address) > 0:
        if time.monotonic() >= deadline:
            raise AssertionError("mail_outbox still has pending messages for %s after %.0f s"
                                 % (to_address, ceiling(timeout)))
        time.sleep(0.1)
    sent = outbox_sent(to_address)
    while True:
        found = mails_to(to_address)
        if len(found) >= sent:
            break
        if time.monotonic() >= deadline:
            raise AssertionError("the outbox marked %d message(s) to %s sent, the test SMTP "
                                 "server holds %d after %.0f s"
                                 % (sent, to_address, len(found), ceiling(timeout)))
        time.sleep(0.1)
    if len(found) > sent:
        raise AssertionError("the test SMTP server holds %d message(s) to %s, the outbox sent "
                             "%d: %s" % (len(found), to_address, sent,
                                         [str(m["Subject"]) for m in found]))
    return found


def mail_text(msg):
    """The decoded text/plain body of a message."""
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        raise AssertionError("the message has no text/plain part:\n%s" % msg)
    return part.get_content()


_EDIT_TOKEN = re.compile(r"#edit=([A-Za-z0-9_-]+)")


def extract_edit_token(msg):
    """The edit token of the link PUBLIC_URL/#edit=TOKEN in the message body (the last one
    if several). Raises AssertionError when the body holds no such link."""
    tokens = _EDIT_TOKEN.findall(mail_text(msg))
    if not tokens:
        raise AssertionError("no #edit=TOKEN link in the message:\n%s" % mail_text(msg))
    return tokens[-1]


def outbox_environment(**overrides):
    """The environment the workers run with (database as fiable_app, secret, PUBLIC_URL,
    SMTP_URL of the test server), for the cron program. A value of None removes a variable."""
    require_env()
    var = os.environ.get("FIABLE_VAR")
    port = os.environ.get("FIABLE_TEST_SMTP_PORT")
    app_pg = os.environ.get("FIABLE_TEST_APP_PG")
    if not var or not port or not app_pg:
        raise EnvironmentMissing("FIABLE_VAR, FIABLE_TEST_SMTP_PORT or FIABLE_TEST_APP_PG is "
                                 "not set. " + _ENV_HELP)
    return program_environment({"FIABLE_DATABASE_URL": app_pg, "PUBLIC_URL": base_url(),
                                "SMTP_URL": "smtp://127.0.0.1:%s" % port,
                                "MAIL_FROM": "Fiable <fiable@localhost>"}, overrides)


def run_outbox(timeout=60, **env_overrides):
    """Runs cron/fiable-mail-outbox once with the workers' environment (see
    outbox_environment; keyword arguments override variables, None removes one). Returns
    the subprocess.CompletedProcess (stdout and stderr as text). Raises AssertionError on a
    sanitizer report in its output."""
    prog = os.environ.get("FIABLE_TEST_MAIL_OUTBOX")
    if not prog:
        raise EnvironmentMissing("FIABLE_TEST_MAIL_OUTBOX is not set. " + _ENV_HELP)
    proc = subprocess.run([prog], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=outbox_environment(**env_overrides), timeout=ceiling(timeout))
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    if _SANITIZER.search(proc.stderr):
        raise AssertionError("sanitizer report from fiable-mail-outbox:\n" + proc.stderr)
    return proc


def outbox_row(outbox_id):
    """A mail_outbox row as a dict (None when absent); times as epoch seconds."""
    return sql_json(
        "SELECT (SELECT json_build_object('id', id, 'kind', kind, 'recipient', recipient, "
        "'subject', subject, 'body', body, 'status', status, 'attempts', attempts, "
        "'last_error', last_error, 'submission_id', submission_id, "
        "'next_attempt_epoch', extract(epoch FROM next_attempt_at), "
        "'sent_epoch', extract(epoch FROM sent_at), "
        "'now_epoch', extract(epoch FROM now()))::text "
        "FROM mail_outbox WHERE id = :'p1'::bigint)", outbox_id)
