#!/usr/bin/env python3
"""Feature flags (rollback scenario 2 of docs/plan-de-deploiement.md): switched by the administration
(GET/PUT /api/admin/fonctionnalites, behind nginx auth_basic) and by the command
`scripts/dev cron flags` (cron/fiable-flags), each change audited; /api/form reflects them and
the endpoints honour them: `modification` off refuses GET/PUT/DELETE /api/modify and the
person's POST /api/restore, `email_links` off refuses POST /api/modify/link and sends the
receipt without its link; a refused request stores nothing.

The suite shares one database: every test puts all the flags back on when it ends."""

import json
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import etag, sql, sql_int  # noqa: E402

FLAGS = "/api/admin/fonctionnalites"
NAMES = {"autosave", "offline_queue", "modification", "email_links"}
RECEIPT_SUBJECT = "Votre réponse est enregistrée"
LINK_SUBJECT = "Votre lien pour modifier votre réponse"


def subjects(mails):
    return [str(m["Subject"]) for m in mails]


def setUpModule():
    ft.require_env()


def admin_auth():
    return ft.basic_auth("admin", ft.admin_password())


def flags_get(authorization=None):
    return ft.get(FLAGS, headers={"Authorization": authorization or admin_auth()})


def flags_put(body, *, authorization=None, raw=None, content_type=ft.JSON, headers=None):
    h = {"Authorization": authorization or admin_auth()}
    if content_type is not None:
        h["Content-Type"] = content_type
    h.update(headers or {})
    data = raw if raw is not None else ft.encode_json(body)
    resp = ft.request("PUT", FLAGS, body=data, headers=h)
    resp.payload = body
    return resp


def form_flags():
    resp = ft.get(ft.FORM)
    if resp.status != 200:
        raise AssertionError("GET /api/form\n" + resp.describe())
    return resp.json()["fonctionnalites"]


def flag_audit_rows(since_id):
    """[action, entity_id, actor, details] of the flag audit rows after since_id."""
    return [[r[0], r[1], r[2], json.loads(r[3])] for r in sql(
        "SELECT action, entity_id, actor, details::text FROM audit_logs "
        "WHERE entity = 'feature_flags' AND id > :'p1'::bigint ORDER BY id", since_id)]


def max_audit_id():
    return sql_int("SELECT coalesce(max(id), 0) FROM audit_logs")


def cli(*args, timeout=60):
    """`scripts/dev cron flags ARGS...` on the test environment: CompletedProcess (text)."""
    ft.require_dev()
    proc = subprocess.run([os.environ["FIABLE_TEST_DEV"], "cron", "flags"] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=ft.ceiling(timeout))
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    if ft._SANITIZER.search(proc.stderr):
        raise AssertionError("sanitizer report from fiable-flags:\n" + proc.stderr)
    return proc


class FlagsCase(ft.ModifyTestCase):

    def setUp(self):
        self.addCleanup(sql, "UPDATE feature_flags SET enabled = true WHERE NOT enabled")

    def switch(self, name, enabled):
        """Switches a flag through the administration and checks the answer."""
        resp = flags_put({"nom": name, "active": enabled})
        self.assertStatus(resp, 200)
        body = resp.json()
        self.assertEqual(body["nom"], name, resp.describe())
        self.assertEqual(body["apres"], enabled, resp.describe())
        return body

    def assertDisabled(self, resp, code):
        return self.assertProblem(resp, 403, code)


