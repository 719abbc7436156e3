#!/usr/bin/env python3
"""POST /api/restore (with the edit token) and POST /api/admin/restore (behind nginx's
auth_basic): back to an earlier version as a new version, undoing a withdrawal."""

import json
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import ANY, etag, modify_delete, modify_get, modify_put, restore  # noqa: E402


def setUpModule():
    ft.require_env()


def changed(payload, **changes):
    new = ft.content_of(payload)
    new.update(changes)
    return new


def differences(old, new):
    """{field: (old value, new value)} for the content fields that differ."""
    old, new = ft.content_of(old), ft.content_of(new)
    return {f: (old[f], new[f]) for f in ft.CONTENT_FIELDS if old[f] != new[f]}


def content_at(submission_id, version):
    """The content of a version as rebuilt by the database from the history."""
    return ft.sql_json("SELECT soumission_contenu_a_la_version(:'p1'::bigint, "
                       ":'p2'::integer)::text", submission_id, version)


class RestoreCase(ft.ModifyTestCase):

    def make_versions(self, count):
        """A submission with `count` versions, each changing something different.
        Returns (token, id, [content of v1, v2, ...])."""
        slots = ft.valid_slots(4)
        payload, created = ft.create_submission(creneaux=slots[:2])
        token = created["edit_token"]
        contents = [ft.content_of(payload)]
        changes = [
            {"creneaux": [slots[2]]},
            {"nom": "Nom de la version trois"},
            {"commentaire": "Version quatre", "creneaux": [slots[3], slots[0]]},
            {"nom": "Nom de la version cinq", "commentaire": ""},
        ]
        for i in range(count - 1):
            new = changed(contents[-1], **changes[i % len(changes)])
            resp = modify_put(token, new, if_match=etag(i + 1))
            self.assertRepresentation(resp, created["id"], new, version=i + 2)
            contents.append(new)
        return token, created["id"], contents


