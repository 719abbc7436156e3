#!/usr/bin/env python3
"""Edit links by e-mail: the receipt sent after a first submission, and POST
/api/modify/link, which issues a new token to the owner of an active submission without
telling anyone else whether it exists (neither by its answer nor by its time), within
per-e-mail and per-address limits that hold under concurrent requests. The endpoint only
records the request; the mail sender (fiable-mail-outbox) resolves it afterwards, once.

Link requests come from a loopback address of their own per test (ft.link_source()): the
per-address limit is not lifted for 127.0.0.1."""

import hashlib
import hmac
import json
import os
import random
import statistics
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import etag, modify_get, modify_link, sql, sql_int, sql_one  # noqa: E402

PACE = 0.15             # seconds between link requests (nginx: 10 writes/s per address)


def setUpModule():
    ft.require_env()


def outbox_rows(recipient):
    """[kind, status, body is null, submission_id] of the messages queued for a recipient."""
    return sql("SELECT kind, status, body IS NULL, submission_id FROM mail_outbox "
               "WHERE lower(recipient) = lower(:'p1') ORDER BY id", recipient)


def stored_hash(submission_id):
    return ft.submission_row(submission_id)["hash"]


class LinkCase(ft.ModifyTestCase):

    def assertAccepted(self, resp):
        """The 202 answer of POST /api/modify/link."""
        self.assertStatus(resp, 202)
        return resp.body

    def assertRateLimited(self, resp):
        self.assertProblem(resp, 429, "rate_limited")
        retry_after = (resp.header("Retry-After") or "").strip()
        self.assertTrue(retry_after.isdigit() and 0 < int(retry_after) <= 3600,
                        "429 without a Retry-After of 1 to 3600 seconds\n" + resp.describe())

    def assertNoMail(self, address):
        """Nothing queued nor received for address: call it once the requests concerned are
        resolved (wait_for_requests_resolved), after which nothing more can come."""
        mails = ft.mails_to(address)
        self.assertEqual(mails, [], "a message was sent to %s:\n%s"
                         % (address, "\n".join(ft.mail_text(m) for m in mails)))
        self.assertEqual(outbox_rows(address), [], "a message was queued for %s" % address)

    def assertNotRecorded(self, source):
        """The refused request from source left no row (nothing for the sender to do)."""
        self.assertEqual(sql_int("SELECT count(*) FROM modify_link_requests "
                                 "WHERE client_addr = :'p1'", source[0]), 0,
                         "a refused request was recorded")

    def wait_for_outbox_sent(self, recipient, count):
        """Waits until `count` messages for recipient are marked sent; returns the rows."""
        def done():
            rows = outbox_rows(recipient)
            return rows if len(rows) >= count and all(r[1] == "sent" for r in rows) else None
        return self.wait_for(done, 10, "the messages for %s are not all marked sent: %r"
                             % (recipient, outbox_rows(recipient)))

    def wait_for_requests_resolved(self, sources, count, timeout=20):
        """Waits until `count` link requests from these sources (as link_source() returns
        them) are recorded and the mail sender has resolved every one (a final state);
        returns their outcomes, sorted."""
        def done():
            rows = sql("SELECT outcome FROM modify_link_requests WHERE client_addr IN "
                       "(SELECT jsonb_array_elements_text(:'p1'::jsonb))",
                       json.dumps([s[0] for s in sources]))
            outcomes = sorted(r[0] or "" for r in rows)
            return outcomes if len(outcomes) >= count and all(outcomes) else None
        return self.wait_for(done, timeout, "the link requests from %r are not all resolved"
                             % [s[0] for s in sources])

    def receipt_token(self, address, edit_token):
        """Waits for the receipt of a first submission; checks it holds edit_token."""
        mails = ft.wait_for_mail(address)
        self.assertEqual(len(mails), 1, "expected the receipt for %s" % address)
        self.assertEqual(ft.extract_edit_token(mails[0]), edit_token)
        return mails[0]

    def link_mails(self, address, count, exclude):
        """Waits for `count` messages to address (receipt included) and returns the edit
        tokens of those whose token is not in exclude, oldest first."""
        mails = ft.wait_for_mail(address, count=count)
        self.assertEqual(len(mails), count, "expected %d messages for %s, got %d"
                         % (count, address, len(mails)))
        return [t for t in (ft.extract_edit_token(m) for m in mails) if t not in exclude], mails


