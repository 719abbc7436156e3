#!/usr/bin/env python3
"""Reminders to the participants who have not answered (sql/0022, lib/reminders.c,
cgi-bin/campaigns_reminders.c, cron/fiable-reminders), against the real SMTP test server:
201 people imported and invited (200 mails arrive, each token distinct and working; one
address refused by the server, shown to the organiser with its error), 150 answer, the
organiser reminds the other 50 (the same personal link again, List-Unsubscribe), a second
click sends nothing; one unsubscribes with the List-Unsubscribe one-click POST and is left
out of the next scheduled reminder, which fiable-reminders sends once (a second run, or two
runs at once, send nothing more). The export of those who have not answered, the schedule
API, refusals (closed, archived, foreign Origin), the token that replaces one that cannot
be derived again."""

import csv
import io
import os
import re
import subprocess
import sys
import threading
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
REFUSED_PREFIX = "refus-smtp"   # tests/lib/boite_smtp.py: the test server refuses these (550)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def setUpModule():
    ft.require_env()


admin = ft.admin_api  # the organiser's API (fiable_test/web.py)


def new_campaign(acces="invites", closes_in="10 days"):
    slug = "rel-%s" % uuid.uuid4().hex[:10]
    cid = sql("INSERT INTO campagnes (slug, titre, etat, fermeture) VALUES (:'p1', :'p2', "
              "'ouverte', now() + :'p3'::interval) RETURNING id",
              slug, "Relances %s" % slug[-4:], closes_in)[0][0]
    slot = "%s-0" % slug
    sql("INSERT INTO creneaux (id, campagne_id, starts_at, ends_at, label) VALUES (:'p1', "
        ":'p2'::bigint, now() + interval '30 days', now() + interval '30 days 2 hours', "
        "'Lundi matin')", slot, cid)
    if acces != "ouvert":
        assert admin("PUT", "%s/%s/acces" % (BASE, cid), {"acces": acces}).status == 200
    return int(cid), slug, slot


def import_people(cid, rows):
    data = "\ufeffe-mail;nom;groupe\r\n" + "".join("%s;%s;%s\r\n" % r for r in rows)
    return admin("POST", "%s/%s/participants/import" % (BASE, cid), raw=data.encode(),
                 content_type="text/csv; charset=utf-8")


def listing(cid):
    resp = admin("GET", "%s/%s/participants" % (BASE, cid))
    assert resp.status == 200, resp.describe()
    return resp.json()


def mails_of(addresses, subject_word):
    """One pass over the test server's mailbox: {address: [messages whose subject has
    subject_word]}."""
    want = {a.lower() for a in addresses}
    out = {a: [] for a in want}
    for _mtime, path in ftm._mail_files():
        try:
            with open(path, "rb") as f:
                msg = ftm.parse_mail(f.read())
        except FileNotFoundError:
            continue
        if subject_word not in str(msg["Subject"]):
            continue
        for r in ftm._recipients(msg) & want:
            out[r].append(msg)
    return out


def outbox_pending(cid):
    """Mails of campaign cid's participants not yet in a final state."""
    return sql_int("SELECT count(*) FROM mail_outbox m WHERE m.status = 'pending' AND "
                   "lower(m.recipient) IN (SELECT lower(email) FROM participants "
                   "WHERE campagne_id = :'p1'::bigint)", cid)


