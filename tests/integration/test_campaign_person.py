#!/usr/bin/env python3
"""Campaigns on the person's side: GET /api/form?campagne= and GET /api/campagnes
(served from each worker's memory, dropped on NOTIFY and on reconnection), POST /api/submit
into a named campaign with its deadline and grace period enforced by the database's clock,
/api/modify after the closing, and the receipt naming the campaign."""
import json
import time
import unittest
import urllib.parse
import uuid

import fiable_test as ft
from fiable_test import JSON, ceiling, dev, get, request, sql, sql_int, submit

PROBLEM = "application/problem+json"


def new_campaign(etat="ouverte", ouverture="NULL", fermeture="NULL", grace="0",
                 modification="NULL", titre=None, slots=2):
    """A campaign (times are SQL expressions, relative to the database's now()) with its
    own slots. Returns (slug, id, [slot ids])."""
    slug = "itest-%s" % uuid.uuid4().hex[:12]
    titre = titre or "Campagne de test %s" % slug[-6:]
    cid = sql("INSERT INTO campagnes (slug, titre, introduction, etat, ouverture, fermeture, "
              "delai_grace, modification_jusqu_a) VALUES (:'p1', :'p2', 'Une introduction.', "
              ":'p3', %s, %s, :'p4'::interval, %s) RETURNING id"
              % (ouverture, fermeture, modification), slug, titre, etat, grace + " minutes")[0][0]
    ids = ["%s-%d" % (slug, i) for i in range(slots)]
    for i, sid in enumerate(ids):
        sql("INSERT INTO creneaux (id, campagne_id, starts_at, ends_at, label, position) "
            "VALUES (:'p1', :'p2'::bigint, now() + interval '40 days' + :'p3'::integer * "
            "interval '1 day', now() + interval '40 days 2 hours' + :'p3'::integer * "
            "interval '1 day', :'p4', :'p3'::integer)", sid, cid, i, "Créneau %d" % i)
    return slug, cid, ids


def form(slug=None):
    return get(ft.FORM + ("" if slug is None else "?campagne=" + urllib.parse.quote(slug)))


def payload(slug, slots, email=None, **extra):
    p = {"email": email or ft.unique_email("camp"), "nom": "Camille Campagne",
         "creneaux": slots, "commentaire": ""}
    if slug is not None:
        p["campagne"] = slug
    p.update(extra)
    return p


