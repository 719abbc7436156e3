#!/usr/bin/env python3
"""Invitations, the person's side (issue 16): in an invited-only campaign an answer without a
token, or with another participant's e-mail, is refused (403, French detail); once answered,
the personal invitation token is also the edit credential of /api/modify and /api/restore,
for that participant's answer in that campaign only (never another person's answer, never
another campaign's), and a change keeps the list's e-mail and name; the unsubscribe address
of the mails works from a browser (GET: a page with a button that posts) and in one click
(RFC 8058 POST)."""

import os
import re
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import sql, sql_int  # noqa: E402
from fiable_test import mail as ftm  # noqa: E402
# The campaign and participant helpers of the organiser's side, not a second copy of them.
from test_participants import BASE, TOKEN, admin, answer, new_campaign  # noqa: E402

JSON_ORIGIN = {"Content-Type": ft.JSON, "Origin": None}


def setUpModule():
    ft.require_env()


def add_participant(cid, email, nom, groupe=None):
    body = {"email": email, "nom": nom}
    if groupe:
        body["groupe"] = groupe
    resp = admin("POST", "%s/%s/participants" % (BASE, cid), body)
    assert resp.status == 201, resp.describe()
    return resp.json()["id"]


def invite(cid, emails):
    """Sends the campaign's invitations; {email: (token, message)} from the real SMTP
    server's mailbox (the newest invitation of each address)."""
    resp = admin("POST", "%s/%s/participants/inviter" % (BASE, cid))
    assert resp.status == 200, resp.describe()
    out = {}
    for e in emails:
        msgs = [m for m in ftm.settled_mails(e) if "Invitation" in str(m["Subject"])]
        assert msgs, "no invitation for %s" % e
        out[e] = (TOKEN.findall(ftm.mail_text(msgs[-1]))[0], msgs[-1])
    return out


def invitation(token):
    h = dict(JSON_ORIGIN, Origin=ft.own_origin())
    return ft.request("POST", "/api/invitation", body=ft.encode_json({"jeton": token}),
                      headers=h)


def stored(submission_id):
    """(email, nom, creneaux, version, withdrawn) of a stored answer, typed."""
    e, n, c, v, w = sql("SELECT email, nom, creneaux::text, version, deleted_at IS NOT NULL "
                        "FROM soumissions_disponibilites WHERE id = :'p1'::bigint",
                        submission_id)[0]
    return e, n, c, int(v), w == "t"


def body(slug, slot, email, nom, commentaire=""):
    return {"email": email, "nom": nom, "creneaux": [slot], "commentaire": commentaire}


