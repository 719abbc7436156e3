#!/usr/bin/env python3
"""GET, PUT and DELETE /api/modify with the edit token: the representation, optimistic
concurrency (ETag / If-Match), the history of changes, idempotency, refusals, withdrawal."""

import base64
import concurrent.futures
import os
import secrets
import sys
import threading
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import etag, modify_delete, modify_get, modify_put, sql_int  # noqa: E402

MAX_BODY = 65536


def setUpModule():
    ft.require_env()


def changed(payload, **changes):
    """A copy of a submission payload with some fields changed."""
    new = ft.content_of(payload)
    new.update(changes)
    return new


class ReadTest(ft.ModifyTestCase):

    def test_get_returns_the_submission_and_its_etag(self):
        payload, created = ft.create_submission(nom="Anaïs Lefèvre", commentaire="Le soir.")
        resp = modify_get(created["edit_token"])
        body = self.assertRepresentation(resp, created["id"], payload, version=1,
                                         withdrawn=False)
        self.assertEqual(resp.header("ETag"), '"v1"', resp.describe())
        self.assertEqual(body["historique"], [], resp.describe())
        self.assertIsNone(body["deleted_at"], resp.describe())
        self.assertEqual(body["created_at"], created["created_at"], resp.describe())
        self.assertNotIn(created["edit_token"].encode(), resp.body, resp.describe())
        # Reading changes nothing and writes no audit row.
        self.assertEqual(ft.submission_row(created["id"])["version"], 1)
        self.assertEqual(ft.audit_rows_for_agent(resp.user_agent), 0, resp.describe())

    def test_bad_tokens_get_the_same_401(self):
        _, created = ft.create_submission()
        token = created["edit_token"]
        random_token = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        variants = {
            "no Authorization": None,
            "unknown token": "Bearer " + random_token,
            "token minus one character": "Bearer " + token[:-1],
            "token plus one character": "Bearer " + token + "A",
            "token in other case": "Bearer " + token.swapcase(),
            "malformed token": "Bearer !!%%''; DROP TABLE soumissions_disponibilites;--",
            "empty Bearer": "Bearer ",
            "scheme only": "Bearer",
            "other scheme": "Basic " + base64.b64encode(b"admin:" + token.encode()).decode(),
            "token without scheme": token,
            "very long token": "Bearer " + "A" * 2000,
        }
        self.assertNotEqual(token.swapcase(), token)
        bodies = {}
        for name, value in variants.items():
            with self.subTest(variant=name):
                resp = ft.request("GET", ft.MODIFY, headers={"Authorization": value})
                self.assertProblem(resp, 401, "invalid_token")
                challenge = resp.header("WWW-Authenticate") or ""
                self.assertTrue(challenge.lower().startswith("bearer"),
                                "no `WWW-Authenticate: Bearer`\n" + resp.describe())
                self.assertNotIn(b'"id"', resp.body, resp.describe())
                bodies[name] = ft.body_without_request_id(resp)
        self.assertEqual(len(set(bodies.values())), 1,
                         "the 401 bodies differ with the token presented: %r" % bodies)

    def test_bad_token_is_refused_on_writes(self):
        payload, created = ft.create_submission()
        before = ft.submission_row(created["id"])
        wrong = "Bearer " + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        for name, resp in (
                ("PUT", modify_put(None, changed(payload, nom="Intrus"), if_match=etag(1),
                                   headers={"Authorization": wrong})),
                ("PUT without token", modify_put(None, changed(payload, nom="Intrus"),
                                                 if_match=etag(1))),
                ("DELETE", modify_delete(None, if_match=etag(1),
                                         headers={"Authorization": wrong})),
                ("DELETE without token", modify_delete(None, if_match=etag(1)))):
            with self.subTest(request=name):
                self.assertProblem(resp, 401, "invalid_token")
                self.assertTrue((resp.header("WWW-Authenticate") or "").lower()
                                .startswith("bearer"), resp.describe())
                self.assertUnchanged(created["id"], before, resp)
        self.assertEqual(ft.audit_count(created["id"]), 1, "only the creation is audited")