def run_reminders(*args):
    prog = os.path.join(os.environ["FIABLE_TEST_BACKUP_BIN"], "fiable-reminders")
    proc = subprocess.run([prog, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=ftm.outbox_environment(), timeout=ceiling(120))
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    assert "runtime error" not in proc.stderr and "Sanitizer" not in proc.stderr, proc.stderr
    return proc


class Reminders(ft.FiableTestCase):

    def settle(self, cid, emails, word, expected):
        """Waits until the outbox has nothing pending for the campaign and the server holds
        `expected` messages (subject with word) in total for emails; returns them."""
        self.wait_for(lambda: outbox_pending(cid) == 0, 90,
                      "mails of campaign %s still pending" % cid)
        deadline = time.monotonic() + ceiling(30)
        while True:
            got = mails_of(emails, word)
            if sum(len(v) for v in got.values()) >= expected or time.monotonic() > deadline:
                return got
            time.sleep(0.2)

    def test_two_hundred_invited_fifty_reminded(self):
        cid, slug, slot = new_campaign()
        rows = [("p%03d-%s@relances.example.org" % (i, uuid.uuid4().hex[:6]),
                 "Personne n°%d" % i, ["Comptabilité", "Informatique"][i % 2])
                for i in range(200)]
        refused = "%s-%s@relances.example.org" % (REFUSED_PREFIX, uuid.uuid4().hex[:8])
        resp = import_people(cid, rows + [(refused, "Rémi Refus", "Informatique")])
        self.assertStatus(resp, 201)
        self.assertEqual(resp.json()["ajoutes"], 201)
        emails = [r[0].lower() for r in rows]

        # Invitations: 201 queued, 200 arrive, one refused by the server for good.
        resp = admin("POST", "%s/%s/participants/inviter" % (BASE, cid))
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json()["invitations"], 201)
        got = self.settle(cid, emails, "Invitation", 200)
        tokens = {}
        for e, msgs in got.items():
            self.assertEqual(len(msgs), 1, "invitations to %s: %d" % (e, len(msgs)))
            tokens[e] = TOKEN.findall(ftm.mail_text(msgs[0]))[0]
        self.assertEqual(len(set(tokens.values())), 200, "each token distinct")
        h = {"Content-Type": ft.JSON, "Origin": ft.own_origin()}
        for e, t in tokens.items():
            r = ft.request("POST", "/api/invitation", body=ft.encode_json({"jeton": t}),
                           headers=h)
            self.assertStatus(r, 200)
            self.assertEqual(r.json()["email"].lower(), e)
        lst = listing(cid)
        bad = [p for p in lst["participants"] if p["email"] == refused]
        self.assertEqual(bad[0]["invitation"], "refusee")
        self.assertIn("550", bad[0]["erreur_smtp"])
        self.assertEqual(lst["total"]["invitation_refusee"], 1)
        self.assertEqual(mails_of([refused], "Invitation")[refused.lower()], [])

        # 150 answer with their personal link.
        for e in emails[:150]:
            r = ft.submit({"campagne": slug, "email": e, "nom": "x", "creneaux": [slot],
                           "commentaire": "", "invitation": tokens[e]})
            self.assertStatus(r, 201)
        lst = listing(cid)
        self.assertEqual(lst["total"]["repondu"], 150)
        self.assertEqual(lst["total"]["sans_reponse"], 51)
        self.assertEqual(lst["total"]["taux_reponse"], round(150 / 201, 4))
        rel = admin("GET", "%s/%s/relances" % (BASE, cid))
        self.assertStatus(rel, 200)
        self.assertEqual(rel.json(), {"heures": [72, 24], "a_relancer": 50, "relances": []})

        # The export of those who have not answered: the 50, and the refused address.
        resp = admin("GET", "%s/%s/participants/sans-reponse.csv" % (BASE, cid))
        self.assertStatus(resp, 200)
        self.assertEqual(resp.header("Content-Type"), "text/csv; charset=utf-8")
        self.assertTrue(resp.body.startswith(b"\xef\xbb\xbf"))
        table = list(csv.reader(io.StringIO(resp.body[3:].decode()), delimiter=";"))
        self.assertEqual(table[0], ["E-mail", "Nom", "Groupe", "Statut invitation"])
        self.assertEqual(sorted(r[0].lower() for r in table[1:]),
                         sorted(emails[150:] + [refused]))
        line = [r for r in table[1:] if r[0] == refused][0]
        self.assertRegex(line[3], r"^invitation refusée par le serveur de courrier : .*550")

        # The organiser's reminder: 50 mails, each with the invitation's own link.
        before_audit = sql_int("SELECT coalesce(max(id), 0) FROM audit_logs")
        resp = admin("POST", "%s/%s/participants/relancer" % (BASE, cid))
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json(), {"envoyes": 50})
        got = self.settle(cid, emails + [refused], "Rappel", 50)
        reminded = {e for e, msgs in got.items() if msgs}
        self.assertEqual(reminded, set(emails[150:]))
        for e in emails[150:]:
            self.assertEqual(len(got[e]), 1)
            text = ftm.mail_text(got[e][0])
            self.assertEqual(TOKEN.findall(text), [tokens[e]], "the same link again")
            self.assertIn("le même que dans votre invitation", text)
            self.assertRegex(str(got[e][0]["List-Unsubscribe"]),
                             r"^<https?://[^>]+/api/desinscription\?p=\d+&s=[A-Za-z0-9_-]{43}>$")
            self.assertEqual(str(got[e][0]["List-Unsubscribe-Post"]),
                             "List-Unsubscribe=One-Click")
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE id > :'p1'::bigint "
                                 "AND action = 'participants.remind' AND actor = 'admin:admin' "
                                 "AND (details ->> 'envoyes')::int = 50", before_audit), 1)
        # A second click sends nothing (whoever was reminded less than 12 hours ago).
        resp = admin("POST", "%s/%s/participants/relancer" % (BASE, cid))
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json(), {"envoyes": 0})
        rel = admin("GET", "%s/%s/relances" % (BASE, cid)).json()
        self.assertEqual(rel["a_relancer"], 0)
        self.assertEqual([(r["genre"], r["admin"], r["envoyes"]) for r in rel["relances"]],
                         [("manuelle", "admin", 50)])

        # One unsubscribes with the List-Unsubscribe address of the reminder (RFC 8058).
        leaver = emails[199]
        url = re.match(r"^<https?://[^/]+(/[^>]+)>$",
                       str(got[leaver][0]["List-Unsubscribe"])).group(1)
        self.assertStatus(ft.request("POST", url, body=b"List-Unsubscribe=One-Click",
                                     headers=FORM), 200)

        # The closing moves to 20 hours from now: the scheduled reminder at 24 h is due,
        # and only that one (72 h has passed too: the nearest passed time is sent).
        sql("UPDATE campagnes SET fermeture = now() + interval '20 hours' "
            "WHERE id = :'p1'::bigint", cid)
        dry = run_reminders("--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertIn("campagne %d : relance à 24 h de la fermeture" % cid, dry.stdout)
        proc = run_reminders()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stderr, r"^fiable-reminders : \d+ relance\(s\) due\(s\), \d+ "
                         r"faite\(s\), \d+ courriel\(s\) mis en file, 0 échec\(s\)\n$")
        got = self.settle(cid, emails + [refused], "Rappel", 50 + 49)
        for e in emails[150:199]:
            self.assertEqual(len(got[e]), 2, e)
            self.assertEqual(TOKEN.findall(ftm.mail_text(got[e][1])), [tokens[e]])
        self.assertEqual(len(got[leaver]), 1, "unsubscribed: not reminded again")
        self.assertEqual(sql_int("SELECT envoyes FROM relances WHERE campagne_id = "
                                 ":'p1'::bigint AND genre = 'automatique' AND heures_avant = 24",
                                 cid), 49)
        # A second run sends nothing more.
        proc = run_reminders()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("campagne %d" % cid, run_reminders("--dry-run").stdout)
        self.assertEqual(sum(len(v) for v in
                             self.settle(cid, emails, "Rappel", 99).values()), 99)
        self.assertEqual(len(ftm.settled_mails(emails[150])), 3)

        # The reminder's link answers (it is the invitation's).
        r = ft.submit({"campagne": slug, "email": emails[150], "nom": "x", "creneaux": [slot],
                       "commentaire": "", "invitation": TOKEN.findall(
                           ftm.mail_text(got[emails[150]][1]))[0]})
        self.assertStatus(r, 201)
        self.assertEqual(listing(cid)["total"]["repondu"], 151)

    def test_two_runners_at_once_send_once(self):
        cid, _slug, _slot = new_campaign(acces="ouvert", closes_in="2 days")
        emails = [ft.unique_email("deux-relances") for _ in range(30)]
        self.assertStatus(import_people(cid, [(e, "Quelqu’un", "") for e in emails]), 201)
        self.assertEqual(admin("POST", "%s/%s/participants/inviter" % (BASE, cid))
                         .json()["invitations"], 30)
        self.settle(cid, emails, "Invitation", 30)
        procs = []
        threads = [threading.Thread(target=lambda: procs.append(run_reminders()))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([p.returncode for p in procs], [0, 0], [p.stderr for p in procs])
        got = self.settle(cid, emails, "Rappel", 30)
        self.assertEqual(sorted(len(v) for v in got.values()), [1] * 30)
        self.assertEqual(sql_int("SELECT count(*) FROM relances WHERE campagne_id = "
                                 ":'p1'::bigint", cid), 1)
        self.assertEqual(sql_int("SELECT envoyes FROM relances WHERE campagne_id = "
                                 ":'p1'::bigint", cid), 30)
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE action = "
                                 "'participants.remind' AND actor = 'cron:fiable-reminders' "
                                 "AND entity_id = :'p1'", str(cid)), 1)

    def test_schedule_api(self):
        cid, _slug, _slot = new_campaign(acces="ouvert")
        url = "%s/%s/relances" % (BASE, cid)
        resp = admin("PUT", url, {"heures": [6, 48]})
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json(), {"heures": [48, 6]})
        self.assertEqual(admin("GET", url).json()["heures"], [48, 6])
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE action = "
                                 "'campagne.update' AND entity_id = :'p1' AND details -> "
                                 "'champs' ? 'relances_heures'", str(cid)), 1)
        self.assertEqual(admin("PUT", url, {"heures": []}).json(), {"heures": []})
        for bad in ({"heures": [0]}, {"heures": [24, 24]}, {"heures": ["24"]},
                    {"heures": [1.5]}, {"heures": [2161]}, {"heures": [1, 2, 3, 4, 5, 6]},
                    {"heures": 24}, {}):
            r = admin("PUT", url, bad)
            self.assertStatus(r, 400)
            self.assertFrench(r.json()["errors"]["heures"], r, "heures")
        r = admin("PUT", url, {"heures": [24], "en_plus": 1})
        self.assertStatus(r, 400)
        self.assertIn("en_plus", r.json()["errors"])
        r = admin("PUT", url, {"heures": [24]}, headers={"Origin": "https://ailleurs.example"})
        self.assertStatus(r, 403)
        self.assertEqual(admin("GET", url).json()["heures"], [])
        self.assertStatus(admin("GET", "%s/99999999/relances" % BASE), 404)

    def test_refused_when_not_taking_answers(self):
        cid, _slug, _slot = new_campaign(acces="ouvert")
        url = "%s/%s/participants/relancer" % (BASE, cid)
        self.assertStatus(admin("POST", url, headers={"Origin": "https://ailleurs.example"}),
                          403)
        sql("UPDATE campagnes SET etat = 'close' WHERE id = :'p1'::bigint", cid)
        r = admin("POST", url)
        self.assertProblem(r, 409, "relance_impossible")
        self.assertFrench(r.json()["detail"], r, "detail")
        sql("UPDATE campagnes SET etat = 'archivee' WHERE id = :'p1'::bigint", cid)
        self.assertProblem(admin("POST", url), 409, "campagne_archivee")
        self.assertEqual(sql_int("SELECT count(*) FROM relances WHERE campagne_id = "
                                 ":'p1'::bigint", cid), 0)

    def test_token_that_cannot_be_derived_is_replaced(self):
        cid, slug, _slot = new_campaign()
        email = ft.unique_email("nouveau-lien")
        self.assertStatus(admin("POST", "%s/%s/participants" % (BASE, cid),
                                {"email": email, "nom": "Noé Nouveau"}), 201)
        admin("POST", "%s/%s/participants/inviter" % (BASE, cid))
        old = TOKEN.findall(ftm.mail_text(ftm.settled_mails(email)[0]))[0]
        # As if FIABLE_SECRET had changed since the invitation.
        sql("UPDATE participants SET jeton_sel = decode(md5(random()::text), 'hex') "
            "WHERE campagne_id = :'p1'::bigint", cid)
        self.assertEqual(admin("POST", "%s/%s/participants/relancer" % (BASE, cid))
                         .json(), {"envoyes": 1})
        msgs = ftm.settled_mails(email)
        self.assertEqual(len(msgs), 2)
        text = ftm.mail_text(msgs[1])
        self.assertIn("il remplace celui de votre invitation", text)
        new = TOKEN.findall(text)[0]
        self.assertNotEqual(new, old)
        h = {"Content-Type": ft.JSON, "Origin": ft.own_origin()}
        self.assertStatus(ft.request("POST", "/api/invitation",
                                     body=ft.encode_json({"jeton": new}), headers=h), 200)
        self.assertProblem(ft.request("POST", "/api/invitation",
                                      body=ft.encode_json({"jeton": old}), headers=h), 403,
                           "invitation_invalide")
        # A participant reminded can still be removed (its reminder rows go with it).
        pid = sql_int("SELECT id FROM participants WHERE campagne_id = :'p1'::bigint", cid)
        self.assertStatus(admin("DELETE", "%s/%s/participants/%d" % (BASE, cid, pid)), 200)
        self.assertEqual(sql_int("SELECT count(*) FROM relances_envois WHERE participant_id = "
                                 ":'p1'::bigint", pid), 0)
        self.assertEqual(sql_int("SELECT envoyes FROM relances WHERE campagne_id = "
                                 ":'p1'::bigint", cid), 1, "the record of the reminder stays")

    def test_cron_usage(self):
        prog = os.path.join(os.environ["FIABLE_TEST_BACKUP_BIN"], "fiable-reminders")
        ok = subprocess.run([prog, "--help"], capture_output=True, text=True)
        self.assertEqual(ok.returncode, 0)
        self.assertIn("relances automatiques", ok.stdout)
        bad = subprocess.run([prog, "--bogus"], capture_output=True, text=True)
        self.assertEqual(bad.returncode, 64)
        bad = subprocess.run([prog, "extra"], capture_output=True, text=True)
        self.assertEqual(bad.returncode, 64)


if __name__ == "__main__":
    unittest.main()
