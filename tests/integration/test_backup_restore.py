#!/usr/bin/env python3
"""The restore is proven: submissions made through the API (with modifications, withdrawals
and restorations) -> backup -> --verify -> the submissions wiped -> --apply -> the table is
what it was, row for row (history, versions, dates, tokens), and people's edit links work
again. Applied over later changes, a backup brings the saved content back as a new version,
so the replaced content stays in the history; --email restores one person; a rehearsal
(without --confirm) changes nothing; a role without the rights changes nothing either. The
participants of the campaigns (format 3) come back with their invitation token's hash and
their unsubscription, so personal links work again; a backup of format 2 (before them) still
restores."""

import gzip
import hashlib
import json
import os
import re
import secrets
import sys
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backup_helpers as bh  # noqa: E402
import fiable_test as ft  # noqa: E402
from fiable_test import etag, modify_delete, modify_get, modify_put, restore  # noqa: E402

SNAPSHOT = ("SELECT coalesce(json_agg(row_to_json(t) ORDER BY id), '[]')::text "
            "FROM soumissions_disponibilites t")


def setUpModule():
    bh.require_backup_env()
    ft.valid_slots(2)


def changed(payload, **changes):
    new = ft.content_of(payload)
    new.update(changes)
    return new


def wipe_submissions():
    """The disaster: every submission gone (the superuser bypasses the application)."""
    ft.sql("BEGIN; UPDATE mail_outbox SET submission_id = NULL WHERE submission_id IS NOT NULL; "
           "DELETE FROM soumissions_disponibilites; COMMIT;")


class LocalDestination:
    """A fresh local destination per test, with the environments of the backup and the
    restoration roles."""

    def setUp(self):
        self.dest = bh.new_local_destination()
        self.addCleanup(bh.remove_tree, self.dest)
        self.env = bh.environment(self.dest)
        self.restore_env = bh.environment(self.dest, role="fiable_restore")


