#!/usr/bin/env python3
"""Participants and invited-only campaigns (sql/0018, fiable-campaigns …/participants,
POST /api/submit with "invitation"): a CSV of 200 people (BOM, ';') imported, a bad file
refused line by line with nothing stored; invitations through the outbox and the real SMTP
test server (200 mails, distinct tokens stored only as SHA-256, List-Unsubscribe One-Click),
a second sending queues nothing; answers of an invited-only campaign refused without a token,
with another participant's e-mail or with a token of another campaign; the list shows who
answered and the response rate per group and in total."""

import hashlib
import os
import re
import sys
import time
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import ceiling, sql, sql_int  # noqa: E402
from fiable_test import mail as ftm  # noqa: E402

BASE = "/api/admin/campagnes"
TOKEN = re.compile(r"#invitation=([A-Za-z0-9_-]+)")


def setUpModule():
    ft.require_env()


admin = ft.admin_api  # the organiser's API (fiable_test/web.py)


def new_campaign(acces="invites", etat="ouverte"):
    """An open campaign with one slot; acces set through the API. Returns (id, slug, slot)."""
    slug = "part-%s" % uuid.uuid4().hex[:10]
    cid = sql("INSERT INTO campagnes (slug, titre, etat) VALUES (:'p1', :'p2', :'p3') "
              "RETURNING id", slug, "Réunion de rentrée %s" % slug[-4:], etat)[0][0]
    slot = "%s-0" % slug
    sql("INSERT INTO creneaux (id, campagne_id, starts_at, ends_at, label) VALUES (:'p1', "
        ":'p2'::bigint, now() + interval '30 days', now() + interval '30 days 2 hours', "
        "'Lundi matin')", slot, cid)
    if acces != "ouvert":
        resp = admin("PUT", "%s/%s/acces" % (BASE, cid), {"acces": acces})
        assert resp.status == 200, resp.describe()
    return int(cid), slug, slot


def people(n, domain):
    groups = ["Comptabilité", "Informatique", "Ressources humaines", ""]
    return [("p%03d-%s@%s" % (i, uuid.uuid4().hex[:6], domain), "Personne n°%d" % i,
             groups[i % 4]) for i in range(n)]


def csv_bytes(rows, sep=";", bom=True, header=True):
    lines = (["e-mail%snom%sgroupe" % (sep, sep)] if header else []) + [
        sep.join(r) for r in rows]
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    return (b"\xef\xbb\xbf" if bom else b"") + data


def import_csv(cid, data):
    return admin("POST", "%s/%s/participants/import" % (BASE, cid), raw=data,
                 content_type="text/csv; charset=utf-8")


def listing(cid):
    resp = admin("GET", "%s/%s/participants" % (BASE, cid))
    assert resp.status == 200, resp.describe()
    return resp.json()


def mails_by_recipient(addresses):
    """One pass over the test SMTP server's mailbox: {address: [messages]}."""
    want = {a.lower() for a in addresses}
    out = {a: [] for a in want}
    for _mtime, path in ftm._mail_files():
        try:
            with open(path, "rb") as f:
                msg = ftm.parse_mail(f.read())
        except FileNotFoundError:
            continue
        for r in ftm._recipients(msg) & want:
            out[r].append(msg)
    return out


def invitations_pending(cid):
    return sql_int("SELECT count(*) FROM participants p JOIN mail_outbox m "
                   "ON m.id = p.invitation_mail_id WHERE p.campagne_id = :'p1'::bigint "
                   "AND m.status = 'pending'", cid)


def answer(slug, slot, email, token=None, nom="Quelqu'un d'autre"):
    body = {"campagne": slug, "email": email, "nom": nom, "creneaux": [slot],
            "commentaire": ""}
    if token is not None:
        body["invitation"] = token
    return ft.submit(body)