class UpdateTest(ft.ModifyTestCase):

    def test_put_changes_the_slots_and_records_them_in_the_history(self):
        slots = ft.valid_slots(4)
        payload, created = ft.create_submission(creneaux=slots[:2])
        token = created["edit_token"]
        new = changed(payload, creneaux=[slots[3], slots[2]])
        resp = modify_put(token, new, if_match=etag(1))
        body = self.assertRepresentation(resp, created["id"], new, version=2, withdrawn=False)
        self.assertEqual(resp.header("ETag"), '"v2"', resp.describe())
        self.assertEqual(len(body["historique"]), 1, resp.describe())
        self.assertHistoryEntry(body["historique"][0], 1,
                                {"creneaux": (slots[:2], [slots[3], slots[2]])}, resp)
        self.assertEqual(body["created_at"], created["created_at"], resp.describe())
        self.assertGreaterEqual(ft.parse_iso(body["updated_at"]),
                                ft.parse_iso(body["created_at"]), resp.describe())

        # Coming back shows the new state.
        again = modify_get(token)
        self.assertRepresentation(again, created["id"], new, version=2)
        self.assertEqual(again.json(), body, again.describe())

    def test_history_names_exactly_the_changed_fields(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        new_email = ft.unique_email("nouvelle")
        v2 = changed(payload, email=new_email, nom="Nom changé", commentaire="Autre chose")
        resp = modify_put(token, v2, if_match=etag(1))
        body = self.assertRepresentation(resp, created["id"], v2, version=2)
        self.assertHistoryEntry(body["historique"][0], 1, {
            "email": (payload["email"], new_email),
            "nom": (payload["nom"], "Nom changé"),
            "commentaire": (payload["commentaire"], "Autre chose")}, resp)
        self.assertEqual(ft.count_by_email(payload["email"]), 0)
        self.assertEqual(ft.count_by_email(new_email), 1)

        v3 = changed(v2, commentaire="")
        resp = modify_put(token, v3, if_match=etag(2))
        body = self.assertRepresentation(resp, created["id"], v3, version=3)
        self.assertEqual(len(body["historique"]), 2, resp.describe())
        self.assertHistoryEntry(body["historique"][1], 2, {"commentaire": ("Autre chose", "")},
                                resp)
        # The earlier entry is kept as it was.
        self.assertHistoryEntry(body["historique"][0], 1, {
            "email": (payload["email"], new_email),
            "nom": (payload["nom"], "Nom changé"),
            "commentaire": (payload["commentaire"], "Autre chose")}, resp)

    def test_each_change_writes_one_audit_row(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        agents = []
        for version, nom in ((1, "Premier changement"), (2, "Second changement")):
            resp = modify_put(token, changed(payload, nom=nom), if_match=etag(version))
            self.assertRepresentation(resp, created["id"], version=version + 1)
            agents.append(resp.user_agent)
        rows = ft.audit_entries(created["id"], "submission.update")
        self.assertEqual(len(rows), 2, "expected one submission.update row per change: %r"
                         % rows)
        for (actor, client_addr, user_agent), agent in zip(rows, agents):
            self.assertEqual(actor, payload["email"])
            self.assertEqual(client_addr, "127.0.0.1")
            self.assertEqual(user_agent, agent)
        self.assertEqual(ft.audit_count(created["id"]), 3, "create + 2 updates")
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs AS a "
                                 "WHERE strpos(a::text, :'p1') > 0", token), 0,
                         "the edit token is stored in audit_logs")

    def test_stale_if_match_is_412_with_the_current_state(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        v2 = changed(payload, nom="Version deux")
        self.assertRepresentation(modify_put(token, v2, if_match=etag(1)), created["id"], v2,
                                  version=2)
        before = ft.submission_row(created["id"])
        current = modify_get(token).json()
        for stale in (etag(1), etag(3), etag(99)):
            with self.subTest(if_match=stale):
                resp = modify_put(token, changed(payload, nom="Version périmée"),
                                  if_match=stale)
                p = self.assertProblem(resp, 412, "version_mismatch")
                self.assertEqual(p.get("current"), current,
                                 "problem.current is not the current representation\n"
                                 + resp.describe())
                self.assertUnchanged(created["id"], before, resp)
        # Tags that name no version never match either (If-Match compares strongly, RFC 9110:
        # a weak tag never matches).
        for other in ('"v0"', '"2"', 'W/"v2"', '"v2x"'):
            with self.subTest(if_match=other):
                resp = modify_put(token, changed(payload, nom="Version périmée"),
                                  if_match=other)
                self.assertProblem(resp, 412, "version_mismatch")
                self.assertUnchanged(created["id"], before, resp)
        self.assertEqual(len(ft.audit_entries(created["id"], "submission.update")), 1)

    def test_if_match_star_and_lists_are_evaluated_as_rfc_9110_says(self):
        """RFC 9110 §13.1.1: "*" holds for any current version, a list when one of its
        strong tags is the current one."""
        payload, created = ft.create_submission()
        token = created["edit_token"]
        steps = (('*', 2), ('"v9", "v2"', 3), ('"abc",W/"v3" , "v3"', 4), (', "v4",', 5))
        for if_match, version in steps:
            with self.subTest(if_match=if_match):
                new = changed(payload, nom="Version %d" % version)
                self.assertRepresentation(modify_put(token, new, if_match=if_match),
                                          created["id"], new, version=version)
        before = ft.submission_row(created["id"])
        for if_match in ('"v9", "v1"', 'W/"v5"', '"v5" "v6"', '*, "v5"'):
            with self.subTest(if_match=if_match):
                resp = modify_put(token, changed(payload, nom="Refusée"), if_match=if_match)
                self.assertProblem(resp, 412, "version_mismatch")
                self.assertUnchanged(created["id"], before, resp)
        self.assertStatus(modify_delete(token, if_match='"v1", "v5"'), 200)

    def test_idempotency_key_as_a_structured_field_string(self):
        """The draft writes the key as an sf-string ("..."): the same key as the bare one."""
        payload, created = ft.create_submission()
        key = ft.new_key()
        new = changed(payload, nom="Clé entre guillemets")
        raw = ft.encode_json(new)
        first = modify_put(created["edit_token"], new, raw=raw, key='"%s"' % key,
                           if_match=etag(1))
        self.assertRepresentation(first, created["id"], new, version=2)
        again = modify_put(created["edit_token"], new, raw=raw, key=key.upper(),
                           if_match=etag(1))
        self.assertEqual((again.status, again.body), (first.status, first.body),
                         again.describe())
        self.assertEqual(ft.submission_row(created["id"])["version"], 2)

    def test_missing_if_match_is_428(self):
        payload, created = ft.create_submission()
        before = ft.submission_row(created["id"])
        resp = modify_put(created["edit_token"], changed(payload, nom="Sans If-Match"),
                          if_match=None)
        self.assertProblem(resp, 428, "if_match_required")
        self.assertUnchanged(created["id"], before, resp)
        self.assertEqual(ft.audit_rows_for_agent(resp.user_agent), 0)

    def test_invalid_fields_are_400_and_change_nothing(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        before = ft.submission_row(created["id"])
        unknown_slot = "inconnu-" + uuid.uuid4().hex[:12]
        cases = [
            ({"email"}, {"email": "pas-une-adresse.example.org"}),
            ({"email"}, {"email": "   "}),
            ({"nom"}, {"nom": ""}),
            ({"nom"}, {"nom": "a" * 101}),
            ({"nom"}, {"nom": "Jean\u0001Dupont"}),
            ({"creneaux"}, {"creneaux": []}),
            ({"creneaux"}, {"creneaux": ft.valid_slots(1) + [unknown_slot]}),
            ({"creneaux"}, {"creneaux": [ft.valid_slots(1)[0]] * 2}),
            ({"creneaux"}, {"creneaux": "pas-une-liste"}),
            ({"commentaire"}, {"commentaire": "x" * 2001}),
            ({"email", "nom", "creneaux"}, {"email": "a b@c", "nom": "",
                                            "creneaux": [unknown_slot]}),
        ]
        for fields, changes in cases:
            with self.subTest(changes={k: str(v)[:30] for k, v in changes.items()}):
                resp = modify_put(token, changed(payload, **changes), if_match=etag(1))
                self.assertValidationErrors(resp, fields)
                self.assertUnchanged(created["id"], before, resp)
        for missing in ("email", "nom", "creneaux"):
            with self.subTest(missing=missing):
                body = changed(payload)
                del body[missing]
                resp = modify_put(token, body, if_match=etag(1))
                self.assertValidationErrors(resp, {missing})
                self.assertUnchanged(created["id"], before, resp)
        # A member PUT does not know is named, never dropped: the misspelled comment would
        # otherwise be lost while the rest is saved.
        for fields, extra in (({"commentair"}, {"commentair": "Je préfère le matin."}),
                              ({"version", "historique"}, {"version": 9, "historique": []})):
            with self.subTest(extra=sorted(extra)):
                body = changed(payload, nom="Nom Changé")
                body.update(extra)
                resp = modify_put(token, body, if_match=etag(1))
                p = self.assertValidationErrors(resp, fields)
                for field in fields:
                    self.assertIn("inconnu", p["errors"][field], resp.describe())
                self.assertUnchanged(created["id"], before, resp)
        self.assertEqual(ft.audit_count(created["id"]), 1)

    def test_unparseable_json_is_400(self):
        payload, created = ft.create_submission()
        before = ft.submission_row(created["id"])
        good = ft.encode_json(changed(payload, nom="Nouveau"))
        for name, raw in (("truncated", good[:-1]), ("array", b"[]"), ("empty", b"")):
            with self.subTest(body=name):
                resp = modify_put(created["edit_token"], None, raw=raw, if_match=etag(1))
                self.assertProblem(resp, 400, "invalid_json")
                self.assertUnchanged(created["id"], before, resp)

    def test_other_media_types_are_415(self):
        payload, created = ft.create_submission()
        before = ft.submission_row(created["id"])
        for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
            with self.subTest(content_type=content_type):
                resp = modify_put(created["edit_token"], changed(payload, nom="Nouveau"),
                                  if_match=etag(1), content_type=content_type)
                self.assertProblem(resp, 415, "unsupported_media_type")
                self.assertUnchanged(created["id"], before, resp)

    def test_body_over_64_kib_is_413(self):
        payload, created = ft.create_submission()
        before = ft.submission_row(created["id"])
        body = changed(payload, nom="Trop gros")
        body["padding"] = ""
        body["padding"] = "x" * (MAX_BODY + 1 - len(ft.encode_json(body)))
        raw = ft.encode_json(body)
        self.assertEqual(len(raw), MAX_BODY + 1)
        resp = modify_put(created["edit_token"], body, raw=raw, if_match=etag(1))
        self.assertProblem(resp, 413, "payload_too_large")
        self.assertUnchanged(created["id"], before, resp)

    def test_foreign_origin_is_403(self):
        payload, created = ft.create_submission()
        before = ft.submission_row(created["id"])
        for origin in ("https://evil.example", "null", ft.own_origin() + ".evil.example"):
            with self.subTest(origin=origin):
                resp = modify_put(created["edit_token"], changed(payload, nom="Pirate"),
                                  if_match=etag(1), headers={"Origin": origin})
                self.assertProblem(resp, 403, "forbidden_origin")
                self.assertUnchanged(created["id"], before, resp)
        # The site's own origin is accepted.
        resp = modify_put(created["edit_token"], changed(payload, nom="Depuis le site"),
                          if_match=etag(1), headers={"Origin": ft.own_origin()})
        self.assertRepresentation(resp, created["id"], version=2)

    def test_email_of_another_active_submission_is_409(self):
        other, _ = ft.create_submission()
        payload, created = ft.create_submission()
        before = ft.submission_row(created["id"])
        for address in (other["email"], other["email"].upper()):
            with self.subTest(email=address):
                resp = modify_put(created["edit_token"], changed(payload, email=address),
                                  if_match=etag(1))
                self.assertProblem(resp, 409, "already_submitted")
                self.assertUnchanged(created["id"], before, resp)
        self.assertEqual(ft.count_by_email(other["email"]), 1)

    def test_email_of_a_withdrawn_submission_can_be_taken(self):
        other, other_created = ft.create_submission()
        self.assertRepresentation(modify_delete(other_created["edit_token"], if_match=etag(1)),
                                  other_created["id"], withdrawn=True)
        payload, created = ft.create_submission()
        new = changed(payload, email=other["email"])
        resp = modify_put(created["edit_token"], new, if_match=etag(1))
        self.assertRepresentation(resp, created["id"], new, version=2)
        self.assertEqual(ft.count_by_email(other["email"]), 2)

    def test_idempotent_replay_is_identical_and_applied_once(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        key = ft.new_key()
        new = changed(payload, nom="Rejouée", creneaux=ft.valid_slots(3)[2:])
        raw = ft.encode_json(new)
        first = modify_put(token, new, raw=raw, key=key, if_match=etag(1))
        self.assertRepresentation(first, created["id"], new, version=2)
        second = modify_put(token, new, raw=raw, key=key, if_match=etag(1))
        self.assertEqual(second.status, first.status, second.describe())
        self.assertEqual(second.body, first.body,
                         "the replayed body differs\nfirst:\n%s\nsecond:\n%s"
                         % (first.describe(), second.describe()))
        self.assertEqual(second.header("ETag"), first.header("ETag"), second.describe())
        self.assertEqual(second.media_type, first.media_type, second.describe())
        row = ft.submission_row(created["id"])
        self.assertEqual(row["version"], 2, "the replay was applied again")
        self.assertEqual(len(row["historique"]), 1, "the replay was applied again")
        self.assertEqual(len(ft.audit_entries(created["id"], "submission.update")), 1,
                         "the replay wrote a second audit row")

    def test_malformed_idempotency_key_is_400(self):
        payload, created = ft.create_submission()
        before = ft.submission_row(created["id"])
        for key in ("not-a-uuid", str(uuid.uuid4()) + "x", "' OR 1=1 --",
                    "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"):
            with self.subTest(key=key):
                resp = modify_put(created["edit_token"], changed(payload, nom="Clé"),
                                  key=key, if_match=etag(1))
                self.assertProblem(resp, 400, "idempotency_key_invalid")
                self.assertUnchanged(created["id"], before, resp)

    def test_concurrent_puts_with_one_if_match_one_wins(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        rounds = 5
        for round_ in range(rounds):
            version = round_ + 1
            barrier = threading.Barrier(2)
            bodies = [changed(payload, nom="Tour %d écrivain %d" % (version, i))
                      for i in range(2)]

            def send(body, barrier=barrier, version=version):
                barrier.wait(timeout=30)
                return modify_put(token, body, if_match=etag(version), timeout=60)

            with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
                responses = list(pool.map(send, bodies))
            statuses = sorted(r.status for r in responses)
            self.assertEqual(statuses, [200, 412], "round %d: %s"
                             % (version, "\n".join(r.describe() for r in responses)))
            winner = next(r for r in responses if r.status == 200)
            loser = next(r for r in responses if r.status == 412)
            self.assertRepresentation(winner, created["id"], winner.payload,
                                      version=version + 1)
            p = self.assertProblem(loser, 412, "version_mismatch")
            self.assertEqual(p.get("current"), winner.json(),
                             "the loser's problem.current is not the winner's state\n"
                             + loser.describe())
        row = ft.submission_row(created["id"])
        self.assertEqual(row["version"], rounds + 1)
        self.assertEqual(len(row["historique"]), rounds)
        self.assertEqual(len(ft.audit_entries(created["id"], "submission.update")), rounds)


class WithdrawTest(ft.ModifyTestCase):

    def test_delete_withdraws_softly_and_frees_the_email(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        resp = modify_delete(token, if_match=etag(1))
        body = self.assertRepresentation(resp, created["id"], payload, version=2,
                                         withdrawn=True)
        self.assertEqual(resp.header("ETag"), '"v2"', resp.describe())
        self.assertHistoryEntry(body["historique"][0], 1, {"deleted_at": (None, ft.ANY)}, resp)
        self.assertIsNotNone(body["historique"][0]["champs"]["deleted_at"]["apres"])
        row = ft.submission_row(created["id"])
        self.assertIsNotNone(row, "the row was deleted, not withdrawn")
        self.assertIsNotNone(row["deleted_at"])

        audit = ft.audit_entries(created["id"], "submission.withdraw")
        self.assertEqual(len(audit), 1, "expected one submission.withdraw row: %r" % audit)
        self.assertEqual(audit[0][0], payload["email"])
        self.assertEqual(audit[0][2], resp.user_agent)

        # The token still reads the withdrawn submission.
        again = modify_get(token)
        self.assertRepresentation(again, created["id"], payload, version=2, withdrawn=True)
        self.assertEqual(again.json(), body, again.describe())

        # The e-mail is free for a new submission.
        new = self.assertCreated(ft.submit(ft.valid_payload(email=payload["email"])))
        self.assertNotEqual(new["id"], created["id"])
        self.assertEqual(ft.count_by_email(payload["email"]), 2)
        self.assertIsNotNone(ft.submission_row(created["id"])["deleted_at"])

    def test_withdrawn_submission_refuses_changes(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        self.assertRepresentation(modify_delete(token, if_match=etag(1)), created["id"],
                                  version=2, withdrawn=True)
        before = ft.submission_row(created["id"])
        resp = modify_delete(token, if_match=etag(2))
        self.assertProblem(resp, 409, "submission_withdrawn")
        self.assertUnchanged(created["id"], before, resp)
        resp = modify_put(token, changed(payload, nom="Après retrait"), if_match=etag(2))
        self.assertProblem(resp, 409, "submission_withdrawn")
        self.assertUnchanged(created["id"], before, resp)
        self.assertEqual(len(ft.audit_entries(created["id"], "submission.withdraw")), 1)
        self.assertEqual(ft.audit_entries(created["id"], "submission.update"), [])

    def test_delete_without_if_match_is_428(self):
        _, created = ft.create_submission()
        before = ft.submission_row(created["id"])
        resp = modify_delete(created["edit_token"], if_match=None)
        self.assertProblem(resp, 428, "if_match_required")
        self.assertUnchanged(created["id"], before, resp)

    def test_delete_with_stale_if_match_is_412(self):
        payload, created = ft.create_submission()
        token = created["edit_token"]
        self.assertRepresentation(modify_put(token, changed(payload, nom="Deux"),
                                             if_match=etag(1)), created["id"], version=2)
        before = ft.submission_row(created["id"])
        resp = modify_delete(token, if_match=etag(1))
        p = self.assertProblem(resp, 412, "version_mismatch")
        self.assertEqual(p.get("current"), modify_get(token).json(), resp.describe())
        self.assertUnchanged(created["id"], before, resp)
        self.assertEqual(ft.audit_entries(created["id"], "submission.withdraw"), [])


class DeploymentPlanTest4(ft.ModifyTestCase):
    """Test 4 of the deployment plan: submit, come back, change the slots, see the history."""

    def test_submit_come_back_change_slots_see_history(self):
        slots = ft.valid_slots(4)
        payload = ft.valid_payload(creneaux=[slots[0], slots[1]])
        body = self.assertCreated(ft.submit(payload))
        token = body["edit_token"]

        back = modify_get(token)
        state = self.assertRepresentation(back, body["id"], payload, version=1)
        self.assertEqual(state["historique"], [])

        new = changed(state, creneaux=[slots[1], slots[2], slots[3]])
        resp = modify_put(token, new, if_match=back.header("ETag"))
        self.assertRepresentation(resp, body["id"], new, version=2)

        history = self.assertRepresentation(modify_get(token), body["id"], new,
                                            version=2)["historique"]
        self.assertEqual(len(history), 1, history)
        self.assertHistoryEntry(history[0], 1, {
            "creneaux": ([slots[0], slots[1]], [slots[1], slots[2], slots[3]])})


if __name__ == "__main__":
    unittest.main(verbosity=2)