class RoundTripTest(LocalDestination, bh.BackupTestCase, ft.ModifyTestCase):

    def make_people(self):
        """Four people: one changed twice, one withdrawn, one withdrawn then undeleted, one
        untouched. Returns [(payload, created, token, expected content)]."""
        people = []
        p, c = ft.create_submission(nom="Alice Dupont")
        t = c["edit_token"]
        v2 = changed(p, nom="Alice Dupont-Martin", creneaux=ft.valid_slots(1))
        self.assertStatus(modify_put(t, v2, if_match=etag(1)), 200)
        v3 = changed(v2, commentaire="Plutôt l'après-midi, « merci » !\nÀ bientôt.")
        self.assertStatus(modify_put(t, v3, if_match=etag(2)), 200)
        people.append((p, c, t, v3))
        p, c = ft.create_submission(nom="Bruno Retiré")
        t = c["edit_token"]
        self.assertStatus(modify_delete(t, if_match=etag(1)), 200)
        people.append((p, c, t, ft.content_of(p)))
        p, c = ft.create_submission(nom="Chloé Revenue")
        t = c["edit_token"]
        self.assertStatus(modify_delete(t, if_match=etag(1)), 200)
        self.assertStatus(restore(t, {"undelete": True}), 200)
        people.append((p, c, t, ft.content_of(p)))
        p, c = ft.create_submission(nom="Denis Tel-Quel")
        people.append((p, c, c["edit_token"], ft.content_of(p)))
        return people

    def backup(self):
        proc = bh.run("backup-submissions", "--verify-after", env=self.env)
        self.assertRc(proc, 0)
        return self.assertSuccessSummary(proc, verified=True)["id"]

    def apply(self, backup_id, *args, rc=0):
        proc = bh.run("restore-backup", "--apply", str(backup_id), *args, env=self.restore_env)
        self.assertRc(proc, rc)
        return proc

    def test_backup_wipe_apply_gives_back_the_same_table(self):
        people = self.make_people()
        backup_id = self.backup()
        verify = bh.run("restore-backup", "--verify", str(backup_id), env=self.env)
        self.assertRc(verify, 0)
        original = ft.sql_json(SNAPSHOT)
        count = len(original)
        self.assertGreaterEqual(count, 4)

        wipe_submissions()
        self.assertEqual(ft.sql_json(SNAPSHOT), [])
        audit_before = ft.sql_int("SELECT count(*) FROM audit_logs")

        # A rehearsal first: everything is done, then rolled back.
        proc = self.apply(backup_id)
        self.assertRegex(bh.last_line(proc.stderr), r"RÉPÉTITION \(rien n'est modifié ; "
                         r"ajoutez --confirm pour appliquer\) avec la sauvegarde %d : %d "
                         r"réponse\(s\) concernée\(s\) : %d réinsérée\(s\)"
                         % (backup_id, count, count))
        self.assertEqual(ft.sql_json(SNAPSHOT), [], "a rehearsal must change nothing")
        self.assertEqual(ft.sql_int("SELECT count(*) FROM audit_logs"), audit_before)

        proc = self.apply(backup_id, "--confirm")
        self.assertRegex(bh.last_line(proc.stderr), r"RESTAURÉ depuis la sauvegarde %d : %d "
                         r"réponse\(s\) concernée\(s\) : %d réinsérée\(s\), 0 remise\(s\)"
                         % (backup_id, count, count))
        self.assertFrenchOutput(proc)
        self.assertEqual(ft.sql_json(SNAPSHOT), original,
                         "the restored table differs from the original")
        # Each one restored is in the audit log, and so is the restoration itself.
        self.assertEqual(ft.sql_int("SELECT count(*) FROM audit_logs WHERE action = "
                                    "'submission.restore_backup' AND details->>'backup_id' = "
                                    ":'p1' AND details->>'operation' = 'insert'", backup_id), count)
        self.assertEqual(ft.sql_int("SELECT count(*) FROM audit_logs WHERE action = "
                                    "'backup.apply' AND entity_id = :'p1'", backup_id), 1)

        # People's links work again, with their history; and life goes on.
        alice = people[0]
        body = self.assertRepresentation(modify_get(alice[2]), alice[1]["id"], alice[3],
                                         version=3, withdrawn=False)
        self.assertEqual(len(body["historique"]), 2)
        self.assertRepresentation(modify_get(people[1][2]), people[1][1]["id"], withdrawn=True)
        v4 = changed(alice[3], nom="Alice après restauration")
        self.assertRepresentation(modify_put(alice[2], v4, if_match=etag(3)), alice[1]["id"],
                                  v4, version=4)
        payload, created = ft.create_submission()
        self.assertGreater(created["id"], max(r["id"] for r in original),
                           "the identity sequence went past the restored ids")

        # Applying again only brings back what changed since: Alice.
        proc = self.apply(backup_id, "--confirm")
        self.assertRegex(bh.last_line(proc.stderr), r": 0 réinsérée\(s\), 1 remise\(s\) dans "
                         r"leur état sauvegardé")

    def test_apply_over_later_changes_keeps_them_in_the_history(self):
        people = self.make_people()
        backup_id = self.backup()
        saved = {r["id"]: r for r in ft.sql_json(SNAPSHOT)}
        alice, bruno, chloe, denis = people

        # After the backup: Alice changes again, Chloé withdraws, Bruno comes back, and a new
        # person arrives.
        a4 = changed(alice[3], nom="Alice (changée après la sauvegarde)")
        self.assertStatus(modify_put(alice[2], a4, if_match=etag(3)), 200)
        self.assertStatus(modify_delete(chloe[2], if_match=etag(3)), 200)
        self.assertStatus(restore(bruno[2], {"undelete": True}), 200)
        newcomer, newcomer_created = ft.create_submission(nom="Émile Nouveau")

        proc = self.apply(backup_id, "--confirm")
        self.assertIn("0 réinsérée(s), 3 remise(s) dans leur état sauvegardé",
                      bh.last_line(proc.stderr), bh.describe(proc))
        for person, withdrawn in ((alice, False), (bruno, True), (chloe, False), (denis, False)):
            with self.subTest(nom=person[0]["nom"], withdrawn=withdrawn):
                sid = person[1]["id"]
                row = ft.submission_row(sid)
                self.assertEqual(ft.content_of(row), ft.content_of(saved[sid]), person[0]["nom"])
                self.assertEqual(row["deleted_at"] is not None, withdrawn, person[0]["nom"])
        # Alice: the change made after the backup is still there, in the history.
        row = ft.submission_row(alice[1]["id"])
        self.assertEqual(row["version"], 5)
        self.assertEqual(row["historique"][3]["champs"]["nom"],
                         {"avant": a4["nom"], "apres": alice[3]["nom"]})
        self.assertEqual(row["historique"][:2], saved[alice[1]["id"]]["historique_modifications"])
        # Denis did not change: no new version.
        self.assertEqual(ft.submission_row(denis[1]["id"])["version"], 1)
        # The newcomer is not in the backup and is left alone.
        self.assertEqual(ft.content_of(ft.submission_row(newcomer_created["id"])),
                         ft.content_of(newcomer))
        audit = ft.sql("SELECT entity_id, details->>'operation' FROM audit_logs WHERE action = "
                       "'submission.restore_backup' AND details->>'backup_id' = :'p1' "
                       "ORDER BY entity_id", backup_id)
        self.assertEqual(sorted(int(r[0]) for r in audit),
                         sorted([alice[1]["id"], bruno[1]["id"], chloe[1]["id"]]))
        self.assertTrue(all(r[1] == "update" for r in audit), audit)

    def test_email_restores_one_person_only(self):
        people = self.make_people()
        backup_id = self.backup()
        alice, bruno = people[0], people[1]
        a4 = changed(alice[3], nom="Alice (changée)", email=ft.unique_email("alice"))
        self.assertStatus(modify_put(alice[2], a4, if_match=etag(3)), 200)
        self.assertStatus(restore(bruno[2], {"undelete": True}), 200)
        # By her e-mail of today, the one she would give.
        proc = self.apply(backup_id, "--email", a4["email"].upper(), "--confirm")
        self.assertRegex(bh.last_line(proc.stderr), r"pour %s : 1 réponse\(s\) concernée\(s\) "
                         r": 0 réinsérée\(s\), 1 remise\(s\)" % a4["email"].upper().replace(
                             ".", r"\."))
        self.assertEqual(ft.content_of(ft.submission_row(alice[1]["id"])), alice[3])
        self.assertIsNone(ft.submission_row(bruno[1]["id"])["deleted_at"], "Bruno untouched")

        proc = self.apply(backup_id, "--email", "personne@example.org", "--confirm")
        self.assertIn(": 0 réponse(s) concernée(s)", bh.last_line(proc.stderr))

    def test_conflict_is_reported_and_left_alone(self):
        p, c = ft.create_submission()
        backup_id = self.backup()
        # After the backup: withdrawn, and the same person submits anew.
        self.assertStatus(modify_delete(c["edit_token"], if_match=etag(1)), 200)
        p2, c2 = ft.create_submission(email=p["email"], nom="Deuxième réponse")
        proc = self.apply(backup_id, "--email", p["email"], "--confirm")
        self.assertIn("conflit : la réponse %d (%s) n'est pas restaurée : cette adresse est "
                      "active dans la réponse %d" % (c["id"], p["email"], c2["id"]), proc.stdout)
        self.assertIn("1 conflit(s)", bh.last_line(proc.stderr))
        self.assertIsNotNone(ft.submission_row(c["id"])["deleted_at"])
        self.assertEqual(ft.submission_row(c2["id"])["nom"], "Deuxième réponse")

    def test_wrong_role_changes_nothing(self):
        p, c = ft.create_submission()
        backup_id = self.backup()
        wipe_before = ft.sql_json(SNAPSHOT)
        self.assertStatus(modify_put(c["edit_token"], changed(p, nom="Changé"),
                                     if_match=etag(1)), 200)
        after_change = ft.sql_json(SNAPSHOT)
        self.assertNotEqual(wipe_before, after_change)
        proc = bh.run("restore-backup", "--apply", str(backup_id), "--confirm", env=self.env)
        self.assertRc(proc, 1)
        self.assertRegex(bh.last_line(proc.stderr), r"restauration de %d ÉCHOUÉE, rien n'a été "
                         r"modifié : .*droits insuffisants.*fiable_restore" % backup_id)
        self.assertEqual(ft.sql_json(SNAPSHOT), after_change)

    def test_apply_by_object_name_without_metadata(self):
        """The database lost backup_metadata too: the manifest beside the payload suffices."""
        self.make_people()
        backup_id = self.backup()
        row = bh.backup_row(backup_id)
        original = ft.sql_json(SNAPSHOT)
        wipe_submissions()
        proc = bh.run("restore-backup", "--apply", row["object_key"], "--confirm",
                      env=self.restore_env)
        self.assertRc(proc, 0)
        self.assertIn("RESTAURÉ depuis la sauvegarde %d" % backup_id, bh.last_line(proc.stderr))
        self.assertEqual(ft.sql_json(SNAPSHOT), original)

    def test_tampered_payload_is_never_applied(self):
        p, c = ft.create_submission()
        backup_id = self.backup()
        row = bh.backup_row(backup_id)
        self.assertStatus(modify_put(c["edit_token"], changed(p, nom="Après"),
                                     if_match=etag(1)), 200)
        before = ft.sql_json(SNAPSHOT)
        with open(os.path.join(self.dest, row["object_key"]), "ab") as f:
            f.write(b"\0")
        proc = self.apply(backup_id, "--confirm", rc=1)
        self.assertRegex(bh.last_line(proc.stderr), r"ÉCHOUÉE, rien n'a été modifié : .*ne "
                         r"correspond pas au manifeste")
        self.assertEqual(ft.sql_json(SNAPSHOT), before)