def column_privileges(role, table, privilege):
    """The columns of table on which role holds privilege (a table or a column grant)."""
    return {r[0] for r in sql(
        "SELECT attname FROM pg_attribute WHERE attrelid = :'p2'::regclass AND attnum > 0 "
        "AND NOT attisdropped AND has_column_privilege(:'p1', :'p2'::regclass, attnum, :'p3')",
        role, table, privilege)}


class Participants(ft.FiableTestCase):

    def test_privileges(self):
        self.assertEqual(column_privileges("fiable_app", "participants", "INSERT"),
                         {"campagne_id", "email", "nom", "groupe"})
        self.assertEqual(column_privileges("fiable_app", "participants", "UPDATE"),
                         {"jeton_invitation_hash", "invited_at", "invitation_mail_id",
                          "statut_invitation", "erreur_smtp", "desinscrit_relances_at",
                          "jeton_sel"})
        for role, privilege, expected in (("fiable_app", "DELETE", "t"),
                                          ("fiable_app", "TRUNCATE", "f"),
                                          ("fiable_backup", "SELECT", "t"),
                                          ("fiable_backup", "INSERT", "f")):
            self.assertEqual(sql("SELECT has_table_privilege(:'p1', 'participants', :'p2')",
                                 role, privilege)[0][0], expected, (role, privilege))

    def invite_and_collect(self, cid, emails):
        """POST …/inviter, then waits for the outbox to deliver all; {email: token}."""
        resp = admin("POST", "%s/%s/participants/inviter" % (BASE, cid))
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json()["invitations"], len(emails))
        self.wait_for(lambda: invitations_pending(cid) == 0, 60,
                      "the invitations of campaign %s still pending" % cid)
        deadline = time.monotonic() + ceiling(30)
        while True:
            got = mails_by_recipient(emails)
            if all(len(v) >= 1 for v in got.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        tokens = {}
        for e, msgs in got.items():
            self.assertEqual(len(msgs), 1, "mails to %s: %d" % (e, len(msgs)))
            m = msgs[0]
            self.assertIn("Invitation", str(m["Subject"]))
            found = TOKEN.findall(ftm.mail_text(m))
            self.assertEqual(len(found), 1, ftm.mail_text(m))
            self.assertRegex(str(m["List-Unsubscribe"]),
                             r"^<https?://[^>]+/api/desinscription\?p=\d+&s=[A-Za-z0-9_-]{43}>$")
            self.assertEqual(str(m["List-Unsubscribe-Post"]), "List-Unsubscribe=One-Click")
            tokens[e] = found[0]
        return tokens

    def test_import_invite_answer_and_rate(self):
        cid, slug, slot = new_campaign()
        rows = people(200, "invites.example.org")
        before_audit = sql_int("SELECT coalesce(max(id), 0) FROM audit_logs")
        resp = import_csv(cid, csv_bytes(rows))
        self.assertStatus(resp, 201)
        self.assertEqual(resp.json()["ajoutes"], 200)
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE id > :'p1'::bigint "
                                 "AND action = 'participant.create' AND actor = 'admin:admin'",
                                 before_audit), 200)
        lst = listing(cid)
        self.assertEqual(lst["acces"], "invites")
        self.assertEqual(len(lst["participants"]), 200)
        self.assertEqual({p["invitation"] for p in lst["participants"]}, {"a_inviter"})
        self.assertEqual(lst["total"]["participants"], 200)
        self.assertEqual(lst["total"]["sans_reponse"], 200)
        self.assertEqual(lst["total"]["taux_reponse"], 0)
        self.assertEqual(sorted((g["groupe"], g["participants"]) for g in lst["groupes"]
                                if g["groupe"] is not None),
                         [("Comptabilité", 50), ("Informatique", 50),
                          ("Ressources humaines", 50)])
        self.assertEqual([g["participants"] for g in lst["groupes"] if g["groupe"] is None],
                         [50])

        emails = [r[0] for r in rows]
        tokens = self.invite_and_collect(cid, emails)
        self.assertEqual(len(set(tokens.values())), 200, "each token distinct")
        # Only the SHA-256 of each token is stored; no body is left in the outbox.
        stored = {r[0].lower(): r[1] for r in sql(
            "SELECT lower(email), encode(jeton_invitation_hash, 'hex') FROM participants "
            "WHERE campagne_id = :'p1'::bigint", cid)}
        for e, t in tokens.items():
            self.assertEqual(stored[e], hashlib.sha256(t.encode()).hexdigest())
        self.assertEqual(sql_int("SELECT count(*) FROM mail_outbox m JOIN participants p "
                                 "ON p.invitation_mail_id = m.id WHERE p.campagne_id = "
                                 ":'p1'::bigint AND m.body IS NOT NULL", cid), 0)
        lst = listing(cid)
        self.assertEqual({p["invitation"] for p in lst["participants"]}, {"envoyee"})

        # A second sending queues nothing, and nothing more arrives.
        resp = admin("POST", "%s/%s/participants/inviter" % (BASE, cid))
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json()["invitations"], 0)
        self.assertEqual(len(ftm.settled_mails(emails[0])), 1)

        # Invited-only answers.
        first, second, third = emails[0], emails[1], emails[2]
        n_before = sql_int("SELECT count(*) FROM soumissions_disponibilites "
                           "WHERE campagne_id = :'p1'::bigint", cid)
        r = answer(slug, slot, first)
        self.assertProblem(r, 403, "invitation_requise")
        r = answer(slug, slot, first, token="x" * 43)
        self.assertProblem(r, 403, "invitation_invalide")
        r = answer(slug, slot, third, token=tokens[second.lower()])
        self.assertProblem(r, 403, "invitation_autre_email")
        self.assertEqual(sql_int("SELECT count(*) FROM soumissions_disponibilites "
                                 "WHERE campagne_id = :'p1'::bigint", cid), n_before)
        r = answer(slug, slot, first.upper(), token=tokens[first.lower()])
        self.assertStatus(r, 201)
        self.assertEqual(r.json()["email"], first)
        self.assertEqual(r.json()["nom"], "Personne n°0")
        r = answer(slug, slot, second, token=tokens[second.lower()])
        self.assertStatus(r, 201)

        lst = listing(cid)
        by_mail = {p["email"]: p for p in lst["participants"]}
        self.assertEqual(by_mail[first]["reponse"], "repondu")
        self.assertEqual(by_mail[second]["reponse"], "repondu")
        self.assertEqual(by_mail[third]["reponse"], "sans_reponse")
        self.assertEqual(lst["total"]["repondu"], 2)
        self.assertEqual(lst["total"]["sans_reponse"], 198)
        self.assertEqual(lst["total"]["taux_reponse"], 0.01)
        # Person 0 is in Comptabilité, person 1 in Informatique: 1 of 50 each.
        rate = {g["groupe"]: g["taux_reponse"] for g in lst["groupes"]}
        self.assertEqual(rate["Comptabilité"], 0.02)
        self.assertEqual(rate["Informatique"], 0.02)
        self.assertEqual(rate["Ressources humaines"], 0)

    def test_bad_file_nothing_stored(self):
        cid, _slug, _slot = new_campaign()
        resp = admin("POST", "%s/%s/participants" % (BASE, cid),
                     {"email": "deja@exemple.be", "nom": "Déjà Là"})
        self.assertStatus(resp, 201)
        data = csv_bytes([
            ("bon@exemple.be", "Bon", "A"),          # line 2
            ("pas-une-adresse", "Mauvais", ""),      # 3
            ("sansnom@exemple.be", "", ""),          # 4
            ("BON@exemple.be", "Doublon", ""),       # 5: line 2 again
            ("deja@exemple.be", "Déjà", ""),         # 6: on the list
        ], sep=",", bom=False)
        resp = import_csv(cid, data)
        self.assertProblem(resp, 422, "import_participants_invalide")
        errs = resp.json()["erreurs"]
        lines = [e["ligne"] for e in errs]
        # Per-line faults are found first; the duplicates once the lines are valid.
        self.assertEqual(lines, [3, 4])
        for e in errs:
            self.assertFrench(e["message"], resp, "message")
        resp = import_csv(cid, csv_bytes([("bon@exemple.be", "Bon", "A"),
                                          ("BON@exemple.be", "Doublon", ""),
                                          ("deja@exemple.be", "Déjà", "")], bom=False))
        self.assertProblem(resp, 422, "import_participants_invalide")
        errs = resp.json()["erreurs"]
        self.assertEqual([e["ligne"] for e in errs], [3, 4])
        self.assertIn("ligne 2", errs[0]["message"])
        self.assertIn("déjà dans la liste", errs[1]["message"])
        self.assertEqual(sql_int("SELECT count(*) FROM participants "
                                 "WHERE campagne_id = :'p1'::bigint", cid), 1)

    def test_add_remove_conflict_origin_archived(self):
        cid, _slug, _slot = new_campaign(acces="ouvert")
        url = "%s/%s/participants" % (BASE, cid)
        resp = admin("POST", url, {"email": "Anne@exemple.be", "nom": "Anne", "groupe": "A"})
        self.assertStatus(resp, 201)
        pid = resp.json()["id"]
        self.assertEqual(resp.json()["invitation"], "a_inviter")
        self.assertProblem(admin("POST", url, {"email": "anne@EXEMPLE.be", "nom": "Autre"}),
                           409, "participant_existant")
        r = admin("POST", url, {"email": "x@exemple.be", "nom": "X", "role": "chef"})
        self.assertStatus(r, 400)
        self.assertIn("role", r.json()["errors"])
        r = admin("POST", url, {"email": "y@exemple.be", "nom": "Y"},
                  headers={"Origin": "https://ailleurs.example"})
        self.assertStatus(r, 403)
        self.assertStatus(admin("DELETE", "%s/%d" % (url, pid + 100000)), 404)
        resp = admin("DELETE", "%s/%d" % (url, pid))
        self.assertStatus(resp, 200)
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE action = "
                                 "'participant.delete' AND entity_id = :'p1'", str(pid)), 1)
        sql("UPDATE campagnes SET etat = 'archivee' WHERE id = :'p1'::bigint", cid)
        self.assertProblem(admin("POST", url, {"email": "z@exemple.be", "nom": "Z"}), 409,
                           "campagne_archivee")

    def test_token_of_another_campaign(self):
        a_id, a_slug, a_slot = new_campaign()
        b_id, b_slug, b_slot = new_campaign()
        email = ft.unique_email("deux")
        for cid in (a_id, b_id):
            self.assertStatus(admin("POST", "%s/%s/participants" % (BASE, cid),
                                    {"email": email, "nom": "Deux Campagnes"}), 201)
        resp = admin("POST", "%s/%s/participants/inviter" % (BASE, a_id))
        self.assertEqual(resp.json()["invitations"], 1)
        msgs = ftm.settled_mails(email)
        self.assertEqual(len(msgs), 1)
        token = TOKEN.findall(ftm.mail_text(msgs[0]))[0]
        self.assertProblem(answer(b_slug, b_slot, email, token=token), 403,
                           "invitation_invalide")
        self.assertStatus(answer(a_slug, a_slot, email, token=token), 201)

    def test_refusal_by_the_mail_server_shown(self):
        """The state of an invitation follows its mail (the trigger of sql/0018). The test
        SMTP server accepts every address, so the outbox's final refusal is written here as
        fiable-mail-outbox writes it (STMT_OUTBOX_GIVE_UP), on a message still pending."""
        cid, _slug, _slot = new_campaign()
        sql("UPDATE campagnes SET etat = 'brouillon' WHERE id = :'p1'::bigint", cid)
        email = ft.unique_email("refus")
        self.assertStatus(admin("POST", "%s/%s/participants" % (BASE, cid),
                                {"email": email, "nom": "Rémi Refus"}), 201)
        self.assertProblem(admin("POST", "%s/%s/participants/inviter" % (BASE, cid)), 409,
                           "campagne_brouillon")
        sql("UPDATE campagnes SET etat = 'ouverte' WHERE id = :'p1'::bigint", cid)
        # Queued in a transaction that also gives the message up before any sender sees it.
        sql("BEGIN; SELECT 1 FROM campagnes WHERE id = :'p1'::bigint FOR UPDATE; "
            "WITH m AS (INSERT INTO mail_outbox (kind, recipient, subject, body) VALUES "
            "('invitation', :'p2', 'Invitation', NULL) RETURNING id) "
            "UPDATE participants SET jeton_invitation_hash = sha256(convert_to('x' || "
            "participants.id::text, 'UTF8')), invited_at = now(), invitation_mail_id = m.id "
            "FROM m WHERE campagne_id = :'p1'::bigint; "
            "UPDATE mail_outbox SET status = 'failed', attempts = attempts + 1, last_error = "
            "'550 5.1.1 boîte inconnue', body = NULL WHERE recipient = :'p2'; COMMIT",
            cid, email)
        lst = listing(cid)
        p = lst["participants"][0]
        self.assertEqual(p["invitation"], "refusee")
        self.assertEqual(p["erreur_smtp"], "550 5.1.1 boîte inconnue")
        self.assertEqual(lst["total"]["invitation_refusee"], 1)

    def test_invitation_prefill_and_unsubscribe(self):
        cid, slug, _slot = new_campaign()
        email = ft.unique_email("lien")
        self.assertStatus(admin("POST", "%s/%s/participants" % (BASE, cid),
                                {"email": email, "nom": "Léa Lien", "groupe": "B"}), 201)
        self.assertEqual(admin("POST", "%s/%s/participants/inviter" % (BASE, cid))
                         .json()["invitations"], 1)
        msgs = ftm.settled_mails(email)
        self.assertEqual(len(msgs), 1)
        token = TOKEN.findall(ftm.mail_text(msgs[0]))[0]
        self.assertIn("/c/%s/#invitation=%s" % (slug, token), ftm.mail_text(msgs[0]))
        h = {"Content-Type": ft.JSON, "Origin": ft.own_origin()}
        r = ft.request("POST", "/api/invitation", body=ft.encode_json({"jeton": token}),
                       headers=h)
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {"nom": "Léa Lien", "email": email, "campagne": slug,
                                    "titre": sql("SELECT titre FROM campagnes WHERE id = "
                                                 ":'p1'::bigint", cid)[0][0],
                                    "acces": "invites", "reponse": "sans_reponse",
                                    "repondu": False})
        self.assertEqual(r.header("Cache-Control"), "no-store")
        r = ft.request("POST", "/api/invitation", body=ft.encode_json({"jeton": "A" * 43}),
                       headers=h)
        self.assertProblem(r, 403, "invitation_invalide")
        r = ft.request("POST", "/api/invitation",
                       body=ft.encode_json({"jeton": token, "email": email}), headers=h)
        self.assertStatus(r, 400)

        # One click (RFC 8058): what a mail client posts to the List-Unsubscribe address.
        url = re.match(r"^<https?://[^/]+(/[^>]+)>$", str(msgs[0]["List-Unsubscribe"])).group(1)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        bad = re.sub(r"s=.", "s=" + ("B" if url.split("s=")[1][0] != "B" else "C"), url)
        self.assertProblem(ft.request("POST", bad, body=b"List-Unsubscribe=One-Click",
                                      headers=form), 403, "invitation_invalide")
        for _ in range(2):
            r = ft.request("POST", url, body=b"List-Unsubscribe=One-Click", headers=form)
            self.assertStatus(r, 200)
            self.assertFrench(r.json()["message"], r, "message")
        p = listing(cid)["participants"][0]
        self.assertTrue(p["desinscrit_relances"])
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE action = "
                                 "'participant.update' AND entity_id = :'p1'",
                                 str(p["id"])), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
