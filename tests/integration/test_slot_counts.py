#!/usr/bin/env python3
"""The people available per slot, kept at write time (sql/0021: append-only deltas written by
a trigger in each answer's transaction, compacted by the administration's reads). Checked
through the organiser's API (GET /api/admin/campagnes/<id>, the first page of its matrix, the
CSV's last line) against a count made from the answers themselves, after: submit, modify
(slots changed, and not), withdraw, undelete, restore of a version, an administrator's
restore, a ticked slot removed (kept with its count), compaction, 20 concurrent submits while
the counts are read and compacted, and a backup applied over later changes. Also: the
application role cannot write a count, only read them and compact."""

import csv
import io
import os
import sys
import threading
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backup_helpers as bh  # noqa: E402
import fiable_test as ft  # noqa: E402
from fiable_test import etag, modify_delete, modify_put, restore, sql, sql_int  # noqa: E402

BASE = "/api/admin/campagnes"

# The count made from the answers (the rule of before 0021), and what the view says, for every
# campaign: both as {(campaign, slot): n}, zeros left out.
RECOUNT = ("SELECT s.campagne_id, x, count(*) FROM soumissions_disponibilites s "
           "CROSS JOIN LATERAL jsonb_array_elements_text(s.creneaux) AS x "
           "WHERE s.deleted_at IS NULL GROUP BY 1, 2")
KEPT = "SELECT campagne_id, creneau_id, disponibles FROM creneaux_disponibles WHERE disponibles <> 0"


def setUpModule():
    bh.require_backup_env()


admin = ft.admin_api  # the organiser's API (fiable_test/web.py)


def as_counts(rows):
    return {(r[0], r[1]): int(r[2]) for r in rows}


class SlotCountsCase(ft.FiableTestCase):

    def new_campaign(self, nslots=3):
        slug = "comptes-%s" % uuid.uuid4().hex[:10]
        resp = admin("POST", BASE, {"slug": slug, "titre": "Comptes par créneau",
                                    "fuseau": "Europe/Brussels", "etat": "ouverte"})
        self.assertStatus(resp, 201)
        cid = resp.json()["id"]
        slots = []
        for i in range(nslots):
            resp = admin("POST", "%s/%d/creneaux" % (BASE, cid),
                         {"debut": "2027-05-%02dT09:00" % (3 + i),
                          "fin": "2027-05-%02dT12:00" % (3 + i), "libelle": "Matin %d" % i})
            self.assertStatus(resp, 201)
            slots.append(resp.json()["id"])
        return slug, cid, slots

    def submit(self, slug, slots, **kw):
        payload = {"email": ft.unique_email("comptes"), "nom": "Camille Comptes",
                   "creneaux": slots, "commentaire": "", "campagne": slug}
        resp = ft.submit(payload, **kw)
        self.assertStatus(resp, 201)
        return payload, resp.json()

    def assertConsistent(self):
        """The counts of every campaign equal a count made from the answers."""
        self.assertEqual(as_counts(sql(KEPT)), as_counts(sql(RECOUNT)))

    def assertCounts(self, cid, expected):
        """The API's counts of campaign cid: the campaign, its matrix's first page and its
        CSV's last line all say expected ({slot: n}, every slot of the campaign)."""
        self.assertConsistent()
        resp = admin("GET", "%s/%d" % (BASE, cid))
        self.assertStatus(resp, 200)
        self.assertEqual({s["id"]: s["disponibles"] for s in resp.json()["creneaux"]}, expected)
        resp = admin("GET", "%s/%d/matrice" % (BASE, cid))
        self.assertStatus(resp, 200)
        self.assertEqual({s["id"]: s["disponibles"] for s in resp.json()["creneaux"]}, expected)
        resp = admin("GET", "%s/%d/reponses.csv" % (BASE, cid))
        self.assertStatus(resp, 200)
        rows = list(csv.reader(io.StringIO(resp.body.decode("utf-8-sig")), delimiter=";"))
        self.assertEqual(rows[-1][0], "Personnes disponibles")
        self.assertEqual(rows[-1][4:4 + len(expected)],
                         [str(expected[s]) for s in self.order(cid)])
        # The reads compacted what was committed before them.
        self.assertEqual(sql_int("SELECT count(*) FROM creneaux_comptes_deltas "
                                 "WHERE campagne_id = :'p1'::bigint", cid), 0)

    def order(self, cid):
        return [r[0] for r in sql("SELECT id FROM creneaux WHERE campagne_id = :'p1'::bigint "
                                  "ORDER BY position, starts_at, id", cid)]