PARTICIPANTS = ("SELECT coalesce(json_agg(row_to_json(p) ORDER BY p.id), '[]')::text "
                "FROM participants p JOIN campagnes c ON c.id = p.campagne_id WHERE c.slug = :'p1'")


def invitation(token):
    return ft.request("POST", "/api/invitation", body=ft.encode_json({"jeton": token}),
                      headers={"Content-Type": ft.JSON, "Origin": ft.own_origin()})


def as_format_2(dest, key, new_id):
    """The backup `key` of dest rewritten as fiable-backup-submissions wrote it in format 2
    (before participants): no participants table, headers and manifest of format 2, the
    other rows byte for byte. Returns the new object's name (id new_id)."""
    with open(os.path.join(dest, key), "rb") as f:
        headers, rows = bh.read_payload(f.read())
    with open(os.path.join(dest, key.replace(".jsonl.gz", ".manifest.json")),
              encoding="utf-8") as f:
        manifest = json.load(f)
    lines = []
    for h in headers:
        if h["table"] == "participants":
            continue
        lines.append(json.dumps(dict(h, fiable_backup=2), separators=(",", ":"),
                                ensure_ascii=False))
        lines.extend(rows[h["table"]])
    payload = gzip.compress("".join(line + "\n" for line in lines).encode("utf-8"))
    name = re.sub(r"-\d+\.jsonl\.gz$", "-%d.jsonl.gz" % new_id, key)
    del manifest["tables"]["participants"]
    manifest.update(format=2, id=new_id, object=name, size=len(payload),
                    sha256=hashlib.sha256(payload).hexdigest())
    with open(os.path.join(dest, name), "wb") as f:
        f.write(payload)
    with open(os.path.join(dest, name.replace(".jsonl.gz", ".manifest.json")), "w",
              encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False)
    return name