class ReceiptTest(LinkCase):

    def test_first_submission_mails_the_edit_link(self):
        payload = ft.valid_payload()
        key = ft.new_key()
        raw = ft.encode_json(payload)
        resp = ft.submit(payload, key=key, raw=raw)
        body = self.assertCreated(resp)
        token = body["edit_token"]

        msg = self.receipt_token(payload["email"], token)
        self.assertIn(ft.base_url() + "/#edit=" + token, ft.mail_text(msg))
        self.assertTrue((msg["Subject"] or "").strip(), "the receipt has no subject")

        rows = self.wait_for_outbox_sent(payload["email"], 1)
        self.assertEqual(rows, [["receipt", "sent", "t", str(body["id"])]],
                         "expected one sent receipt whose body is erased")
        self.assertEqual(sql_int("SELECT count(*) FROM mail_outbox AS m "
                                 "WHERE strpos(m::text, :'p1') > 0", token), 0,
                         "the edit token is still stored in mail_outbox")
        # The token works.
        self.assertRepresentation(modify_get(token), body["id"], payload, version=1)

        # Replaying the submission sends nothing more.
        replay = ft.submit(payload, key=key, raw=raw)
        self.assertEqual(replay.body, resp.body, replay.describe())
        # A receipt is queued in the answer's own transaction, committed before the answer:
        # one queued by the replay would be there now. settled_mails then waits for the
        # sender to finish and fails if the server holds more than the outbox sent.
        self.assertEqual(len(outbox_rows(payload["email"])), 1, "the replay queued a receipt")
        self.assertEqual(len(ft.settled_mails(payload["email"])), 1, "the replay sent a receipt")