class InvitedPerson(ft.FiableTestCase):

    def test_invited_only_answers_and_the_link_as_edit_link(self):
        cid, slug, slot = new_campaign()
        anne, bruno = ft.unique_email("anne"), ft.unique_email("bruno")
        add_participant(cid, anne, "Anne Invitée", "Accueil")
        add_participant(cid, bruno, "Bruno Invité", "Accueil")
        tokens = invite(cid, [anne, bruno])
        ta, tb = tokens[anne][0], tokens[bruno][0]

        # Before answering, the token is not an edit credential.
        self.assertProblem(ft.modify_get(ta), 401, "invalid_token")
        self.assertFalse(invitation(ta).json()["repondu"])

        # Refused, each with a French detail, and nothing stored.
        n_before = sql_int("SELECT count(*) FROM soumissions_disponibilites "
                           "WHERE campagne_id = :'p1'::bigint", cid)
        for resp, code in ((answer(slug, slot, anne), "invitation_requise"),
                           (answer(slug, slot, bruno, token=ta), "invitation_autre_email"),
                           (answer(slug, slot, anne, token=ta[:-1] + ("A" if ta[-1] != "A"
                                                                      else "B")),
                            "invitation_invalide")):
            self.assertProblem(resp, 403, code)
            self.assertFrench(resp.json()["detail"], resp, "detail")
        self.assertEqual(sql_int("SELECT count(*) FROM soumissions_disponibilites "
                                 "WHERE campagne_id = :'p1'::bigint", cid), n_before)

        ra = answer(slug, slot, anne, token=ta, nom="Pas mon nom")
        self.assertStatus(ra, 201)
        self.assertEqual(ra.json()["nom"], "Anne Invitée")
        rb = answer(slug, slot, bruno, token=tb)
        self.assertStatus(rb, 201)
        id_a, id_b = ra.json()["id"], rb.json()["id"]

        # Answered: POST /api/invitation says so, and the token opens Anne's answer.
        info = invitation(ta).json()
        self.assertEqual((info["repondu"], info["reponse"], info["acces"]),
                         (True, "repondu", "invites"))
        got = ft.modify_get(ta)
        self.assertStatus(got, 200)
        self.assertEqual((got.json()["id"], got.json()["email"]), (id_a, anne))
        self.assertEqual(got.header("ETag"), ft.etag(1))
        self.assertEqual(ft.modify_get(tb).json()["id"], id_b)

        # A change with the invitation token: Anne's answer only, e-mail and name kept.
        before_b = stored(id_b)
        put = ft.modify_put(ta, body(slug, slot, anne, "Autre Nom", "Plutôt le matin"),
                            if_match=ft.etag(1))
        self.assertStatus(put, 200)
        self.assertEqual((put.json()["version"], put.json()["nom"],
                          put.json()["commentaire"]), (2, "Anne Invitée", "Plutôt le matin"))
        self.assertEqual(stored(id_b), before_b)
        # Another participant's e-mail, or any other address: refused, nothing written.
        for other in (bruno, ft.unique_email("ailleurs")):
            resp = ft.modify_put(ta, body(slug, slot, other, "Anne Invitée"),
                                 if_match=ft.etag(2))
            self.assertProblem(resp, 403, "invitation_autre_email")
            self.assertFrench(resp.json()["detail"], resp, "detail")
        self.assertEqual(stored(id_a)[3], 2)
        self.assertEqual(stored(id_b), before_b)
        # Bruno's token can read and change Bruno's answer, never Anne's.
        self.assertEqual(ft.modify_get(tb).json()["email"], bruno)
        self.assertStatus(ft.modify_put(tb, body(slug, slot, bruno, "Bruno Invité", "B"),
                                        if_match=ft.etag(1)), 200)
        self.assertEqual(stored(id_a)[3], 2)

        # The organiser's list (the view participants_reponses) sees both as answered.
        lst = admin("GET", "%s/%s/participants" % (BASE, cid)).json()
        self.assertEqual({p["email"]: p["reponse"] for p in lst["participants"]},
                         {anne: "repondu", bruno: "repondu"})

        # Withdraw with the token, then undo it with the same token.
        self.assertStatus(ft.modify_delete(ta, if_match=ft.etag(2)), 200)
        self.assertTrue(stored(id_a)[4])
        self.assertEqual((invitation(ta).json()["repondu"], invitation(ta).json()["reponse"]),
                         (False, "retire"))
        und = ft.restore(ta, {"undelete": True}, if_match=ft.etag(3))
        self.assertStatus(und, 200)
        self.assertFalse(stored(id_a)[4])
        self.assertTrue(invitation(ta).json()["repondu"])
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE entity_id = :'p1' "
                                 "AND action IN ('submission.update', 'submission.withdraw', "
                                 "'submission.undelete')", str(id_a)), 3)

    def test_token_of_campaign_a_refused_on_campaign_b(self):
        a_id, a_slug, a_slot = new_campaign()
        b_id, b_slug, b_slot = new_campaign()
        email = ft.unique_email("deux")
        for cid in (a_id, b_id):
            add_participant(cid, email, "Dana Deux")
        ta = invite(a_id, [email])[email][0]
        self.assertProblem(answer(b_slug, b_slot, email, token=ta), 403, "invitation_invalide")
        tb = invite(b_id, [email])[email][0]
        self.assertNotEqual(ta, tb)
        id_a = answer(a_slug, a_slot, email, token=ta).json()["id"]
        id_b = answer(b_slug, b_slot, email, token=tb).json()["id"]

        # Each token opens its own campaign's answer, never the other campaign's.
        got = ft.modify_get(ta)
        self.assertEqual((got.json()["id"], got.json()["campagne"]), (id_a, a_slug))
        self.assertEqual(ft.modify_get(tb).json()["id"], id_b)
        before_b = stored(id_b)
        # A's token with B's slot: checked against A's catalogue, so refused; B untouched.
        resp = ft.modify_put(ta, body(b_slug, b_slot, email, "Dana Deux"), if_match=ft.etag(1))
        self.assertStatus(resp, 400)
        self.assertIn("creneaux", resp.json()["errors"])
        self.assertStatus(ft.modify_delete(ta, if_match=ft.etag(1)), 200)
        self.assertTrue(stored(id_a)[4])
        self.assertEqual(stored(id_b), before_b)
        # A token of A cannot answer, read or undo anything in B; B's token still works.
        self.assertProblem(answer(b_slug, b_slot, email, token=ta), 403, "invitation_invalide")
        self.assertEqual(ft.modify_get(tb).json()["deleted_at"], None)

    def test_open_campaign_personal_link(self):
        cid, slug, slot = new_campaign(acces="ouvert")
        email = ft.unique_email("ouvert")
        add_participant(cid, email, "Olga Ouverte")
        token = invite(cid, [email])[email][0]
        self.assertEqual(invitation(token).json()["acces"], "ouvert")
        # In an open campaign anyone answers without a token; the personal link then opens
        # the answer of its participant (matched by e-mail, as the organiser's list does).
        sub = answer(slug, slot, email.upper(), nom="Olga O.")
        self.assertStatus(sub, 201)
        self.assertEqual(ft.modify_get(token).json()["id"], sub.json()["id"])
        # Not invited-only: the person may correct the name.
        put = ft.modify_put(token, body(slug, slot, email, "Olga Ouverte-Corrigée"),
                            if_match=ft.etag(1))
        self.assertStatus(put, 200)
        self.assertEqual(put.json()["nom"], "Olga Ouverte-Corrigée")
        # A token that invites nobody opens nothing.
        self.assertProblem(ft.modify_get("Z" * 43), 401, "invalid_token")

    def test_unsubscribe_from_a_browser_and_in_one_click(self):
        cid, _slug, _slot = new_campaign()
        titre = "Rentrée <b>& \"réunion\" %d</b>" % cid
        sql("UPDATE campagnes SET titre = :'p1' WHERE id = :'p2'::bigint", titre, cid)
        email = ft.unique_email("desinscription")
        pid = add_participant(cid, email, "Dan Désinscrit")
        msg = invite(cid, [email])[email][1]
        url = re.match(r"^<https?://[^/]+(/[^>]+)>$", str(msg["List-Unsubscribe"])).group(1)
        escaped = "Rentrée &lt;b&gt;&amp; &quot;réunion&quot; %d&lt;/b&gt;" % cid
        browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

        # GET, as a mail client opens the link in a browser: a page, nothing changed yet.
        page = ft.request("GET", url, headers=browser)
        self.assertStatus(page, 200)
        self.assertMediaType(page, "text/html")
        html = page.body.decode("utf-8")
        self.assertIn(escaped, html)
        self.assertNotIn("<b>", html)
        action = re.search(r'<form method="post" action="([^"]+)">', html).group(1)
        self.assertEqual(action.replace("&amp;", "&"), url)
        self.assertIn('name="List-Unsubscribe" value="One-Click"', html)
        self.assertIn("Ne plus recevoir les relances", html)
        self.assertIn("default-src 'self'", page.header("Content-Security-Policy"))
        self.assertEqual(page.header("Cache-Control"), "no-store")
        self.assertFalse(admin("GET", "%s/%s/participants" % (BASE, cid)).json()
                         ["participants"][0]["desinscrit_relances"])

        # A bad signature: a French page, 403, nothing changed.
        bad = re.sub(r"s=.", "s=" + ("B" if url.split("s=")[1][0] != "B" else "C"), url)
        refused = ft.request("GET", bad, headers=browser)
        self.assertStatus(refused, 403)
        self.assertIn("pas valable", refused.body.decode("utf-8"))
        self.assertStatus(ft.request("POST", bad, body=b"List-Unsubscribe=One-Click",
                                     headers=dict(browser, **{
                                         "Content-Type": "application/x-www-form-urlencoded"})),
                          403)

        # The page's button: the browser posts the form, and gets the confirmation page.
        form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": ft.own_origin()}
        done = ft.request("POST", action.replace("&amp;", "&"), body=b"List-Unsubscribe=One-Click",
                          headers=dict(browser, **form))
        self.assertStatus(done, 200)
        self.assertMediaType(done, "text/html")
        self.assertIn("Vous ne recevrez plus les relances de la campagne « <strong id=\"campagne\">"
                      + escaped, done.body.decode("utf-8"))
        self.assertTrue(sql("SELECT desinscrit_relances_at IS NOT NULL FROM participants "
                            "WHERE id = :'p1'::bigint", pid)[0][0] == "t")
        # Opened again: it says so, without a button.
        again = ft.request("GET", url, headers=browser).body.decode("utf-8")
        self.assertIn("déjà désinscrit", again)
        self.assertNotIn("<form", again)

        # One click (RFC 8058), as a mail client posts it: JSON, once more changes nothing.
        one = ft.request("POST", url, body=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertStatus(one, 200)
        self.assertEqual(one.json()["campagne"], titre)
        self.assertIn("Vous ne recevrez plus les relances de la campagne « %s »" % titre,
                      one.json()["message"])
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE action = "
                                 "'participant.update' AND entity_id = :'p1'", str(pid)), 1)

    def test_one_click_first(self):
        """RFC 8058 on its own: the POST unsubscribes at once, no page needed."""
        cid, _slug, _slot = new_campaign()
        email = ft.unique_email("unclic")
        pid = add_participant(cid, email, "Una Clic")
        msg = invite(cid, [email])[email][1]
        url = re.match(r"^<https?://[^/]+(/[^>]+)>$", str(msg["List-Unsubscribe"])).group(1)
        r = ft.request("POST", url, body=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertStatus(r, 200)
        self.assertMediaType(r, "application/json")
        self.assertEqual(sql("SELECT desinscrit_relances_at IS NOT NULL FROM participants "
                             "WHERE id = :'p1'::bigint", pid)[0][0], "t")


if __name__ == "__main__":
    unittest.main(verbosity=2)
