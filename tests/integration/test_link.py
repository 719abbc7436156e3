#!/usr/bin/env python3
"""Edit links by e-mail: the receipt sent after a first submission, and POST
/api/modify/link, which issues a new token to the owner of an active submission without
telling anyone else whether it exists, within per-e-mail and per-address limits.

Link requests come from a loopback address of their own per test (ft.link_source()): the
per-address limit is not lifted for 127.0.0.1."""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import etag, modify_get, modify_link, sql, sql_int  # noqa: E402

NO_MAIL_WAIT = 2.0      # seconds to wait before concluding that no message is coming
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
        mails = ft.wait_for_mail(address, timeout=NO_MAIL_WAIT)
        self.assertEqual(mails, [], "a message was sent to %s:\n%s"
                         % (address, "\n".join(ft.mail_text(m) for m in mails)))
        self.assertEqual(outbox_rows(address), [], "a message was queued for %s" % address)

    def wait_for_outbox_sent(self, recipient, count):
        """Waits until `count` messages for recipient are marked sent; returns the rows."""
        def done():
            rows = outbox_rows(recipient)
            return rows if len(rows) >= count and all(r[1] == "sent" for r in rows) else None
        return self.wait_for(done, 10, "the messages for %s are not all marked sent: %r"
                             % (recipient, outbox_rows(recipient)))

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
        time.sleep(NO_MAIL_WAIT)
        self.assertEqual(len(ft.mails_to(payload["email"])), 1, "the replay sent a receipt")
        self.assertEqual(len(outbox_rows(payload["email"])), 1, "the replay queued a receipt")


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
        for table in ("mail_outbox", "audit_logs", "soumissions_disponibilites"):
            self.assertEqual(sql_int("SELECT count(*) FROM %s AS t "
                                     "WHERE strpos(t::text, :'p1') > 0" % table, new), 0,
                             "the new edit token is stored in %s" % table)

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
        self.assertNoMail(unknown_address)

    def test_withdrawn_submission_gets_no_link(self):
        source = ft.link_source()
        payload, created = ft.create_submission()
        token = created["edit_token"]
        self.receipt_token(payload["email"], token)
        self.assertRepresentation(ft.modify_delete(token, if_match=etag(1)), created["id"],
                                  withdrawn=True)
        self.assertAccepted(modify_link(payload["email"], source_address=source))
        time.sleep(NO_MAIL_WAIT)
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
        self.assertEqual(ft.sql_int("SELECT count(*) FROM modify_link_requests "
                                    "WHERE email_lower = :'p1'", known), 0)

    def test_more_than_3_requests_for_one_email_is_429(self):
        payload, created = ft.create_submission()
        old = created["edit_token"]
        self.receipt_token(payload["email"], old)
        # Each from another address: the limit is on the e-mail.
        for _ in range(3):
            self.assertAccepted(modify_link(payload["email"], source_address=ft.link_source()))
            time.sleep(PACE)
        tokens, _ = self.link_mails(payload["email"], 4, {old})
        self.assertEqual(len(set(tokens)), 3, "expected three new tokens: %r" % tokens)
        hash_before = stored_hash(created["id"])
        self.assertIn(hash_before, {ft.sha256_hex(t) for t in tokens})

        resp = modify_link(payload["email"], source_address=ft.link_source())
        self.assertRateLimited(resp)
        time.sleep(NO_MAIL_WAIT)
        self.assertEqual(len(ft.mails_to(payload["email"])), 4, "the refused request sent mail")
        self.assertEqual(stored_hash(created["id"]), hash_before,
                         "the refused request changed the token")
        self.assertEqual([r[0] for r in outbox_rows(payload["email"])],
                         ["receipt", "edit_link", "edit_link", "edit_link"])
        # The same limit whatever the case of the address.
        resp = modify_link(payload["email"].upper(), source_address=ft.link_source())
        self.assertRateLimited(resp)
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
        time.sleep(NO_MAIL_WAIT)
        self.assertEqual(len(ft.mails_to(payload["email"])), 1, "the refused request sent mail")
        self.assertEqual(stored_hash(created["id"]), ft.sha256_hex(created["edit_token"]))
        self.assertEqual([r[0] for r in outbox_rows(payload["email"])], ["receipt"])
        # Another address is not limited.
        self.assertAccepted(modify_link(payload["email"], source_address=ft.link_source()))
        tokens, _ = self.link_mails(payload["email"], 2, {created["edit_token"]})
        self.assertEqual(len(tokens), 1)


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