class LinkTest(LinkCase):

    def test_existing_email_gets_a_new_token_by_mail(self):
        source = ft.link_source()
        payload, created = ft.create_submission()
        old = created["edit_token"]
        self.receipt_token(payload["email"], old)

        resp = modify_link(payload["email"], source_address=source)
        self.assertAccepted(resp)
        tokens, mails = self.link_mails(payload["email"], 2, {old})
        self.assertEqual(len(tokens), 1, "expected one message with a new token")
        new = tokens[0]
        link_mail = next(m for m in mails if ft.extract_edit_token(m) == new)
        self.assertIn(ft.base_url() + "/#edit=" + new, ft.mail_text(link_mail))

        # The old token is revoked, the new one works; a new token is not a new version.
        self.assertProblem(modify_get(old), 401, "invalid_token")
        self.assertRepresentation(modify_get(new), created["id"], payload, version=1)
        self.assertEqual(stored_hash(created["id"]), ft.sha256_hex(new))

        rows = self.wait_for_outbox_sent(payload["email"], 2)
        self.assertEqual(sorted(r[0] for r in rows), ["edit_link", "receipt"], rows)
        self.assertTrue(all(r[2] == "t" and r[3] == str(created["id"]) for r in rows), rows)
        for table in ("mail_outbox", "audit_logs", "soumissions_disponibilites",
                      "modify_link_requests"):
            with self.subTest(table=table):
                self.assertEqual(sql_int("SELECT count(*) FROM %s AS t "
                                         "WHERE strpos(t::text, :'p1') > 0" % table, new), 0,
                                 "the new edit token is stored in %s" % table)
        # The audit row, written by the mail sender, names the request's own facts.
        self.assertEqual(ft.audit_entries(str(created["id"]), "submission.link_sent"),
                         [[payload["email"].lower(), source[0], resp.user_agent]])

    def test_app_role_updates_only_what_a_resolution_writes(self):
        for column, allowed in (("email", "t"), ("user_agent", "t"), ("request_id", "t"),
                                ("resolved_at", "t"), ("outcome", "t"), ("email_key", "f"),
                                ("client_addr", "f"), ("created_at", "f"), ("id", "f")):
            with self.subTest(column=column):
                self.assertEqual(sql_one("SELECT has_column_privilege('fiable_app', "
                                         "'modify_link_requests', :'p1', 'UPDATE')", column),
                                 allowed)
        self.assertEqual(sql_one("SELECT has_table_privilege('fiable_app', "
                                 "'modify_link_requests', 'TRUNCATE')"), "f")

    def test_request_during_a_long_pass_of_the_sender_is_resolved_at_once(self):
        # Forty messages keep the sender busy; the request's notification comes meanwhile,
        # with the results of its statements. The ceiling is below the sender's 30 s
        # period: only the notification can have woken it.
        recipients = [ft.unique_email("file-longue") for _ in range(40)]
        sql("INSERT INTO mail_outbox (kind, recipient, subject, body) "
            "SELECT 'edit_link', e, 'Message de remplissage', 'Bonjour,\n' "
            "FROM jsonb_array_elements_text(:'p1'::jsonb) AS e; "
            "SELECT pg_notify('fiable_outbox', 'test')", json.dumps(recipients))
        self.wait_for(lambda: sql_int("SELECT count(*) FROM mail_outbox WHERE status = 'sent' "
                                      "AND recipient = :'p1'", recipients[0]), 20,
                      "the sender did not start on the queued messages")
        source = ft.link_source()
        self.assertAccepted(modify_link(ft.unique_email("pendant"), source_address=source))
        self.assertEqual(self.wait_for_requests_resolved([source], 1, timeout=20),
                         ["no_answer"])
        self.wait_for(lambda: sql_int("SELECT count(*) FROM mail_outbox WHERE status = 'sent' "
                                      "AND recipient IN (SELECT jsonb_array_elements_text("
                                      ":'p1'::jsonb))", json.dumps(recipients)) == 40, 60,
                      "the queued messages were not all sent")

    def test_resolved_request_keeps_only_a_keyed_hash_of_the_address(self):
        source = ft.link_source()
        address = ft.unique_email("Cle")
        self.assertAccepted(modify_link(address, source_address=source))
        self.assertEqual(self.wait_for_requests_resolved([source], 1), ["no_answer"])
        rows = sql("SELECT encode(email_key, 'hex'), email, user_agent, request_id, "
                   "resolved_at IS NOT NULL FROM modify_link_requests "
                   "WHERE client_addr = :'p1'", source[0])
        self.assertEqual(len(rows), 1, rows)
        key, email, user_agent, request_id, resolved = rows[0]
        self.assertEqual((email, user_agent, request_id, resolved), (None, None, None, "t"),
                         "a resolved request still holds what only its resolution needed")
        with open(os.path.join(os.environ["FIABLE_VAR"], "secret"), encoding="ascii") as f:
            secret = bytes.fromhex(f.read().strip())
        self.assertEqual(key, hmac.new(secret, b"fiable modify link v1 " +
                                       address.lower().encode("ascii"),
                                       hashlib.sha256).hexdigest())
        self.assertEqual(sql_int("SELECT count(*) FROM modify_link_requests AS t "
                                 "WHERE strpos(lower(t::text), lower(:'p1')) > 0", address), 0,
                         "the address is still stored in modify_link_requests")

    def test_unknown_email_gets_the_same_answer_and_no_mail(self):
        source = ft.link_source()
        payload, created = ft.create_submission()
        self.receipt_token(payload["email"], created["edit_token"])
        known = modify_link(payload["email"], source_address=source)
        unknown_address = ft.unique_email("inconnue")
        unknown = modify_link(unknown_address, source_address=source)
        known_body = self.assertAccepted(known)
        unknown_body = self.assertAccepted(unknown)
        self.assertEqual(unknown_body, known_body,
                         "the answers differ for a known and an unknown e-mail\n%s\n%s"
                         % (known.describe(), unknown.describe()))
        self.assertEqual(unknown.media_type, known.media_type)
        self.assertEqual(self.wait_for_requests_resolved([source], 2),
                         ["link_queued", "no_answer"])
        tokens, _ = self.link_mails(payload["email"], 2, {created["edit_token"]})
        self.assertEqual(len(tokens), 1)
        self.assertNoMail(unknown_address)

    def test_withdrawn_submission_gets_no_link(self):
        source = ft.link_source()
        payload, created = ft.create_submission()
        token = created["edit_token"]
        self.receipt_token(payload["email"], token)
        self.assertRepresentation(ft.modify_delete(token, if_match=etag(1)), created["id"],
                                  withdrawn=True)
        self.assertAccepted(modify_link(payload["email"], source_address=source))
        self.assertEqual(self.wait_for_requests_resolved([source], 1), ["no_answer"])
        self.assertEqual(len(ft.mails_to(payload["email"])), 1, "a link was sent")
        self.assertEqual([r[0] for r in outbox_rows(payload["email"])], ["receipt"])
        self.assertEqual(stored_hash(created["id"]), ft.sha256_hex(token))
        self.assertEqual(modify_get(token).status, 200)

    def test_invalid_email_is_400(self):
        source = ft.link_source()
        known = ft.unique_email("lien")
        cases = {
            "no at sign": ({"email"}, {"email": "pas-une-adresse.example.org"}),
            "spaces": ({"email"}, {"email": "jean dupont@example.org"}),
            "empty": ({"email"}, {"email": ""}),
            "not a string": ({"email"}, {"email": 42}),
            "missing": ({"email"}, {}),
            # Unknown members are named (and nothing is sent), with the other faults.
            "misspelled": ({"email", "e-mail"}, {"e-mail": known}),
            "one more": ({"nom"}, {"email": known, "nom": "Camille"}),
        }
        for name, (fields, body) in cases.items():
            with self.subTest(case=name):
                resp = modify_link(None, raw=ft.encode_json(body), source_address=source)
                self.assertValidationErrors(resp, fields)
                time.sleep(PACE)
        # Nothing recorded from any of them (a refused request leaves no row).
        self.assertNotRecorded(source)
        self.assertNoMail(known)

    def test_more_than_3_requests_for_one_email_is_429(self):
        payload, created = ft.create_submission()
        old = created["edit_token"]
        self.receipt_token(payload["email"], old)
        # Each from another address: the limit is on the e-mail.
        sources = [ft.link_source() for _ in range(3)]
        for source in sources:
            self.assertAccepted(modify_link(payload["email"], source_address=source))
            time.sleep(PACE)
        self.assertEqual(self.wait_for_requests_resolved(sources, 3), ["link_queued"] * 3)
        tokens, _ = self.link_mails(payload["email"], 4, {old})
        self.assertEqual(len(set(tokens)), 3, "expected three new tokens: %r" % tokens)
        hash_before = stored_hash(created["id"])
        self.assertIn(hash_before, {ft.sha256_hex(t) for t in tokens})
        self.wait_for_outbox_sent(payload["email"], 4)

        refused = ft.link_source()
        resp = modify_link(payload["email"], source_address=refused)
        self.assertRateLimited(resp)
        self.assertNotRecorded(refused)
        self.assertEqual(len(ft.mails_to(payload["email"])), 4, "the refused request sent mail")
        self.assertEqual(stored_hash(created["id"]), hash_before,
                         "the refused request changed the token")
        self.assertEqual([r[0] for r in outbox_rows(payload["email"])],
                         ["receipt", "edit_link", "edit_link", "edit_link"])
        # The same limit whatever the case of the address.
        refused = ft.link_source()
        resp = modify_link(payload["email"].upper(), source_address=refused)
        self.assertRateLimited(resp)
        self.assertNotRecorded(refused)
        self.assertEqual(stored_hash(created["id"]), hash_before)

    def test_more_than_20_requests_from_one_address_is_429(self):
        source = ft.link_source()
        for i in range(20):
            resp = modify_link(ft.unique_email("adresse%d" % i), source_address=source)
            self.assertAccepted(resp)
            time.sleep(PACE)
        # The 21st, even for an existing submission, is refused and changes nothing.
        payload, created = ft.create_submission()
        self.receipt_token(payload["email"], created["edit_token"])
        resp = modify_link(payload["email"], source_address=source)
        self.assertRateLimited(resp)
        # The 20 accepted ones resolved: a refused request is never recorded, so nothing
        # more can come.
        self.assertEqual(self.wait_for_requests_resolved([source], 20), ["no_answer"] * 20)
        self.assertEqual(sql_int("SELECT count(*) FROM modify_link_requests "
                                 "WHERE client_addr = :'p1'", source[0]), 20)
        self.assertEqual(len(ft.mails_to(payload["email"])), 1, "the refused request sent mail")
        self.assertEqual(stored_hash(created["id"]), ft.sha256_hex(created["edit_token"]))
        self.assertEqual([r[0] for r in outbox_rows(payload["email"])], ["receipt"])
        # Another address is not limited.
        self.assertAccepted(modify_link(payload["email"], source_address=ft.link_source()))
        tokens, _ = self.link_mails(payload["email"], 2, {created["edit_token"]})
        self.assertEqual(len(tokens), 1)


