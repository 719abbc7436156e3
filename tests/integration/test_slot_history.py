#!/usr/bin/env python3
"""Issue 15, the person's side: a slot the organisation changes (label, times) or removes
stays named in the answers that ticked it. GET /api/modify (and PUT's answer) carries
"creneaux_connus": every slot the answer ticks now or ticked in a version of its history, as
it is now (retire: removed from the form), with the changes of its label and times taken from
the audit log (creneau.update), and nothing of the slots it never ticked."""

import json
import os
import re
import sys
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402

BASE = "/api/admin/campagnes"
UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def setUpModule():
    ft.require_env()


admin = ft.admin_api  # the organiser's API (fiable_test/web.py)


class SlotHistory(ft.FiableTestCase):
    def campaign(self):
        resp = admin("POST", BASE, {"slug": "hist-%s" % uuid.uuid4().hex[:10],
                                    "titre": "Permanences", "fuseau": "Europe/Paris"})
        self.assertStatus(resp, 201)
        c = resp.json()
        slots = []
        for debut, fin, libelle in (("2026-05-04T09:00", "2026-05-04T12:00", "Matin"),
                                    ("2026-05-04T14:00", "2026-05-04T16:00", "Après-midi"),
                                    ("2026-05-05T09:00", "2026-05-05T10:00", "Mardi")):
            r = admin("POST", "%s/%d/creneaux" % (BASE, c["id"]),
                      {"debut": debut, "fin": fin, "libelle": libelle})
            self.assertStatus(r, 201)
            slots.append(r.json())
        r = admin("PUT", "%s/%d" % (BASE, c["id"]), {"etat": "ouverte"},
                  headers={"If-Match": '"v1"'})
        self.assertStatus(r, 200)
        return c, [s["id"] for s in slots]

    def test_changed_and_removed_slots_named_in_the_answer(self):
        c, (matin, aprem, mardi) = self.campaign()
        path = "%s/%d" % (BASE, c["id"])
        created = ft.submit({"email": ft.unique_email("hist"), "nom": "Camille Historique",
                             "creneaux": [matin, aprem], "commentaire": "",
                             "campagne": c["slug"]})
        self.assertStatus(created, 201)
        token = created.json()["edit_token"]
        got = ft.modify_get(token)
        self.assertStatus(got, 200)
        self.assertEqual(set(got.json()), ft.REPRESENTATION_KEYS)
        self.assertEqual([(s["id"], s["libelle"], s["retire"], s["modifications"])
                          for s in got.json()["creneaux_connus"]],
                         [(matin, "Matin", False, []), (aprem, "Après-midi", False, [])])

        # The organisation moves the morning and renames it, and removes the afternoon.
        r = admin("PUT", "%s/creneaux/%s" % (path, matin),
                  {"debut": "2026-05-04T10:00", "fin": "2026-05-04T12:30",
                   "libelle": "Matinée"})
        self.assertStatus(r, 200)
        r = admin("DELETE", "%s/creneaux/%s" % (path, aprem))
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {"retire": True})

        got = ft.modify_get(token)
        self.assertStatus(got, 200)
        connus = {s["id"]: s for s in got.json()["creneaux_connus"]}
        self.assertEqual(set(connus), {matin, aprem})
        m = connus[matin]
        self.assertEqual((m["libelle"], m["debut"], m["fin"], m["retire"]),
                         ("Matinée", "2026-05-04T10:00:00+02:00", "2026-05-04T12:30:00+02:00",
                          False))
        self.assertEqual(len(m["modifications"]), 1)
        change = m["modifications"][0]
        self.assertRegex(change["le"], UTC)
        self.assertEqual(change["avant"], {"libelle": "Matin",
                                           "debut": "2026-05-04T09:00:00+02:00",
                                           "fin": "2026-05-04T12:00:00+02:00"})
        self.assertEqual(change["apres"], {"libelle": "Matinée",
                                           "debut": "2026-05-04T10:00:00+02:00",
                                           "fin": "2026-05-04T12:30:00+02:00"})
        a = connus[aprem]
        self.assertEqual((a["libelle"], a["retire"], a["modifications"]),
                         ("Après-midi", True, []))
        self.assertEqual(got.json()["creneaux"], [matin, aprem])

        # Unticked now, the removed slot is still named: the history ticked it.
        body = {k: got.json()[k] for k in ("email", "nom", "commentaire")}
        body["creneaux"] = [matin, mardi]
        put = ft.modify_put(token, body, if_match=ft.etag(got.json()["version"]))
        self.assertStatus(put, 200)
        self.assertEqual(set(put.json()), ft.REPRESENTATION_KEYS)
        self.assertEqual([s["id"] for s in put.json()["creneaux_connus"]],
                         [matin, aprem, mardi])
        self.assertTrue({s["id"]: s for s in put.json()["creneaux_connus"]}[aprem]["retire"])


if __name__ == "__main__":
    unittest.main()