class ParticipantsBackupTest(LocalDestination, bh.BackupTestCase):

    def campaign_with_participants(self):
        """An invited-only campaign: Ana invited (her invitation mail still queued), Basile
        invited and unsubscribed from reminders (his mail gone from the outbox by the time of
        the restoration), Chloé not invited yet. (slug, {name: token})."""
        slug = "sauv-%s" % uuid.uuid4().hex[:8]
        cid = ft.sql_one("INSERT INTO campagnes (slug, titre, etat, acces) VALUES (:'p1', "
                         "'Sauvegarde des participants', 'ouverte', 'invites') RETURNING id", slug)
        ft.sql("INSERT INTO creneaux (id, campagne_id, starts_at, ends_at, label) VALUES "
               "(:'p1', :'p2'::bigint, now() + interval '20 days', "
               "now() + interval '20 days 1 hour', 'Matin')", slug + "-0", cid)
        tokens = {}
        for name, unsubscribed in (("Ana", False), ("Basile", True)):
            token = secrets.token_urlsafe(32)
            tokens[name] = token
            ft.sql("WITH m AS (INSERT INTO mail_outbox (kind, recipient, subject, body, status) "
                   "VALUES ('invitation', :'p2', 'Invitation', '', 'sent') RETURNING id) "
                   "INSERT INTO participants (campagne_id, email, nom, groupe, "
                   "jeton_invitation_hash, invited_at, invitation_mail_id, statut_invitation, "
                   "desinscrit_relances_at) SELECT :'p1'::bigint, :'p2', :'p3', 'Compta', "
                   "decode(:'p4', 'hex'), now(), m.id, 'envoyee', "
                   "CASE WHEN :'p5'::boolean THEN now() END FROM m",
                   cid, ft.unique_email(name.lower()), name,
                   hashlib.sha256(token.encode()).hexdigest(), unsubscribed)
        ft.sql("INSERT INTO participants (campagne_id, email, nom) VALUES (:'p1'::bigint, "
               ":'p2', 'Chloé')", cid, ft.unique_email("chloe"))
        return slug, tokens

    def wipe_campaign(self, slug):
        """The disaster for this campaign: its participants, slot and itself gone."""
        ft.sql("BEGIN; DELETE FROM participants WHERE campagne_id = (SELECT id FROM campagnes "
               "WHERE slug = :'p1'); DELETE FROM creneaux WHERE campagne_id = (SELECT id FROM "
               "campagnes WHERE slug = :'p1'); DELETE FROM campagnes WHERE slug = :'p1'; "
               "COMMIT;", slug)

    def test_participants_come_back_with_their_links(self):
        slug, tokens = self.campaign_with_participants()
        self.assertStatus(invitation(tokens["Ana"]), 200)
        proc = bh.run("backup-submissions", "--verify-after", env=self.env)
        self.assertRc(proc, 0)
        summary = self.assertSuccessSummary(proc, verified=True)
        self.assertEqual(summary["participants"], ft.sql_int("SELECT count(*) FROM participants"))
        row = bh.backup_row(summary["id"])
        with open(os.path.join(self.dest, row["object_key"]), "rb") as f:
            headers, rows = bh.read_payload(f.read())
        self.assertEqual(headers[-1]["table"], "participants")
        ana = hashlib.sha256(tokens["Ana"].encode()).hexdigest()
        self.assertEqual(len([r for r in rows["participants"] if ana in r]), 1,
                         "Ana's token hash is in the backup")
        self.assertFalse(any(tokens["Ana"] in r for r in rows["participants"]),
                         "never the token itself")
        original = ft.sql_json(PARTICIPANTS, slug)
        self.assertEqual([p["nom"] for p in original], ["Ana", "Basile", "Chloé"])
        self.assertIsNotNone(original[1]["desinscrit_relances_at"])
        self.assertTrue(all(p["invitation_mail_id"] for p in original[:2]))

        self.wipe_campaign(slug)
        ft.sql("DELETE FROM mail_outbox WHERE id = :'p1'::bigint",
               original[1]["invitation_mail_id"])
        self.assertProblem(invitation(tokens["Ana"]), 403, "invitation_invalide")
        proc = bh.run("restore-backup", "--apply", str(summary["id"]), "--confirm",
                      env=self.restore_env)
        self.assertRc(proc, 0)
        self.assertRegex(bh.last_line(proc.stderr), r"RESTAURÉ .* 1 campagne\(s\), 1 créneau\(x\), "
                         r"3 participant\(s\) et \d+ ligne\(s\) d'audit rajouté\(s\)")
        self.assertFrenchOutput(proc)
        restored = ft.sql_json(PARTICIPANTS, slug)
        # Every column as it was; only Basile's link to a mail the outbox no longer has goes.
        original[1]["invitation_mail_id"] = None
        self.assertEqual(restored, original)
        # Personal links work again; the audit log names the restoration.
        for name in ("Ana", "Basile"):
            resp = invitation(tokens[name])
            self.assertStatus(resp, 200)
            self.assertEqual((resp.json()["nom"], resp.json()["campagne"]), (name, slug))
        self.assertEqual(ft.sql_int("SELECT count(*) FROM audit_logs WHERE action = "
                                    "'participant.create' AND actor = 'fiable-restore-backup' "
                                    "AND entity_id IN (SELECT id::text FROM participants p "
                                    "WHERE p.campagne_id = (SELECT id FROM campagnes WHERE "
                                    "slug = :'p1'))", slug), 3)
        later = ft.sql_one("INSERT INTO participants (campagne_id, email, nom) SELECT id, "
                           ":'p2', 'Après' FROM campagnes WHERE slug = :'p1' RETURNING id",
                           slug, ft.unique_email("apres"))
        self.assertGreater(int(later), max(p["id"] for p in restored),
                           "the identity sequence went past the restored ids")

    def test_backup_of_format_2_still_restores(self):
        payload, created = ft.create_submission(nom="Format Deux")
        slug, _tokens = self.campaign_with_participants()
        proc = bh.run("backup-submissions", env=self.env)
        self.assertRc(proc, 0)
        summary = self.assertSuccessSummary(proc)
        row = bh.backup_row(summary["id"])
        old = as_format_2(self.dest, row["object_key"], 800000 + summary["id"])
        verify = bh.run("restore-backup", "--verify", old, env=self.env)
        self.assertRc(verify, 0)
        wipe_submissions()
        self.wipe_campaign(slug)
        proc = bh.run("restore-backup", "--apply", old, "--confirm", env=self.restore_env)
        self.assertRc(proc, 0)
        self.assertRegex(bh.last_line(proc.stderr), r"RESTAURÉ depuis la sauvegarde %d : .* "
                         r"1 campagne\(s\), 1 créneau\(x\), 0 participant\(s\)"
                         % (800000 + summary["id"]))
        self.assertEqual(ft.count_by_email(payload["email"]), 1)
        self.assertEqual(ft.sql_json(PARTICIPANTS, slug), [],
                         "a backup of format 2 has no participants to give back")
        # A format 2 backup that names participants is not one.
        with open(os.path.join(self.dest, old.replace(".jsonl.gz", ".manifest.json")),
                  encoding="utf-8") as f:
            manifest = json.load(f)
        manifest["format"] = 1
        with open(os.path.join(self.dest, old.replace(".jsonl.gz", ".manifest.json")), "w",
                  encoding="utf-8") as f:
            json.dump(manifest, f)
        bad = bh.run("restore-backup", "--verify", old, env=self.env)
        self.assertRc(bad, 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