class RestoreVersionTest(RestoreCase):

    def test_restore_version_1_after_three_changes(self):
        token, sid, contents = self.make_versions(4)
        history_before = ft.submission_row(sid)["historique"]
        self.assertEqual(len(history_before), 3)
        self.assertNotEqual(contents[3], contents[0])

        resp = restore(token, {"version": 1})
        body = self.assertRepresentation(resp, sid, contents[0], version=5, withdrawn=False)
        self.assertEqual(resp.header("ETag"), '"v5"', resp.describe())
        history = body["historique"]
        self.assertEqual(len(history), 4, resp.describe())
        self.assertEqual(history[:3], history_before,
                         "the restoration changed earlier history entries\n" + resp.describe())
        self.assertHistoryEntry(history[3], 4, differences(contents[3], contents[0]), resp)

        # Every version can still be rebuilt from the stored history.
        for version, expected in enumerate(contents + [contents[0]], 1):
            self.assertEqual(content_at(sid, version), expected,
                             "version %d rebuilt from the history" % version)

        audit = ft.audit_entries(sid, "submission.restore")
        self.assertEqual(len(audit), 1, "expected one submission.restore row: %r" % audit)
        self.assertEqual(audit[0][0], contents[0]["email"])
        self.assertEqual(audit[0][2], resp.user_agent)

        again = modify_get(token)
        self.assertEqual(again.json(), body, again.describe())

    def test_successive_restorations(self):
        token, sid, contents = self.make_versions(3)
        expected = list(contents)
        for target in (2, 3, 1, 5):
            with self.subTest(target=target):
                current = len(expected)
                expected.append(expected[target - 1])
                resp = restore(token, {"version": target})
                body = self.assertRepresentation(resp, sid, expected[-1], version=current + 1)
                self.assertHistoryEntry(body["historique"][-1], current,
                                        differences(expected[current - 1], expected[-1]), resp)
        for version, content in enumerate(expected, 1):
            self.assertEqual(content_at(sid, version), content, "version %d" % version)
        self.assertEqual(len(ft.audit_entries(sid, "submission.restore")), 4)

    def test_restoring_an_email_taken_meanwhile_is_409(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        moved = changed(payload, email=ft.unique_email("deplacee"))
        self.assertRepresentation(modify_put(token, moved, if_match=etag(1)), created["id"],
                                  moved, version=2)
        # The first e-mail is free: someone else takes it.
        self.assertCreated(ft.submit(ft.valid_payload(email=payload["email"])))
        before = ft.submission_row(created["id"])
        resp = restore(token, {"version": 1})
        self.assertProblem(resp, 409, "already_submitted")
        self.assertUnchanged(created["id"], before, resp)
        self.assertEqual(ft.count_by_email(payload["email"]), 1)

    def test_invalid_versions_are_400(self):
        token, sid, _ = self.make_versions(3)
        before = ft.submission_row(sid)
        for version in (0, -1, 3, 4, 99, "1", "deux", 1.5, None, True, [1], {"v": 1}):
            with self.subTest(version=version):
                resp = restore(token, {"version": version})
                self.assertValidationErrors(resp, {"version"})
                self.assertUnchanged(sid, before, resp)
        # Unknown members are named, with the other faults; "id" is the administration's.
        for fields, body in (({"force"}, {"version": 1, "force": True}),
                             ({"id"}, {"version": 1, "id": sid}),
                             ({"Version", "version"}, {"Version": 1}),
                             ({"undelet"}, {"undelete": True, "undelet": True})):
            with self.subTest(body=json.dumps(body)):
                resp = restore(token, body)
                self.assertValidationErrors(resp, fields)
                self.assertUnchanged(sid, before, resp)
        self.assertEqual(ft.audit_entries(sid, "submission.restore"), [])

    def test_if_match(self):
        token, sid, contents = self.make_versions(2)
        before = ft.submission_row(sid)
        for stale in (etag(1), etag(3)):
            with self.subTest(if_match=stale):
                resp = restore(token, {"version": 1}, if_match=stale)
                self.assertProblem(resp, 412, "version_mismatch")
                self.assertUnchanged(sid, before, resp)
        resp = restore(token, {"version": 1}, if_match=etag(2))
        self.assertRepresentation(resp, sid, contents[0], version=3)

    def test_bad_token_is_401(self):
        token, sid, _ = self.make_versions(2)
        before = ft.submission_row(sid)
        for name, auth in (("none", None), ("unknown", "Bearer " + "B" * 43),
                           ("truncated", "Bearer " + token[:-2])):
            with self.subTest(token=name):
                resp = restore(None, {"version": 1}, headers={"Authorization": auth})
                self.assertProblem(resp, 401, "invalid_token")
                self.assertTrue((resp.header("WWW-Authenticate") or "").lower()
                                .startswith("bearer"), resp.describe())
                self.assertUnchanged(sid, before, resp)

    def test_withdrawn_submission_cannot_be_restored_to_a_version(self):
        token, sid, _ = self.make_versions(2)
        self.assertRepresentation(modify_delete(token, if_match=etag(2)), sid, version=3,
                                  withdrawn=True)
        before = ft.submission_row(sid)
        resp = restore(token, {"version": 1})
        self.assertProblem(resp, 409, "submission_withdrawn")
        self.assertUnchanged(sid, before, resp)


class UndeleteTest(RestoreCase):

    def test_undelete_a_withdrawn_submission(self):
        token, sid, contents = self.make_versions(2)
        withdrawn = self.assertRepresentation(modify_delete(token, if_match=etag(2)), sid,
                                              version=3, withdrawn=True)
        resp = restore(token, {"undelete": True})
        body = self.assertRepresentation(resp, sid, contents[1], version=4, withdrawn=False)
        self.assertIsNone(body["deleted_at"], resp.describe())
        self.assertEqual(body["historique"][:2], withdrawn["historique"][:2], resp.describe())
        self.assertHistoryEntry(body["historique"][2], 3, {"deleted_at": (ANY, None)}, resp)
        self.assertIsNotNone(body["historique"][2]["champs"]["deleted_at"]["avant"])
        self.assertIsNone(ft.submission_row(sid)["deleted_at"])

        audit = ft.audit_entries(sid, "submission.undelete")
        self.assertEqual(len(audit), 1, "expected one submission.undelete row: %r" % audit)
        self.assertEqual(audit[0][0], contents[1]["email"])
        self.assertEqual(audit[0][2], resp.user_agent)

        # Active again: the e-mail is taken and the submission can be changed.
        dup = ft.submit(ft.valid_payload(email=contents[1]["email"]))
        self.assertProblem(dup, 409, "already_submitted")
        new = changed(contents[1], nom="Après restauration")
        self.assertRepresentation(modify_put(token, new, if_match=etag(4)), sid, new,
                                  version=5)

    def test_undelete_when_the_email_was_taken_is_409(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        self.assertRepresentation(modify_delete(token, if_match=etag(1)), created["id"],
                                  version=2, withdrawn=True)
        self.assertCreated(ft.submit(ft.valid_payload(email=payload["email"].upper())))
        before = ft.submission_row(created["id"])
        resp = restore(token, {"undelete": True})
        self.assertProblem(resp, 409, "already_submitted")
        self.assertUnchanged(created["id"], before, resp)
        self.assertEqual(ft.audit_entries(created["id"], "submission.undelete"), [])

    def test_undelete_of_an_active_submission_is_409(self):
        token, sid, _ = self.make_versions(2)
        before = ft.submission_row(sid)
        resp = restore(token, {"undelete": True})
        self.assertProblem(resp, 409, "not_withdrawn")
        self.assertUnchanged(sid, before, resp)


class AdminRestoreTest(RestoreCase):

    def test_credentials_are_required(self):
        token, sid, _ = self.make_versions(2)
        before = ft.submission_row(sid)
        for name, auth in (("none", None),
                           ("wrong password", ft.basic_auth("admin", "pas-le-bon")),
                           ("other user", ft.basic_auth("intrus", ft.admin_password())),
                           ("edit token", "Bearer " + token)):
            with self.subTest(credentials=name):
                resp = ft.admin_restore({"id": sid, "version": 1}, authorization=auth)
                self.assertStatus(resp, 401)
                self.assertTrue((resp.header("WWW-Authenticate") or "").lower()
                                .startswith("basic"), resp.describe())
                self.assertUnchanged(sid, before, resp)
        self.assertEqual(ft.audit_entries(sid, "submission.restore"), [])

    def test_admin_restores_a_version(self):
        token, sid, contents = self.make_versions(3)
        history_before = ft.submission_row(sid)["historique"]
        resp = ft.admin_restore({"id": sid, "version": 1})
        body = self.assertRepresentation(resp, sid, contents[0], version=4)
        self.assertEqual(body["historique"][:2], history_before, resp.describe())
        self.assertHistoryEntry(body["historique"][2], 3,
                                differences(contents[2], contents[0]), resp)
        audit = ft.audit_entries(sid, "submission.restore")
        self.assertEqual(len(audit), 1, audit)
        self.assertEqual(audit[0][0], "admin:admin")
        # The owner sees it with the token.
        self.assertEqual(modify_get(token).json(), body)

    def test_admin_undeletes(self):
        payload, created = ft.create_submission()
        sid = created["id"]
        self.assertRepresentation(modify_delete(created["edit_token"], if_match=etag(1)), sid,
                                  version=2, withdrawn=True)
        resp = ft.admin_restore({"id": sid, "undelete": True})
        self.assertRepresentation(resp, sid, payload, version=3, withdrawn=False)
        audit = ft.audit_entries(sid, "submission.undelete")
        self.assertEqual(len(audit), 1, audit)
        self.assertEqual(audit[0][0], "admin:admin")

    def test_admin_refusals(self):
        payload, created = ft.create_submission()
        sid = created["id"]
        before = ft.submission_row(sid)
        resp = ft.admin_restore({"id": sid, "version": 1})
        self.assertValidationErrors(resp, {"version"})
        resp = ft.admin_restore({"id": sid, "undelete": True})
        self.assertProblem(resp, 409, "not_withdrawn")
        self.assertUnchanged(sid, before, resp)
        resp = ft.admin_restore({"id": sid, "undelete": True, "motif": "erreur de saisie"})
        self.assertValidationErrors(resp, {"motif"})
        self.assertUnchanged(sid, before, resp)

        unknown = ft.max_submission_id() + 1000000
        for body in ({"id": unknown, "version": 1}, {"id": unknown, "undelete": True}):
            with self.subTest(body=json.dumps(body)):
                resp = ft.admin_restore(body)
                self.assertProblem(resp, 404, "not_found")
        self.assertEqual(ft.sql_int("SELECT count(*) FROM audit_logs WHERE entity_id = :'p1'",
                                    unknown), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