# The timing test: pairs of requests, one for an address with an active answer and one for
# an unknown address, each pair in a random order, timed by the client as an attacker would.
# The endpoint must not tell them apart:
#     |median known - median unknown| <= max(TIMING_FLOOR_MS, TIMING_IQR_FACTOR x IQR),
# IQR the mean interquartile range of the two samples. When both come from one distribution,
# the standard error of a difference of medians of 100 + 100 draws is about
# 1.31 x IQR / sqrt(100) = 0.13 x IQR: the bound is 3 of them, and its floor keeps a quiet
# machine's tiny IQR from failing on a fraction of a millisecond.
TIMING_PAIRS = 100
TIMING_SOURCES = 20     # 10 requests each: under nginx's burst and the 20 per address
TIMING_FLOOR_MS = 1.0
TIMING_IQR_FACTOR = 0.4
TIMING_ROUNDS = 2       # a measure that fails is taken again; a real difference fails twice


def insert_active_submissions(addresses):
    """Active answers inserted directly (no receipt is sent); returns their ids."""
    return [r[0] for r in sql(
        "INSERT INTO soumissions_disponibilites (email, nom, edit_token_hash) "
        "SELECT e, 'Minuteur Test', sha256(convert_to(gen_random_uuid()::text, 'UTF8')) "
        "FROM jsonb_array_elements_text(:'p1'::jsonb) AS e RETURNING id",
        json.dumps(addresses))]