class CampaignPersonTest(ft.FiableTestCase):

    def wait_form(self, slug, predicate, what):
        """GET the form until predicate(body) holds for several requests in a row (each
        worker has its own cache), within a ceiling."""
        deadline = time.monotonic() + ceiling(15)
        streak, last = 0, None
        while streak < 8:
            last = form(slug)
            self.assertStatus(last, 200)
            streak = streak + 1 if predicate(last.json()) else 0
            if streak == 0 and time.monotonic() >= deadline:
                self.fail("%s: not seen in GET /api/form after %.0f s\n%s"
                          % (what, ceiling(15), last.describe()))
            if streak == 0:
                time.sleep(0.05)
        return last.json()

    # --- GET /api/form, GET /api/campagnes ---------------------------------------------

    def test_form_of_each_phase(self):
        cases = {
            "a_venir": dict(ouverture="now() + interval '1 day'"),
            "ouverte": dict(fermeture="now() + interval '1 day'"),
            "retard": dict(ouverture="now() - interval '2 days'",
                           fermeture="now() - interval '1 minute'", grace="60"),
            "close": dict(fermeture="now() - interval '1 hour'"),
        }
        for phase, kw in cases.items():
            slug, _, ids = new_campaign(**kw)
            resp = form(slug)
            self.assertStatus(resp, 200)
            body = resp.json()
            c = body["campagne"]
            self.assertEqual(c["slug"], slug)
            self.assertEqual(c["phase"], phase, resp.describe())
            self.assertEqual(set(c), {"slug", "titre", "introduction", "phase", "ouverture",
                                      "fermeture", "fin_delai_grace", "modification_jusqu_a",
                                      "fuseau", "acces"})
            self.assertEqual(c["acces"], "ouvert")
            self.assertEqual([s["id"] for s in body["creneaux"]], ids)
            self.assertIn("regles", body)
            self.assertIn("fonctionnalites", body)
            if c["fermeture"] is not None:
                self.assertRegex(c["fermeture"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
        listed = {c["slug"]: c for c in get("/api/campagnes").json()["campagnes"]}
        for slug in listed:
            self.assertIn(listed[slug]["phase"], {"a_venir", "ouverte", "retard"})
        for etat in ("brouillon", "archivee"):
            slug, _, _ = new_campaign(etat=etat)
            resp = form(slug)
            self.assertProblem(resp, 404, "campagne_introuvable")
            self.assertFrench(resp.json()["detail"], resp, "detail")
            self.assertNotIn(slug, [c["slug"] for c in get("/api/campagnes").json()["campagnes"]])
        for bad in ("inconnue-" + uuid.uuid4().hex[:8], "../etc", "A" * 10, "x" * 65, "-a"):
            self.assertProblem(form(bad), 404, "campagne_introuvable")
        # Without ?campagne=: the first campaign, as before.
        self.assertEqual(form().json()["campagne"]["slug"], "disponibilites")

    def test_campaign_list_shape(self):
        slug, _, _ = new_campaign(fermeture="now() + interval '3 days'")
        self.wait_form(slug, lambda b: True, "campaign")
        deadline = time.monotonic() + ceiling(15)
        while True:
            resp = get("/api/campagnes")
            self.assertStatus(resp, 200)
            found = [c for c in resp.json()["campagnes"] if c["slug"] == slug]
            if found:
                break
            self.assertLess(time.monotonic(), deadline, resp.describe())
            time.sleep(0.05)
        self.assertEqual(set(found[0]), {"slug", "titre", "phase", "ouverture", "fermeture",
                                         "adresse"})
        self.assertEqual(found[0]["adresse"], "/c/%s/" % slug)

    def test_cache_follows_changes(self):
        slug, cid, ids = new_campaign()
        for _ in range(8):       # warm the caches of the workers
            self.assertStatus(form(slug), 200)
        sql("INSERT INTO creneaux (id, campagne_id, starts_at, ends_at, label, position) "
            "VALUES (:'p1', :'p2'::bigint, now() + interval '50 days', "
            "now() + interval '50 days 1 hour', 'Ajouté', 99)", slug + "-new", cid)
        self.wait_form(slug, lambda b: [s["id"] for s in b["creneaux"]] == ids + [slug + "-new"],
                       "a slot added")
        sql("UPDATE campagnes SET titre = 'Titre changé' WHERE id = :'p1'::bigint", cid)
        self.wait_form(slug, lambda b: b["campagne"]["titre"] == "Titre changé",
                       "the campaign edited")
        sql("UPDATE creneaux SET retire_at = now() WHERE id = :'p1'", ids[0])
        self.wait_form(slug, lambda b: ids[0] not in [s["id"] for s in b["creneaux"]],
                       "a slot removed")

    def test_phase_changes_with_the_clock(self):
        # Opens in 2 s: the cached a_venir form expires at the opening.
        slug, _, _ = new_campaign(ouverture="now() + interval '2 seconds'")
        self.assertEqual(form(slug).json()["campagne"]["phase"], "a_venir")
        self.wait_form(slug, lambda b: b["campagne"]["phase"] == "ouverte", "the opening")

    def test_reconnection_drops_the_cache(self):
        ft.require_dev()
        slug, cid, _ = new_campaign()
        for _ in range(8):
            self.assertStatus(form(slug), 200)
        dev("db-restart", "fast")
        ft.wait_db_ready()
        # Said to nobody: the workers' LISTEN went with their old connections.
        sql("UPDATE campagnes SET titre = 'Après le redémarrage' WHERE id = :'p1'::bigint", cid)
        self.wait_form(slug, lambda b: b["campagne"]["titre"] == "Après le redémarrage",
                       "the change made while the workers were reconnecting")

    # --- POST /api/submit ------------------------------------------------------------

    def test_same_email_answers_two_campaigns(self):
        a, _, ids_a = new_campaign(titre="Réunion de printemps")
        b, _, ids_b = new_campaign(titre="Permanences d'été")
        email = ft.unique_email("deux")
        ra = submit(payload(a, ids_a[:1], email))
        rb = submit(payload(b, ids_b, email))
        self.assertStatus(ra, 201)
        self.assertStatus(rb, 201)
        self.assertEqual(ra.json()["campagne"], a)
        self.assertEqual(rb.json()["campagne"], b)
        self.assertIs(ra.json()["en_retard"], False)
        self.assertProblem(submit(payload(a, ids_a, email)), 409, "already_submitted")
        # A slot of another campaign is not on this form.
        bad = submit(payload(a, ids_b[:1]))
        self.assertStatus(bad, 400)
        mails = ft.settled_mails(email)
        self.assertEqual(len(mails), 2, [str(m["Subject"]) for m in mails])
        texts = [ft.mail_text(m) for m in mails]
        for slug, titre, text in ((a, "Réunion de printemps", texts[0]),
                                  (b, "Permanences d'été", texts[1])):
            self.assertIn("« %s »" % titre, text)
            self.assertIn("/c/%s/#edit=" % slug, text)
        # Each token opens its own answer, which names its campaign.
        resp = request("GET", "/api/modify", headers={
            "Authorization": "Bearer " + ft.extract_edit_token(mails[1])})
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json()["campagne"], b)

    def test_first_campaign_by_default(self):
        resp = submit(ft.valid_payload())
        self.assertStatus(resp, 201)
        self.assertNotIn("campagne", resp.json())
        named = submit(ft.valid_payload(campagne="disponibilites"))
        self.assertStatus(named, 201)
        self.assertEqual(named.json()["campagne"], "disponibilites")

    def test_unknown_campaign_is_422(self):
        for slug in ("inconnue-" + uuid.uuid4().hex[:8], "PAS VALIDE", 12):
            resp = submit(payload(slug, []))
            self.assertProblem(resp, 422, "campagne_inconnue")
            self.assertIn("campagne", resp.json()["errors"])
            self.assertFrench(resp.json()["errors"]["campagne"], resp, "errors.campagne")

    def test_grace_period_then_closed(self):
        slug, cid, ids = new_campaign(ouverture="now() - interval '2 days'",
                                      fermeture="now() - interval '1 minute'", grace="60")
        late = submit(payload(slug, ids))
        self.assertStatus(late, 201)
        self.assertIs(late.json()["en_retard"], True)
        self.assertEqual(sql_int("SELECT count(*) FROM soumissions_disponibilites "
                                 "WHERE id = :'p1'::bigint AND en_retard", late.json()["id"]), 1)
        # The grace period is over (the database's clock decides).
        sql("UPDATE campagnes SET fermeture = now() - interval '2 hours', "
            "ouverture = now() - interval '3 days' WHERE id = :'p1'::bigint", cid)
        p = payload(slug, ids)
        key = ft.new_key()
        refused = submit(p, key=key)
        self.assertProblem(refused, 403, "campagne_fermee")
        detail = refused.json()["detail"]
        self.assertIn("close depuis le", detail)
        self.assertIn("n’a pas été enregistrée", detail)
        self.assertRegex(detail, r"\d\d/\d\d/\d{4} à \d\d h \d\d")
        self.assertEqual(ft.count_by_email(p["email"]), 0)
        again = submit(p, key=key)
        self.assertProblem(again, 403, "campagne_fermee")
        self.assertEqual(again.body, refused.body)
        self.assertEqual(ft.count_by_email(p["email"]), 0)

    def test_not_open_yet(self):
        slug, _, ids = new_campaign(ouverture="now() + interval '1 day'")
        resp = submit(payload(slug, ids))
        self.assertProblem(resp, 403, "campagne_pas_ouverte")
        self.assertIn("ouvrira le", resp.json()["detail"])
        slug, _, ids = new_campaign(etat="brouillon")
        self.assertProblem(submit(payload(slug, ids)), 403, "campagne_pas_ouverte")

    # --- /api/modify after the closing ------------------------------------------------

    def test_modify_after_closing(self):
        slug, cid, ids = new_campaign(fermeture="now() + interval '1 day'")
        created = submit(payload(slug, ids))
        self.assertStatus(created, 201)
        token = created.json()["edit_token"]
        auth = {"Authorization": "Bearer " + token}
        sql("UPDATE campagnes SET fermeture = now() - interval '1 second' "
            "WHERE id = :'p1'::bigint", cid)
        body = {k: created.json()[k] for k in ("email", "nom", "creneaux", "commentaire")}
        body["creneaux"] = ids[:1]
        put = request("PUT", "/api/modify", body=json.dumps(body).encode(), headers=dict(
            auth, **{"Content-Type": JSON, "If-Match": '"v1"', "Origin": ft.own_origin()}))
        self.assertProblem(put, 403, "modification_close")
        delete = request("DELETE", "/api/modify", headers=dict(
            auth, **{"If-Match": '"v1"', "Origin": ft.own_origin()}))
        self.assertProblem(delete, 403, "modification_close")
        got = request("GET", "/api/modify", headers=auth)
        self.assertStatus(got, 200)
        self.assertEqual(got.json()["creneaux"], ids)
        self.assertEqual(got.json()["campagne"], slug)
        # Allowed until a later date: the change goes through.
        sql("UPDATE campagnes SET modification_jusqu_a = now() + interval '1 day' "
            "WHERE id = :'p1'::bigint", cid)
        put = request("PUT", "/api/modify", body=json.dumps(body).encode(), headers=dict(
            auth, **{"Content-Type": JSON, "If-Match": '"v1"', "Origin": ft.own_origin()}))
        self.assertStatus(put, 200)


if __name__ == "__main__":
    unittest.main()
