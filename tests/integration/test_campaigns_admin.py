#!/usr/bin/env python3
"""The organiser's API of campaigns (fiable-campaigns, /api/admin/campagnes):
CRUD and its audit rows naming the administrator; If-Match on edits (428, 412 in French);
foreign Origin, unknown members and taken slugs refused with nothing stored; an archived
campaign read-only; slot series across the end-of-March daylight-saving change; ICS and CSV
imports (the fixtures of tests/unit/data); a ticked slot removed but kept and marked in the
matrix and the CSV; duplication 2 weeks later; keyset paging of the matrix (with and without
the per-slot counts)."""

import csv
import io
import json
import os
import sys
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import sql, sql_int  # noqa: E402

BASE = "/api/admin/campagnes"
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "data")


def setUpModule():
    ft.require_env()


admin = ft.admin_api  # the organiser's API (fiable_test/web.py)


def new_slug(prefix="camp"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def max_audit():
    return sql_int("SELECT coalesce(max(id), 0) FROM audit_logs")


class CampaignsAdmin(ft.FiableTestCase):
    def create(self, **fields):
        body = {"slug": new_slug(), "titre": "Stages de printemps",
                "fuseau": "Europe/Paris"}
        body.update(fields)
        resp = admin("POST", BASE, body)
        self.assertStatus(resp, 201)
        self.assertEqual(resp.header("ETag"), '"v1"')
        c = resp.json()
        self.assertEqual(resp.header("Location"), "%s/%d" % (BASE, c["id"]))
        return c

    def open_campaign(self, cid):
        resp = admin("GET", "%s/%d" % (BASE, cid))
        self.assertStatus(resp, 200)
        return resp.json(), resp.header("ETag")

    def test_crud_audited_with_admin_name(self):
        before = max_audit()
        c = self.create(introduction="Cochez vos créneaux.", ouverture="2026-03-01T08:00",
                        fermeture="2026-03-31T18:00:00+02:00", delai_grace_minutes=30)
        self.assertEqual(c["etat"], "brouillon")
        self.assertEqual(c["phase"], "brouillon")
        self.assertEqual(c["ouverture"], "2026-03-01T08:00:00+01:00")
        self.assertEqual(c["fermeture"], "2026-03-31T18:00:00+02:00")
        self.assertEqual(c["delai_grace_minutes"], 30)
        self.assertEqual(c["adresse"], "/c/%s/" % c["slug"])
        self.assertEqual(c["creneaux"], [])
        listed = admin("GET", BASE).json()["campagnes"]
        mine = [x for x in listed if x["id"] == c["id"]]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["reponses"], 0)

        resp = admin("PUT", "%s/%d" % (BASE, c["id"]), {"titre": "Stages d'été",
                     "etat": "ouverte"}, headers={"If-Match": '"v1"'})
        self.assertStatus(resp, 200)
        self.assertEqual(resp.header("ETag"), '"v2"')
        self.assertEqual(resp.json()["titre"], "Stages d'été")
        self.assertEqual(resp.json()["introduction"], "Cochez vos créneaux.")  # kept
        rows = sql("SELECT action, actor, details::text FROM audit_logs WHERE id > %d "
                   "AND entity = 'campagnes' AND entity_id = '%d' ORDER BY id"
                   % (before, c["id"]))
        self.assertEqual([r[0] for r in rows], ["campagne.create", "campagne.update"])
        self.assertEqual({r[1] for r in rows}, {"admin:admin"})
        self.assertIn("Stages d'été", rows[1][2])

    def test_modification_always_after_closing(self):
        # « Toujours » in the organiser's page: modification_jusqu_a = 'infinity' (sql/0014).
        c = self.create(fermeture="2026-03-31T18:00", modification_jusqu_a="infinity")
        self.assertEqual(c["modification_jusqu_a"], "infinity")
        self.assertEqual(self.open_campaign(c["id"])[0]["modification_jusqu_a"], "infinity")
        resp = admin("PUT", "%s/%d" % (BASE, c["id"]), {"modification_jusqu_a": "toujours"},
                     headers={"If-Match": '"v1"'})
        self.assertProblem(resp, 400, "validation_failed")
        self.assertIn("modification_jusqu_a", resp.json()["errors"])

    def test_if_match(self):
        c = self.create()
        path = "%s/%d" % (BASE, c["id"])
        resp = admin("PUT", path, {"titre": "Sans version"})
        self.assertProblem(resp, 428, "if_match_required")
        ok = admin("PUT", path, {"titre": "Premier"}, headers={"If-Match": '"v1"'})
        self.assertStatus(ok, 200)
        stale = admin("PUT", path, {"titre": "Second"}, headers={"If-Match": '"v1"'})
        self.assertProblem(stale, 412, "modifiee_entre_temps")
        self.assertIn("modifiée entre-temps par un autre administrateur",
                      stale.json()["detail"])
        self.assertEqual(stale.json()["current"]["titre"], "Premier")
        self.assertEqual(self.open_campaign(c["id"])[0]["titre"], "Premier")

    def test_refusals_store_nothing(self):
        before = sql_int("SELECT count(*) FROM campagnes")
        slug = new_slug()
        resp = admin("POST", BASE, {"slug": slug, "titre": "x"},
                     headers={"Origin": "https://evil.example"})
        self.assertProblem(resp, 403, "forbidden_origin")
        resp = admin("POST", BASE, {"slug": slug, "titre": "x", "titr": "y"})
        self.assertProblem(resp, 400, "validation_failed")
        self.assertIn("titr", resp.json()["errors"])
        resp = admin("POST", BASE, {"slug": "Pas Valide", "titre": "x"})
        self.assertIn("slug", resp.json()["errors"])
        resp = admin("POST", BASE, {"slug": slug, "titre": "x", "fuseau": "Mars/Olympus"})
        self.assertProblem(resp, 400, "validation_failed")
        self.assertEqual(sql_int("SELECT count(*) FROM campagnes"), before)
        c = self.create()
        resp = admin("POST", BASE, {"slug": c["slug"], "titre": "Autre"})
        self.assertProblem(resp, 409, "slug_pris")
        self.assertEqual(sql_int("SELECT count(*) FROM campagnes"), before + 1)
        # Without the password nginx refuses; foreign Origin on a slot write too.
        resp = ft.request("GET", BASE)
        self.assertEqual(resp.status, 401)
        resp = admin("POST", "%s/%d/creneaux" % (BASE, c["id"]),
                     {"debut": "2026-05-04T09:00", "fin": "2026-05-04T10:00"},
                     headers={"Origin": "https://evil.example"})
        self.assertProblem(resp, 403, "forbidden_origin")
        self.assertEqual(sql_int("SELECT count(*) FROM creneaux WHERE campagne_id = %d"
                                 % c["id"]), 0)

    def test_archived_is_read_only(self):
        c = self.create()
        path = "%s/%d" % (BASE, c["id"])
        resp = admin("PUT", path, {"etat": "archivee"}, headers={"If-Match": '"v1"'})
        self.assertStatus(resp, 200)
        for method, sub, body, hdrs in (
                ("PUT", "", {"etat": "ouverte"}, {"If-Match": '"v2"'}),
                ("POST", "/creneaux", {"debut": "2026-05-04T09:00",
                                       "fin": "2026-05-04T10:00"}, {}),
                ("PUT", "/creneaux/ordre", {"ordre": ["x"]}, {})):
            resp = admin(method, path + sub, body, headers=hdrs)
            self.assertProblem(resp, 409, "campagne_archivee")
        self.assertEqual(self.open_campaign(c["id"])[0]["etat"], "archivee")

    def test_series_across_dst(self):
        c = self.create()
        resp = admin("POST", "%s/%d/creneaux/serie" % (BASE, c["id"]), {
            "du": "2026-03-23", "au": "2026-04-03", "jours": [1, 3, 5],
            "plages": [{"debut": "09:00", "fin": "12:00"},
                       {"debut": "14:00", "fin": "16:00", "libelle": "Après-midi"}],
            "sauf": ["2026-03-27"]})
        self.assertStatus(resp, 201)
        body = resp.json()
        # Mon 23, Wed 25, (Fri 27 skipped), Mon 30, Wed 1, Fri 3: 5 days × 2 ranges.
        self.assertEqual(body["crees"], 10)
        debuts = [s["debut"] for s in body["creneaux"]]
        self.assertIn("2026-03-25T09:00:00+01:00", debuts)
        self.assertIn("2026-03-30T09:00:00+02:00", debuts)
        self.assertNotIn("2026-03-27T09:00:00+01:00", debuts)
        utc = sql("SELECT to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
                  "FROM creneaux WHERE campagne_id = %d ORDER BY starts_at" % c["id"])
        self.assertEqual(utc[0][0], "2026-03-23 08:00")    # CET
        self.assertIn(["2026-03-30 07:00"], utc)            # CEST: the hour is kept
        self.assertEqual(sum(1 for s in body["creneaux"] if s["libelle"] == "Après-midi"), 5)
        self.assertEqual(body["creneaux"][0]["libelle"], "lundi 23 mars 2026, 09:00–12:00")
        audit = sql_int("SELECT count(*) FROM audit_logs WHERE action = 'creneau.create' "
                        "AND actor = 'admin:admin' AND details->>'campagne_id' = '%d'"
                        % c["id"])
        self.assertEqual(audit, 10)
        # A time in the spring-forward gap is refused with its date.
        resp = admin("POST", "%s/%d/creneaux/serie" % (BASE, c["id"]), {
            "du": "2026-03-29", "au": "2026-03-29", "jours": [7],
            "plages": [{"debut": "02:30", "fin": "03:30"}]})
        self.assertProblem(resp, 400, "validation_failed")
        self.assertEqual(sql_int("SELECT count(*) FROM creneaux WHERE campagne_id = %d"
                                 % c["id"]), 10)

    def test_imports(self):
        c = self.create()
        path = "%s/%d/creneaux/import" % (BASE, c["id"])
        total = 0
        for name in ("slots_google.ics", "slots_outlook.ics", "slots_thunderbird.ics"):
            with open(os.path.join(DATA, name), "rb") as f:
                resp = admin("POST", path, raw=f.read(), content_type="text/calendar")
            self.assertStatus(resp, 201)
            self.assertGreater(resp.json()["crees"], 0, name)
            total += resp.json()["crees"]
        with open(os.path.join(DATA, "slots_excel.csv"), "rb") as f:
            resp = admin("POST", path, raw=f.read(), content_type="text/csv; charset=utf-8")
        self.assertStatus(resp, 201)
        total += resp.json()["crees"]
        self.assertEqual(sql_int("SELECT count(*) FROM creneaux WHERE campagne_id = %d"
                                 % c["id"]), total)
        bad = ("début;fin;libellé\n2026-05-04 09:00;2026-05-04 10:00;Bon\n"
               "2026-05-04 11:00;2026-05-04 10:00;À l'envers\npas une date;x;y\n")
        resp = admin("POST", path, raw=bad.encode(), content_type="text/csv")
        self.assertProblem(resp, 422, "import_invalide")
        lines = sorted(e.get("ligne") for e in resp.json()["erreurs"])
        self.assertEqual(lines, [3, 4])
        self.assertEqual(sql_int("SELECT count(*) FROM creneaux WHERE campagne_id = %d"
                                 % c["id"]), total)
        resp = admin("POST", path, raw=b"x", content_type="application/pdf")
        self.assertProblem(resp, 415, "unsupported_media_type")

    def add_slot(self, cid, debut, fin, libelle):
        resp = admin("POST", "%s/%d/creneaux" % (BASE, cid),
                     {"debut": debut, "fin": fin, "libelle": libelle, "besoin": 2})
        self.assertStatus(resp, 201)
        return resp.json()

    def answer(self, cid, slots, n=1):
        """Active answers in campaign cid, written as the owner (the person's API is another
        engineer's part)."""
        ids = []
        for _ in range(n):
            email = ft.unique_email("camp")
            ids.append(sql_int(
                "INSERT INTO soumissions_disponibilites (email, nom, creneaux, campagne_id, "
                "edit_token_hash) VALUES ('%s', 'Personne %s', '%s'::jsonb, %d, "
                "sha256(gen_random_uuid()::text::bytea)) RETURNING id"
                % (email, email[:8], json.dumps(slots), cid)))
        return ids

    def test_remove_ticked_kept_and_marked(self):
        c = self.create()
        path = "%s/%d" % (BASE, c["id"])
        kept = self.add_slot(c["id"], "2026-05-04T09:00", "2026-05-04T12:00", "Matin")
        gone = self.add_slot(c["id"], "2026-05-04T14:00", "2026-05-04T16:00", "Après-midi")
        self.assertTrue(kept["id"].startswith("c%d-" % c["id"]))
        resp = admin("PUT", path, {"etat": "ouverte"}, headers={"If-Match": '"v1"'})
        self.assertStatus(resp, 200)
        self.answer(c["id"], [kept["id"]])
        resp = admin("DELETE", "%s/creneaux/%s" % (path, kept["id"]))
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json(), {"retire": True})
        resp = admin("DELETE", "%s/creneaux/%s" % (path, gone["id"]))
        self.assertEqual(resp.json(), {"supprime": True})
        self.assertProblem(admin("DELETE", "%s/creneaux/%s" % (path, gone["id"])), 404,
                           "not_found")
        m = admin("GET", path + "/matrice").json()
        self.assertEqual([(s["id"], s["retire"], s["disponibles"]) for s in m["creneaux"]],
                         [(kept["id"], True, 1)])
        self.assertEqual(m["personnes"][0]["creneaux"], [kept["id"]])
        resp = admin("GET", path + "/reponses.csv")
        self.assertStatus(resp, 200)
        self.assertTrue(resp.header("Content-Type").startswith("text/csv"))
        rows = list(csv.reader(io.StringIO(resp.body.decode("utf-8-sig")), delimiter=";"))
        self.assertIn("04/05/2026 09:00 — Matin (retiré)", rows[0])
        self.assertEqual(rows[1][rows[0].index("04/05/2026 09:00 — Matin (retiré)")], "oui")
        # Edit and reorder.
        other = self.add_slot(c["id"], "2026-05-05T09:00", "2026-05-05T10:00", "Mardi")
        resp = admin("PUT", "%s/creneaux/%s" % (path, other["id"]),
                     {"debut": "2026-05-05T10:00", "fin": "2026-05-05T11:00",
                      "libelle": "Mardi tard"})
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json()["debut"], "2026-05-05T10:00:00+02:00")
        resp = admin("PUT", path + "/creneaux/ordre", {"ordre": [other["id"], kept["id"]]})
        self.assertStatus(resp, 200)
        self.assertEqual([s["id"] for s in resp.json()["creneaux"]], [other["id"], kept["id"]])

    def test_duplicate_two_weeks_later(self):
        c = self.create(ouverture="2026-03-16T08:00")
        admin("POST", "%s/%d/creneaux/serie" % (BASE, c["id"]), {
            "du": "2026-03-16", "au": "2026-03-20", "jours": [1],
            "plages": [{"debut": "09:00", "fin": "12:00"}]})
        self.add_slot(c["id"], "2026-03-20T14:00", "2026-03-20T15:00", "Vendredi")
        slug = new_slug("copie")
        resp = admin("POST", "%s/%d/dupliquer" % (BASE, c["id"]),
                     {"slug": slug, "decalage_semaines": 2})
        self.assertStatus(resp, 201)
        d = resp.json()
        self.assertEqual((d["slug"], d["etat"], d["titre"]), (slug, "brouillon", c["titre"]))
        self.assertEqual(d["ouverture"], "2026-03-30T08:00:00+02:00")  # across the DST change
        debuts = sorted((s["debut"], s["libelle"]) for s in d["creneaux"])
        self.assertEqual(debuts, [("2026-03-30T09:00:00+02:00", "lundi 30 mars 2026, 09:00–12:00"),
                                  ("2026-04-03T14:00:00+02:00", "Vendredi")])
        resp = admin("POST", "%s/%d/dupliquer" % (BASE, c["id"]),
                     {"slug": slug, "decalage_semaines": 2})
        self.assertProblem(resp, 409, "slug_pris")
        resp = admin("POST", "%s/%d/dupliquer" % (BASE, c["id"]),
                     {"slug": new_slug(), "decalage_semaines": 105})
        self.assertProblem(resp, 400, "validation_failed")

    def test_matrix_paging(self):
        c = self.create()
        s = self.add_slot(c["id"], "2026-05-04T09:00", "2026-05-04T12:00", "Matin")
        admin("PUT", "%s/%d" % (BASE, c["id"]), {"etat": "ouverte"},
              headers={"If-Match": '"v1"'})
        ids = self.answer(c["id"], [s["id"]], n=5)
        seen, after, pages = [], None, 0
        while True:
            q = "?limite=2" + ("&apres=%d" % after if after else "")
            m = admin("GET", "%s/%d/matrice%s" % (BASE, c["id"], q)).json()
            pages += 1
            seen += [p["id"] for p in m["personnes"]]
            after = m["suivant"]
            if after is None:
                break
        self.assertEqual(seen, ids)
        self.assertEqual(pages, 3)
        self.assertEqual(m["creneaux"][0]["disponibles"], 5)
        # comptes=non (what the admin page asks after the first page): the same page, the
        # slots without their counts.
        q = "?limite=2&apres=%d" % ids[1]
        counted = admin("GET", "%s/%d/matrice%s" % (BASE, c["id"], q)).json()
        bare = admin("GET", "%s/%d/matrice%s&comptes=non" % (BASE, c["id"], q)).json()
        self.assertEqual([p["id"] for p in bare["personnes"]], ids[2:4])
        self.assertEqual(bare["personnes"], counted["personnes"])
        self.assertEqual(bare["suivant"], counted["suivant"])
        self.assertNotIn("disponibles", bare["creneaux"][0])
        self.assertEqual({k: v for k, v in counted["creneaux"][0].items() if k != "disponibles"},
                         bare["creneaux"][0])
        self.assertEqual(admin("GET", "%s/%d/matrice%s&comptes=oui" % (BASE, c["id"], q))
                         .json(), counted)
        resp = admin("GET", "%s/%d/matrice?limite=501" % (BASE, c["id"]))
        self.assertProblem(resp, 400, "validation_failed")
        resp = admin("GET", "%s/%d/matrice?comptes=peut-etre" % (BASE, c["id"]))
        self.assertProblem(resp, 400, "validation_failed")
        self.assertProblem(admin("GET", "%s/999999999/matrice" % BASE), 404, "not_found")


if __name__ == "__main__":
    unittest.main(verbosity=2)