def mails_by_recipient(addresses):
    """The messages the test SMTP server received for each address (lowercased keys), read
    in one pass over the mailbox."""
    want = {a.lower() for a in addresses}
    found = {a: [] for a in want}
    for _, path in ft._mail_files():
        try:
            with open(path, "rb") as f:
                msg = ft.parse_mail(f.read())
        except FileNotFoundError:
            continue
        for addr in ft._recipients(msg) & want:
            found[addr].append(msg)
    return found


def quartiles(values):
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


class LinkTimingTest(LinkCase):
    """The answer's timing must not tell whether an address has an answer."""

    def measure(self, rng):
        known = [ft.unique_email("minuteur-c") for _ in range(TIMING_PAIRS)]
        unknown = [ft.unique_email("minuteur-i") for _ in range(TIMING_PAIRS)]
        insert_active_submissions(known)
        sources = [ft.link_source() for _ in range(TIMING_SOURCES)]
        times = {"known": [], "unknown": []}
        n = 0
        for k, u in zip(known, unknown):
            pair = [("known", k), ("unknown", u)]
            rng.shuffle(pair)
            for kind, address in pair:
                source = sources[n % len(sources)]
                n += 1
                start = time.perf_counter()
                resp = modify_link(address, source_address=source)
                elapsed = (time.perf_counter() - start) * 1000.0
                self.assertAccepted(resp)
                times[kind].append(elapsed)
        qk, qu = quartiles(times["known"]), quartiles(times["unknown"])
        iqr = ((qk[2] - qk[0]) + (qu[2] - qu[0])) / 2
        bound = max(TIMING_FLOOR_MS, TIMING_IQR_FACTOR * iqr)
        diff = qk[1] - qu[1]
        above = sum(t > qu[1] for t in times["known"]) * 100.0 / len(times["known"])
        report = ("median known %.2f ms, unknown %.2f ms (difference %+.2f ms, bound %.2f ms); "
                  "IQR known %.2f ms, unknown %.2f ms; %.0f %% of known requests slower than "
                  "the unknown median" % (qk[1], qu[1], diff, bound, qk[2] - qk[0],
                                          qu[2] - qu[0], above))
        return abs(diff) <= bound, report, known, unknown, sources

    def test_known_and_unknown_addresses_take_the_same_time(self):
        rng = random.Random()
        # Warm both workers (prepared statements) before measuring.
        warm = ft.link_source()
        for _ in range(4):
            self.assertAccepted(modify_link(ft.unique_email("minuteur-w"), source_address=warm))
        # The mail sender pauses: the work it does for a known address must not land on the
        # measures (and it is not what an attacker times).
        ft.dev("mailer-stop")
        reports, known, unknown, sources = [], [], [], []
        try:
            for _ in range(TIMING_ROUNDS):
                ok, report, k, u, s = self.measure(rng)
                reports.append(report)
                known += k
                unknown += u
                sources += s
                if ok:
                    break
        finally:
            ft.dev("mailer-start")
        sys.stderr.write("\n  " + "\n  ".join(reports) + "\n")
        self.assertTrue(ok, "the answer's time tells a known address from an unknown one, "
                        "in every round:\n  " + "\n  ".join(reports))

        # Once the sender runs again, each known address gets its link, no unknown one does.
        self.wait_for_requests_resolved(sources, len(known) + len(unknown), timeout=60)
        self.wait_for(lambda: sql_int(
            "SELECT count(*) FROM mail_outbox WHERE kind = 'edit_link' AND status = 'sent' "
            "AND lower(recipient) IN (SELECT lower(e) FROM jsonb_array_elements_text("
            ":'p1'::jsonb) AS e)", json.dumps(known)) == len(known), 60,
            "the links for the known addresses were not all sent")
        mails = mails_by_recipient(known + unknown)
        self.assertEqual({a for a in known if len(mails[a.lower()]) != 1}, set(),
                         "known addresses without exactly one link")
        self.assertEqual({a for a in unknown if mails[a.lower()]}, set(),
                         "unknown addresses that received mail")
        self.assertEqual(sql_int(
            "SELECT count(*) FROM mail_outbox WHERE lower(recipient) IN (SELECT lower(e) "
            "FROM jsonb_array_elements_text(:'p1'::jsonb) AS e)", json.dumps(unknown)), 0)