class AdminEndpoint(FlagsCase):

    def test_refused_without_credentials(self):
        before = max_audit_id()
        for resp in (ft.get(FLAGS, headers={"Authorization": None}),
                     flags_put({"nom": "autosave", "active": False},
                               authorization=ft.basic_auth("admin", "mauvais")),
                     ft.request("PUT", FLAGS, body=b'{"nom":"autosave","active":false}',
                                headers={"Content-Type": ft.JSON, "Authorization": None})):
            self.assertStatus(resp, 401)
        self.assertEqual(max_audit_id(), before)
        self.assertTrue(form_flags()["autosave"])

    def test_list(self):
        resp = flags_get()
        self.assertStatus(resp, 200)
        self.assertMediaType(resp, ft.JSON)
        flags = {f["nom"]: f for f in resp.json()["fonctionnalites"]}
        self.assertTrue(NAMES <= set(flags), resp.describe())
        for name in NAMES:
            f = flags[name]
            self.assertEqual(set(f), {"nom", "active", "libelle", "description", "modifie_le",
                                      "modifie_par"}, resp.describe())
            self.assertIs(f["active"], True, resp.describe())
            self.assertFrench(f["libelle"], resp, "libelle")
            self.assertFrench(f["description"], resp, "description")
            ft.parse_iso(f["modifie_le"])

    def test_toggle_audited_and_reflected(self):
        before = max_audit_id()
        updated_before = sql_one_epoch("modification")
        body = self.switch("modification", False)
        self.assertEqual((body["avant"], body["modifiee"]), (True, True))
        self.assertFalse(form_flags()["modification"])
        listed = {f["nom"]: f for f in body["fonctionnalites"]}
        self.assertIs(listed["modification"]["active"], False)
        self.assertEqual(listed["modification"]["modifie_par"], "admin:admin")
        self.assertGreaterEqual(sql_one_epoch("modification"), updated_before)
        self.assertEqual(flag_audit_rows(before), [
            ["feature_flag.update", "modification", "admin:admin",
             {"name": "modification", "avant": True, "apres": False}]])

        # The same state again: answered, nothing written.
        again = self.switch("modification", False)
        self.assertEqual((again["avant"], again["modifiee"]), (False, False))
        self.assertEqual(len(flag_audit_rows(before)), 1)

        back = self.switch("modification", True)
        self.assertEqual((back["avant"], back["modifiee"]), (False, True))
        self.assertTrue(form_flags()["modification"])
        rows = flag_audit_rows(before)
        self.assertEqual(rows[-1], ["feature_flag.update", "modification", "admin:admin",
                                    {"name": "modification", "avant": False, "apres": True}])
        # The audit row carries the request's address and user agent, like every other.
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE entity = 'feature_flags' "
                                 "AND id > :'p1'::bigint AND client_addr IS NOT NULL "
                                 "AND user_agent LIKE 'fiable-itest/%'", before), 2)

    def test_bad_requests(self):
        before = max_audit_id()
        resp = flags_put({"nom": "teleportation", "active": False})
        p = self.assertValidationErrors(resp, ["nom"])
        self.assertIn("email_links", p["errors"]["nom"])
        self.assertValidationErrors(flags_put({"nom": "autosave", "active": "non"}), ["active"])
        self.assertValidationErrors(flags_put({"active": False}), ["nom"])
        self.assertValidationErrors(flags_put({}), ["nom", "active"])
        p = self.assertValidationErrors(flags_put({"nom": "autosave", "active": False,
                                                   "actif": False}), ["actif"])
        self.assertIn("inconnu", p["errors"]["actif"])
        self.assertValidationErrors(flags_put({"name": "autosave", "active": False}),
                                    ["nom", "name"])
        self.assertProblem(flags_put(None, raw=b'{"nom": "autosave", '), 400, "invalid_json")
        self.assertProblem(flags_put(None, raw=b'[]'), 400, "invalid_json")
        self.assertProblem(flags_put({"nom": "autosave", "active": False},
                                     content_type="text/plain"), 415, "unsupported_media_type")
        self.assertProblem(flags_put({"nom": "autosave", "active": False},
                                     headers={"Origin": "https://ailleurs.example"}),
                           403, "forbidden_origin")
        resp = ft.request("DELETE", FLAGS, headers={"Authorization": admin_auth()})
        self.assertProblem(resp, 405, "method_not_allowed")
        self.assertEqual(resp.header("Allow"), "GET, HEAD, PUT", resp.describe())
        self.assertEqual(max_audit_id(), before, "a refused request wrote an audit row")
        self.assertEqual(set(form_flags().values()), {True})


def sql_one_epoch(name):
    return float(ft.sql_one("SELECT extract(epoch FROM updated_at) FROM feature_flags "
                            "WHERE name = :'p1'", name))


class Command(FlagsCase):

    def test_list(self):
        proc = cli()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for name in NAMES:
            self.assertRegex(proc.stdout, r"(?m)^%s\s+activée\s" % name, proc.stdout)
        self.assertEqual(cli("list").stdout, proc.stdout)

    def test_set_audited(self):
        before = max_audit_id()
        proc = cli("set", "autosave", "off", "--actor", "exploitation")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("autosave désactivée", proc.stdout)
        self.assertFalse(form_flags()["autosave"])
        self.assertRegex(cli().stdout, r"(?m)^autosave\s+désactivée\s.*cli:exploitation")
        self.assertEqual(flag_audit_rows(before), [
            ["feature_flag.update", "autosave", "cli:exploitation",
             {"name": "autosave", "avant": True, "apres": False}]])

        again = cli("set", "autosave", "off")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("déjà désactivée", again.stdout)
        self.assertEqual(len(flag_audit_rows(before)), 1)

        # Without --actor: the system user that ran it.
        proc = cli("set", "autosave", "on")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(form_flags()["autosave"])
        rows = flag_audit_rows(before)
        self.assertEqual(len(rows), 2)
        self.assertRegex(rows[1][2], r"^cli:[A-Za-z0-9._@-]+$")
        self.assertEqual(rows[1][3], {"name": "autosave", "avant": False, "apres": True})

    def test_usage_errors(self):
        before = max_audit_id()
        for args in (["set", "teleportation", "off"], ["set", "autosave", "peut-etre"],
                     ["set", "autosave"], ["set", "autosave", "off", "--actor", "a b"],
                     ["set", "autosave", "off", "--bruit"], ["effacer"]):
            with self.subTest(args=args):
                proc = cli(*args)
                self.assertEqual(proc.returncode, 64, "%r: %s%s" % (args, proc.stdout, proc.stderr))
                self.assertTrue(proc.stderr.strip(), args)
        self.assertEqual(max_audit_id(), before)
        self.assertEqual(set(form_flags().values()), {True})