class LifecycleTest(SlotCountsCase):

    def test_counts_follow_every_write(self):
        slug, cid, (a, b, c) = self.new_campaign()
        self.assertCounts(cid, {a: 0, b: 0, c: 0})
        p1, r1 = self.submit(slug, [a, b])
        p2, r2 = self.submit(slug, [a])
        p3, r3 = self.submit(slug, [b, c])
        # Written by the answers' transactions, not compacted yet (no read since): one delta
        # per slot ticked, summed by the view.
        self.assertEqual(sql_int("SELECT count(*) FROM creneaux_comptes_deltas "
                                 "WHERE campagne_id = :'p1'::bigint", cid), 5)
        self.assertConsistent()
        self.assertCounts(cid, {a: 2, b: 2, c: 1})

        # Modify: slots changed (a, b -> c), then only the name (no delta written).
        t1 = r1["edit_token"]
        v2 = ft.content_of(p1)
        v2["creneaux"] = [c]
        self.assertStatus(modify_put(t1, v2, if_match=etag(1)), 200)
        self.assertCounts(cid, {a: 1, b: 1, c: 2})
        before = sql_int("SELECT count(*) FROM creneaux_comptes_deltas")
        v3 = dict(v2, nom="Camille Renommée")
        self.assertStatus(modify_put(t1, v3, if_match=etag(2)), 200)
        self.assertEqual(sql_int("SELECT count(*) FROM creneaux_comptes_deltas"), before)
        self.assertCounts(cid, {a: 1, b: 1, c: 2})

        # Withdraw, undelete, restore a version (the person's and the administrator's).
        self.assertStatus(modify_delete(r3["edit_token"], if_match=etag(1)), 200)
        self.assertCounts(cid, {a: 1, b: 0, c: 1})
        self.assertStatus(restore(r3["edit_token"], {"undelete": True}), 200)
        self.assertCounts(cid, {a: 1, b: 1, c: 2})
        self.assertStatus(restore(t1, {"version": 1}), 200)  # back to a, b
        self.assertCounts(cid, {a: 2, b: 2, c: 1})
        self.assertStatus(modify_delete(r2["edit_token"], if_match=etag(1)), 200)
        self.assertCounts(cid, {a: 1, b: 2, c: 1})
        self.assertStatus(ft.admin_restore({"id": r2["id"], "undelete": True}), 200)
        self.assertCounts(cid, {a: 2, b: 2, c: 1})

        # A ticked slot removed from the form keeps its count; an unticked one is deleted.
        resp = admin("DELETE", "%s/%d/creneaux/%s" % (BASE, cid, a))
        self.assertEqual(resp.json(), {"retire": True})
        self.assertCounts(cid, {a: 2, b: 2, c: 1})

        # Compaction by the application role (what the reads do): the new answer's delta
        # moved into creneaux_comptes, nothing else changes.
        self.submit(slug, [b])
        self.assertEqual(sql_int("SELECT count(*) FROM creneaux_comptes_deltas "
                                 "WHERE campagne_id = :'p1'::bigint", cid), 1)
        self.assertGreaterEqual(int(ft.app_sql("SELECT creneaux_comptes_compacter()")[0][0]), 1)
        self.assertEqual(sql_int("SELECT count(*) FROM creneaux_comptes_deltas"), 0)
        self.assertCounts(cid, {a: 2, b: 3, c: 1})

    def test_application_role_cannot_write_counts(self):
        for statement in ("INSERT INTO creneaux_comptes_deltas VALUES (1, 'x', 1000)",
                          "UPDATE creneaux_comptes SET disponibles = 1000",
                          "DELETE FROM creneaux_comptes_deltas",
                          "SELECT creneaux_comptes_ecrire()"):
            with self.subTest(statement=statement):
                with self.assertRaises(ft.SqlError) as cm:
                    ft.app_sql(statement)
                self.assertRegex(cm.exception.stderr, "permission denied|droit refusé|"
                                 "trigger functions can only be called")
        self.assertConsistent()


class ConcurrencyTest(SlotCountsCase):

    def test_twenty_concurrent_submits_while_reading(self):
        slug, cid, (a, b, c) = self.new_campaign()
        errors, done = [], threading.Event()

        def one(i):
            try:
                self.submit(slug, [a, b] if i % 2 else [a, c])
            except BaseException as e:  # noqa: B902 — reported below
                errors.append(e)

        def reader():
            # Reads (each compacts) while the submits commit.
            while not done.is_set():
                resp = admin("GET", "%s/%d/matrice" % (BASE, cid))
                if resp.status != 200:
                    errors.append(AssertionError(resp.describe()))
                    return

        threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
        r = threading.Thread(target=reader)
        r.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(ft.ceiling(120))
        done.set()
        r.join(ft.ceiling(60))
        self.assertEqual(errors, [])
        self.assertEqual(sql_int("SELECT count(*) FROM soumissions_disponibilites "
                                 "WHERE campagne_id = :'p1'::bigint", cid), 20)
        self.assertCounts(cid, {a: 20, b: 10, c: 10})


class BackupApplyTest(SlotCountsCase, bh.BackupTestCase):

    def test_backup_applied_over_later_changes(self):
        dest = bh.new_local_destination()
        self.addCleanup(bh.remove_tree, dest)
        # The first campaign: the one the backups hold (without "campagne").
        first = sql_int("SELECT campagne_par_defaut()")
        slots = ft.valid_slots(2)
        p, r = ft.create_submission(creneaux=slots)
        q, s = ft.create_submission(creneaux=slots[:1])
        proc = bh.run("backup-submissions", env=bh.environment(dest))
        self.assertRc(proc, 0)
        backup_id = self.assertSuccessSummary(proc)["id"]
        self.assertStatus(modify_delete(r["edit_token"], if_match=etag(1)), 200)
        v2 = dict(ft.content_of(q), creneaux=slots[1:])
        self.assertStatus(modify_put(s["edit_token"], v2, if_match=etag(1)), 200)
        self.assertConsistent()
        proc = bh.run("restore-backup", "--apply", str(backup_id), "--confirm",
                      env=bh.environment(dest, role="fiable_restore"))
        self.assertRc(proc, 0)
        self.assertIsNone(ft.submission_row(r["id"])["deleted_at"])
        self.assertEqual(ft.submission_row(s["id"])["creneaux"], slots[:1])
        self.assertConsistent()
        counts = {x["id"]: x["disponibles"] for x in
                  admin("GET", "%s/%d" % (BASE, first)).json()["creneaux"]}
        recount = as_counts(sql(RECOUNT))
        for slot in slots:
            self.assertEqual(counts[slot], recount.get((str(first), slot), 0))


if __name__ == "__main__":
    unittest.main(verbosity=2)
