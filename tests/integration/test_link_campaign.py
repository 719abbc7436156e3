#!/usr/bin/env python3
"""POST /api/modify/link per campaign (sql/0017): "campagne" names the campaign whose
answer of the address gets the new link (absent: the first campaign, as before campaigns);
the mail names that campaign's title and links to its page (/c/<slug>/#edit=…, the first
campaign's /#edit=). An unknown campaign is refused (422 on "campagne") and nothing is
recorded. The limits count an address's requests across campaigns."""
import os
import re
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import encode_json, modify_get, modify_link, sql, sql_int  # noqa: E402
from test_campaign_person import new_campaign, payload  # noqa: E402

PACE = 0.15             # seconds between link requests (nginx: 10 writes/s per address)


def setUpModule():
    ft.require_env()


def link_for(address, source, campagne=None):
    """POST /api/modify/link for address, naming campagne unless None."""
    body = {"email": address}
    if campagne is not None:
        body["campagne"] = campagne
    return modify_link(address, source_address=source, raw=encode_json(body))


class LinkCampaignTest(ft.ModifyTestCase):

    def answer_both(self):
        """One address that answered the first campaign and a campaign B of its own.
        Returns (address, (first id, first token), (B slug, B title, B id, B token))."""
        address = ft.unique_email("lien-campagne")
        _, first = ft.create_submission(email=address)
        titre = "Jury de juin %s" % ft.new_key()[:6]
        slug, _, ids = new_campaign(titre=titre, fermeture="now() + interval '3 days'")
        resp = ft.submit(payload(slug, [ids[1]], email=address))
        b = self.assertCreated(resp)
        self.assertEqual(len(ft.wait_for_mail(address, count=2)), 2, "two receipts expected")
        return address, (first["id"], first["edit_token"]), (slug, titre, b["id"],
                                                             b["edit_token"])

    def link_mail(self, address, count, known):
        """Waits for the count-th message to address; returns (its token, its text) for the
        one message whose token is not in known."""
        mails = ft.wait_for_mail(address, count=count)
        self.assertEqual(len(mails), count, "expected %d messages for %s" % (count, address))
        new = [m for m in mails if ft.extract_edit_token(m) not in known]
        self.assertEqual(len(new), 1, "expected one message with a new token")
        return ft.extract_edit_token(new[0]), ft.mail_text(new[0])

    def test_link_opens_the_answer_of_the_campaign_named(self):
        address, (first_id, first_token), (slug, titre, b_id, b_token) = self.answer_both()
        known = {first_token, b_token}

        # Naming B: B's answer gets a new token, the first campaign's keeps its own.
        self.assertStatus(link_for(address, ft.link_source(), slug), 202)
        token, text = self.link_mail(address, 3, known)
        known.add(token)
        self.assertIn(ft.base_url() + "/c/%s/#edit=%s" % (slug, token), text)
        self.assertIn("« %s »" % titre, text)
        body = self.assertRepresentation(modify_get(token), b_id, version=1)
        self.assertEqual(body["campagne"], slug)
        self.assertProblem(modify_get(b_token), 401, "invalid_token")
        self.assertRepresentation(modify_get(first_token), first_id, version=1)

        # Without "campagne": the first campaign's answer, at its old address /#edit=.
        self.assertStatus(link_for(address, ft.link_source()), 202)
        token2, text2 = self.link_mail(address, 4, known)
        self.assertRegex(text2, re.escape(ft.base_url()) + r"/#edit=" + re.escape(token2))
        self.assertNotIn("/c/", text2)
        first_title = sql("SELECT titre FROM campagnes WHERE id = campagne_par_defaut()")[0][0]
        self.assertIn("« %s »" % first_title, text2)
        body = self.assertRepresentation(modify_get(token2), first_id, version=1)
        self.assertEqual(body["campagne"], "disponibilites")
        self.assertProblem(modify_get(first_token), 401, "invalid_token")
        self.assertRepresentation(modify_get(token), b_id, version=1)
        self.assertEqual(len(ft.settled_mails(address)), 4, "more messages than expected")

    def test_campaign_without_an_answer_gets_no_link(self):
        address = ft.unique_email("lien-sans-reponse")
        _, first = ft.create_submission(email=address)
        slug, _, _ = new_campaign(fermeture="now() + interval '3 days'")
        source = ft.link_source()
        self.assertStatus(link_for(address, source, slug), 202)
        self.wait_for(lambda: sql_int("SELECT count(*) FROM modify_link_requests "
                                      "WHERE client_addr = :'p1' AND outcome = 'no_answer'",
                                      source[0]) == 1, ft.ceiling(20),
                      "the request naming a campaign without an answer is not resolved "
                      "as no_answer")
        self.assertEqual(len(ft.settled_mails(address)), 1, "only the receipt expected")
        self.assertRepresentation(modify_get(first["edit_token"]), first["id"], version=1)

    def test_unknown_campaign_is_refused_and_nothing_recorded(self):
        address = ft.unique_email("lien-inconnue")
        ft.create_submission(email=address)
        cases = {"inconnue-" + ft.new_key()[:8]: 422, "../etc": 422, "A" * 10: 422,
                 "x" * 65: 422, "": 422, 12: 400, None: 400}
        for campagne, status in cases.items():
            with self.subTest(campagne=campagne):
                source = ft.link_source()
                body = {"email": address, "campagne": campagne}
                resp = modify_link(address, source_address=source, raw=encode_json(body))
                self.assertProblem(resp, status, "campagne_inconnue" if status == 422
                                   else "validation_failed")
                errors = resp.json().get("errors") or {}
                self.assertEqual(set(errors), {"campagne"}, resp.describe())
                self.assertFrench(errors["campagne"], resp, "errors.campagne")
                self.assertEqual(sql_int("SELECT count(*) FROM modify_link_requests "
                                         "WHERE client_addr = :'p1'", source[0]), 0,
                                 "a refused request was recorded")
                time.sleep(PACE)
        # An invalid e-mail and an unknown member are still told apart from the campaign.
        source = ft.link_source()
        resp = modify_link("pas-une-adresse", source_address=source,
                           raw=encode_json({"email": "pas-une-adresse", "campagn": "x"}))
        self.assertProblem(resp, 400, "validation_failed")
        self.assertEqual(set(resp.json()["errors"]), {"email", "campagn"}, resp.describe())
        self.assertEqual(len(ft.settled_mails(address)), 1, "only the receipt expected")

    def test_limit_per_address_counts_across_campaigns(self):
        address = ft.unique_email("lien-limite")
        slug_b, _, _ = new_campaign(fermeture="now() + interval '3 days'")
        slug_c, _, _ = new_campaign(fermeture="now() + interval '3 days'")
        for campagne in (None, slug_b, slug_c):
            self.assertStatus(link_for(address, ft.link_source(), campagne), 202)
            time.sleep(PACE)
        resp = link_for(address, ft.link_source(), slug_b)
        self.assertProblem(resp, 429, "rate_limited")


if __name__ == "__main__":
    unittest.main(verbosity=2)