class LinkLimitRaceTest(LinkCase):
    """The limit of 3 link requests an hour per address holds under concurrency."""

    CONCURRENT = 10

    def fire_together(self, addresses):
        """Sends one request per address at the same moment, each from its own source;
        returns (responses, sources)."""
        sources = [ft.link_source() for _ in addresses]
        barrier = threading.Barrier(len(addresses))
        responses = [None] * len(addresses)

        def one(i):
            barrier.wait()
            responses[i] = modify_link(addresses[i], source_address=sources[i])

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(addresses))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertTrue(all(r is not None for r in responses), "a request did not finish")
        return responses, sources

    def assertExactlyThreeAccepted(self, responses, sources):
        """Accepted = answered 202 (the others 429) and recorded; returns the 202 sources."""
        statuses = [r.status for r in responses]
        self.assertEqual(sorted(statuses), [202] * 3 + [429] * (self.CONCURRENT - 3),
                         "expected exactly 3 accepted requests: %r" % statuses)
        for r in responses:
            if r.status == 429:
                self.assertRateLimited(r)
        accepted = [s[0] for r, s in zip(responses, sources) if r.status == 202]
        recorded = sorted(r[0] for r in sql(
            "SELECT client_addr FROM modify_link_requests WHERE client_addr IN "
            "(SELECT jsonb_array_elements_text(:'p1'::jsonb))",
            json.dumps([s[0] for s in sources])))
        self.assertEqual(recorded, sorted(accepted),
                         "the requests recorded are not exactly the 3 accepted ones")
        return accepted

    def test_ten_concurrent_requests_for_a_known_address_send_exactly_3_links(self):
        payload, created = ft.create_submission()
        old = created["edit_token"]
        self.receipt_token(payload["email"], old)
        address = payload["email"]
        # The same address written in several cases: the limit ignores case.
        addresses = [address.upper() if i % 2 else address for i in range(self.CONCURRENT)]
        responses, sources = self.fire_together(addresses)
        self.assertExactlyThreeAccepted(responses, sources)

        self.wait_for_requests_resolved(sources, 3)
        rows = self.wait_for_outbox_sent(address, 4)
        self.assertEqual(sorted(r[0] for r in rows), ["edit_link"] * 3 + ["receipt"], rows)
        tokens, _ = self.link_mails(address, 4, {old})
        self.assertEqual(len(set(tokens)), 3, "expected three new tokens: %r" % tokens)
        self.assertIn(stored_hash(created["id"]), {ft.sha256_hex(t) for t in tokens})
        self.assertEqual(len(ft.mails_to(address)), 4)

    def test_ten_concurrent_requests_for_an_unknown_address_accept_exactly_3(self):
        address = ft.unique_email("inconnue")
        responses, sources = self.fire_together([address] * self.CONCURRENT)
        self.assertExactlyThreeAccepted(responses, sources)
        self.wait_for_requests_resolved(sources, 3)
        self.assertEqual(outbox_rows(address), [])
        self.assertEqual(ft.mails_to(address), [])