class Modification(FlagsCase):

    def test_refused_when_off_then_works_again(self):
        payload, created = ft.create_submission()
        sid, token = created["id"], created["edit_token"]
        before_row = ft.submission_row(sid)
        audit_before = ft.audit_count(sid)
        self.switch("modification", False)

        key = ft.new_key()
        changed = dict(payload, nom="Nom jamais enregistré")
        refused = [ft.modify_get(token),
                   ft.modify_put(token, changed, if_match=etag(1), key=key),
                   ft.modify_delete(token, if_match=etag(1)),
                   ft.restore(token, {"undelete": True}),
                   # Even without a valid token: nothing says whether it would be valid.
                   ft.modify_get("x" * 43)]
        for resp in refused:
            p = self.assertDisabled(resp, "modification_disabled")
            self.assertIn("désactivée", p["detail"], resp.describe())
        self.assertUnchanged(sid, before_row)
        self.assertEqual(ft.audit_count(sid), audit_before)
        self.assertEqual(ft.idempotency_rows(key), 0)

        self.switch("modification", True)
        self.assertRepresentation(ft.modify_get(token), sid, content=payload, version=1)
        resp = ft.modify_put(token, changed, if_match=etag(1), key=key)
        self.assertRepresentation(resp, sid, content=changed, version=2)


class EmailLinks(FlagsCase):

    def test_link_refused_when_off_then_works_again(self):
        payload, created = ft.create_submission()
        sid = created["id"]
        source = ft.link_source()
        # The submission queued its receipt, sent asynchronously: wait until it is delivered,
        # so that what follows counts only what the link requests cause.
        receipts = ft.settled_mails(payload["email"])
        self.assertEqual(subjects(receipts), [RECEIPT_SUBJECT])
        hash_before = ft.submission_row(sid)["hash"]
        self.switch("email_links", False)

        resp = ft.modify_link(payload["email"], source_address=source)
        self.assertDisabled(resp, "email_links_disabled")
        self.assertEqual(sql_int("SELECT count(*) FROM modify_link_requests "
                                 "WHERE client_addr = :'p1'", source[0]), 0)
        self.assertEqual(ft.submission_row(sid)["hash"], hash_before)
        self.assertEqual(ft.audit_entries(str(sid), "submission.link_sent"), [])
        # The refusal is synchronous: nothing was queued for the address, so nothing can
        # be sent later either.
        self.assertEqual(sql_int("SELECT count(*) FROM mail_outbox "
                                 "WHERE lower(recipient) = lower(:'p1') AND kind <> 'receipt'",
                                 payload["email"]), 0)

        self.switch("email_links", True)
        resp = ft.modify_link(payload["email"], source_address=source)
        self.assertStatus(resp, 202)
        # The mail sender resolves the request, then delivers what it queued: everything for
        # the address is the receipt and exactly one link, with the token now stored.
        mails = ft.settled_mails(payload["email"])
        self.assertEqual(subjects(mails), [RECEIPT_SUBJECT, LINK_SUBJECT])
        token = ft.extract_edit_token(mails[1])
        self.assertEqual(ft.submission_row(sid)["hash"], ft.sha256_hex(token))
        self.assertNotEqual(ft.submission_row(sid)["hash"], hash_before)

    def test_receipt_without_link_when_off(self):
        self.switch("email_links", False)
        off_payload, off_created = ft.create_submission()
        self.switch("email_links", True)
        on_payload, _ = ft.create_submission()

        off_mails = ft.settled_mails(off_payload["email"])
        self.assertEqual(subjects(off_mails), [RECEIPT_SUBJECT])
        text = ft.mail_text(off_mails[0])
        self.assertNotIn("#edit=", text)
        self.assertNotIn(off_created["edit_token"], text)
        self.assertIn("Nous avons bien enregistré votre réponse", text)
        # The answer to the form still carries the token (the browser keeps it).
        self.assertTrue(off_created["edit_token"])

        on_mails = ft.settled_mails(on_payload["email"])
        self.assertEqual(subjects(on_mails), [RECEIPT_SUBJECT])
        ft.extract_edit_token(on_mails[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