class LinkSenderTest(LinkCase):
    """The mail sender's side of a link request: resolved once, even by two senders at once;
    the feature flag read again then; nothing sent so late that the window is over, and no
    row kept past it; the requests wait while mail is not configured."""

    @classmethod
    def setUpClass(cls):
        # These tests run the sender's pass by hand: the service would race them.
        ft.dev("mailer-stop")

    @classmethod
    def tearDownClass(cls):
        ft.dev("mailer-start")

    def run_pass(self, expected_rc=0, **env):
        proc = ft.run_outbox(**env)
        self.assertEqual(proc.returncode, expected_rc, "fiable-mail-outbox exited %d\n%s"
                         % (proc.returncode, proc.stderr))
        return proc

    def request_for_new_answer(self, prefix):
        """An active answer (inserted directly: no receipt) and one accepted link request
        for it; returns (address, submission id, source)."""
        address = ft.unique_email(prefix)
        sid = insert_active_submissions([address])[0]
        source = ft.link_source()
        self.assertAccepted(modify_link(address, source_address=source))
        return address, sid, source

    def test_two_senders_at_once_resolve_each_request_once(self):
        addresses = [ft.unique_email("deux-envois") for _ in range(20)]
        ids = insert_active_submissions(addresses)
        hashes = {sid: stored_hash(sid) for sid in ids}
        sources = [ft.link_source(), ft.link_source()]
        for i, address in enumerate(addresses):
            self.assertAccepted(modify_link(address, source_address=sources[i % 2]))
        self.assertEqual(sql_int("SELECT count(*) FROM modify_link_requests WHERE client_addr "
                                 "IN (:'p1', :'p2') AND resolved_at IS NULL",
                                 sources[0][0], sources[1][0]), 20,
                         "the requests were resolved without a sender running")
        self.assertEqual([stored_hash(sid) for sid in ids], [hashes[sid] for sid in ids],
                         "the endpoint changed a token itself")

        barrier = threading.Barrier(2)
        procs = [None, None]

        def sender(i):
            barrier.wait()
            procs[i] = ft.run_outbox()

        threads = [threading.Thread(target=sender, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for proc in procs:
            self.assertIsNotNone(proc, "a sender did not finish")
            self.assertEqual(proc.returncode, 0, proc.stderr)

        self.assertEqual(self.wait_for_requests_resolved(sources, 20), ["link_queued"] * 20)
        rows = sql("SELECT lower(recipient), status FROM mail_outbox WHERE kind = 'edit_link' "
                   "AND submission_id = ANY (string_to_array(:'p1', ',')::bigint[])",
                   ",".join(ids))
        self.assertEqual(sorted(rows), sorted([a.lower(), "sent"] for a in addresses),
                         "expected one sent link per request")
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE action = "
                                 "'submission.link_sent' AND entity_id = ANY "
                                 "(string_to_array(:'p1', ','))", ",".join(ids)), 20)
        mails = mails_by_recipient(addresses)
        for address, sid in zip(addresses, ids):
            got = mails[address.lower()]
            self.assertEqual(len(got), 1, "%d messages for %s" % (len(got), address))
            self.assertEqual(stored_hash(sid), ft.sha256_hex(ft.extract_edit_token(got[0])),
                             "the token of the link sent is not the one stored")

    def test_links_switched_off_after_the_request_are_not_sent(self):
        address, sid, source = self.request_for_new_answer("coupe")
        hash_before = stored_hash(sid)
        was = sql_one("SELECT coalesce((SELECT enabled::text FROM feature_flags "
                      "WHERE name = 'email_links'), 'true')")
        sql("UPDATE feature_flags SET enabled = false WHERE name = 'email_links'")
        self.addCleanup(sql, "UPDATE feature_flags SET enabled = :'p1'::boolean "
                        "WHERE name = 'email_links'", was)
        self.run_pass()
        self.assertEqual(self.wait_for_requests_resolved([source], 1), ["disabled"])
        self.assertNoMail(address)
        self.assertEqual(stored_hash(sid), hash_before)
        self.assertEqual(ft.audit_entries(sid, "submission.link_sent"), [])

    def test_requests_older_than_the_window_are_not_sent_and_not_kept(self):
        address = ft.unique_email("ancienne")
        sid = insert_active_submissions([address])[0]
        hash_before = stored_hash(sid)
        source = ft.link_source()[0]
        # Pending for 61 minutes (the sender was stopped); resolved 59 and 61 minutes ago.
        sql("INSERT INTO modify_link_requests (created_at, email_key, client_addr, email) "
            "VALUES (now() - interval '61 minutes', '\\x00', :'p1', :'p2')", source, address)
        sql("INSERT INTO modify_link_requests (created_at, email_key, client_addr, "
            "resolved_at, outcome) VALUES "
            "(now() - interval '59 minutes', '\\x01', :'p1', now(), 'no_answer'), "
            "(now() - interval '61 minutes', '\\x02', :'p1', now(), 'no_answer')", source)
        proc = self.run_pass()
        self.assertIn("1 trop ancienne(s)", proc.stderr)
        self.assertEqual(sql("SELECT encode(email_key, 'hex') FROM modify_link_requests "
                             "WHERE client_addr = :'p1'", source), [["01"]],
                         "only the request still inside the window is kept")
        self.assertNoMail(address)
        self.assertEqual(stored_hash(sid), hash_before)

    def test_requests_wait_while_mail_is_not_configured(self):
        address, sid, source = self.request_for_new_answer("sans-courriel")
        hash_before = stored_hash(sid)
        proc = self.run_pass(2, SMTP_URL="", FIABLE_MAIL_DIR="")
        self.assertRegex(proc.stderr, r"non configuré .*\b[1-9]\d* demande\(s\) de lien "
                         r"en attente")
        self.assertEqual(sql("SELECT outcome FROM modify_link_requests WHERE client_addr = "
                             ":'p1'", source[0]), [[None]])
        self.assertEqual(stored_hash(sid), hash_before, "a token changed with no way to send it")
        # Configured again: the request is resolved and its link sent.
        self.run_pass()
        self.assertEqual(self.wait_for_requests_resolved([source], 1), ["link_queued"])
        mails = ft.wait_for_mail(address)
        self.assertEqual(len(mails), 1)
        self.assertEqual(stored_hash(sid), ft.sha256_hex(ft.extract_edit_token(mails[0])))


class ComeBackByMailTest(LinkCase):
    """Test 4 of the deployment plan, coming back with the same e-mail address."""

    def test_come_back_by_email_and_change_the_slots(self):
        slots = ft.valid_slots(3)
        payload, created = ft.create_submission(creneaux=slots[:2])
        self.receipt_token(payload["email"], created["edit_token"])

        self.assertAccepted(modify_link(payload["email"], source_address=ft.link_source()))
        tokens, _ = self.link_mails(payload["email"], 2, {created["edit_token"]})
        self.assertEqual(len(tokens), 1)
        token = tokens[0]

        back = modify_get(token)
        self.assertRepresentation(back, created["id"], payload, version=1)
        new = ft.content_of(payload)
        new["creneaux"] = [slots[2]]
        resp = ft.modify_put(token, new, if_match=back.header("ETag"))
        body = self.assertRepresentation(resp, created["id"], new, version=2)
        self.assertHistoryEntry(body["historique"][0], 1, {"creneaux": (slots[:2], [slots[2]])},
                                resp)


if __name__ == "__main__":
    unittest.main(verbosity=2)
