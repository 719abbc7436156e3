#!/usr/bin/env python3
"""Schema checks of the deployment plan, run as the superuser on the test database, and what
the application role may write, tried on its own connection."""

import json
import os
import sys
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fiable_test as ft  # noqa: E402
from fiable_test import sql, sql_int, sql_json, sql_one, SqlError  # noqa: E402


def setUpModule():
    ft.require_env()


# The content columns of an audit row (what its writers may name).
AUDIT_CONTENT = {"action", "entity", "entity_id", "actor", "client_addr", "user_agent",
                 "request_id", "details"}


def column_privileges(role, table, privilege):
    """The columns of table on which role holds privilege (by a table or a column grant)."""
    return {r[0] for r in sql(
        "SELECT attname FROM pg_attribute WHERE attrelid = :'p2'::regclass AND attnum > 0 "
        "AND NOT attisdropped AND has_column_privilege(:'p1', :'p2'::regclass, attnum, :'p3')",
        role, table, privilege)}


def insert_submission(creneaux='["itest-a"]'):
    """A row inserted directly (not through the API), so these checks stand alone."""
    return sql_one(
        "INSERT INTO soumissions_disponibilites (email, nom, creneaux, commentaire, "
        "edit_token_hash) VALUES (:'p1', 'Schéma Test', :'p2'::jsonb, '', "
        "sha256(convert_to(:'p3', 'UTF8'))) RETURNING id",
        ft.unique_email("schema"), creneaux, uuid.uuid4().hex)


class SchemaTest(ft.FiableTestCase):

    def test_no_row_without_updated_at(self):
        self.assertEqual(sql_int("SELECT COUNT(*) FROM soumissions_disponibilites "
                                 "WHERE updated_at IS NULL"), 0)

    def test_triggers_present(self):
        names = {r[0] for r in sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = "
            "'soumissions_disponibilites'::regclass AND NOT tgisinternal")}
        self.assertIn("update_soumissions_updated_at", names)
        self.assertIn("track_soumissions_modifications", names)

    def test_update_bumps_version_and_appends_history(self):
        sid = insert_submission('["itest-a"]')
        before = ft.submission_row(sid)
        self.assertEqual(before["version"], 1)
        self.assertEqual(before["historique"], [])
        sql("UPDATE soumissions_disponibilites SET creneaux = '[\"itest-a\", \"itest-b\"]'::jsonb "
            "WHERE id = :'p1'::bigint", sid)
        after = ft.submission_row(sid)
        self.assertEqual(after["version"], 2)
        self.assertEqual(len(after["historique"]), 1, after["historique"])
        entry = after["historique"][0]
        self.assertIn("champs", entry, entry)
        self.assertIn("creneaux", entry["champs"], entry)
        self.assertEqual(entry["champs"]["creneaux"].get("avant"), ["itest-a"], entry)
        self.assertEqual(entry["champs"]["creneaux"].get("apres"), ["itest-a", "itest-b"], entry)
        self.assertEqual(set(entry["champs"]), {"creneaux"}, entry)
        self.assertGreater(after["updated_epoch"], before["updated_epoch"],
                           "updated_at did not move on UPDATE")
        # A second change appends a second entry; version 3.
        sql("UPDATE soumissions_disponibilites SET nom = 'Schéma Modifié' "
            "WHERE id = :'p1'::bigint", sid)
        third = ft.submission_row(sid)
        self.assertEqual(third["version"], 3)
        self.assertEqual(len(third["historique"]), 2)
        self.assertEqual(third["historique"][0], entry, "the first history entry changed")
        self.assertEqual(third["historique"][1]["champs"]["nom"],
                         {"avant": "Schéma Test", "apres": "Schéma Modifié"})

    def _audit_row(self):
        return sql_one(
            "INSERT INTO audit_logs (action, entity, entity_id, details) "
            "VALUES ('test.integration', 'itest', :'p1', '{}') RETURNING id", uuid.uuid4().hex)

    def test_audit_logs_update_refused_even_for_superuser(self):
        aid = self._audit_row()
        with self.assertRaises(SqlError) as cm:
            sql("UPDATE audit_logs SET actor = 'x' WHERE id = :'p1'::bigint", aid)
        self.assertIn("ERROR", cm.exception.stderr)
        self.assertIsNone(sql_one("SELECT actor FROM audit_logs WHERE id = :'p1'::bigint", aid))

    def test_audit_logs_delete_refused_even_for_superuser(self):
        aid = self._audit_row()
        with self.assertRaises(SqlError):
            sql("DELETE FROM audit_logs WHERE id = :'p1'::bigint", aid)
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE id = :'p1'::bigint",
                                 aid), 1)

    def test_audit_logs_truncate_refused_even_for_superuser(self):
        aid = self._audit_row()
        with self.assertRaises(SqlError):
            sql("TRUNCATE audit_logs")
        self.assertEqual(sql_int("SELECT count(*) FROM audit_logs WHERE id = :'p1'::bigint",
                                 aid), 1)

    def test_app_role_privileges_on_audit_logs(self):
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            with self.subTest(privilege=privilege):
                self.assertEqual(
                    sql_one("SELECT has_table_privilege('fiable_app', 'audit_logs', :'p1')",
                            privilege), "f", "fiable_app has %s on audit_logs" % privilege)
        self.assertEqual(sql_one("SELECT has_table_privilege('fiable_app', 'audit_logs', "
                                 "'SELECT')"), "t", "fiable_app cannot read audit_logs")
        # Adding rows, naming their content only: never their id, time or links.
        for role in ("fiable_app", "fiable_backup"):
            with self.subTest(role=role):
                self.assertEqual(column_privileges(role, "audit_logs", "INSERT"), AUDIT_CONTENT,
                                 "the columns %s may name in an audit row" % role)

    def test_app_role_writes_submission_content_only(self):
        """fiable_app names what a person sends, the withdrawal and the token; version,
        history and dates are the triggers' (sql/0013). fiable_restore puts a vanished row
        back whole but changes an existing one through its content only."""
        # campagne_id: named by the programs that will serve several campaigns (sql/0014).
        self.assertEqual(column_privileges("fiable_app", "soumissions_disponibilites", "INSERT"),
                         {"email", "nom", "creneaux", "commentaire", "edit_token_hash",
                          "campagne_id"})
        self.assertEqual(column_privileges("fiable_app", "soumissions_disponibilites", "UPDATE"),
                         {"email", "nom", "creneaux", "commentaire", "deleted_at",
                          "edit_token_hash"})
        self.assertEqual(column_privileges("fiable_restore", "soumissions_disponibilites",
                                           "UPDATE"),
                         {"email", "nom", "creneaux", "commentaire", "deleted_at"})
        self.assertIn("historique_modifications",
                      column_privileges("fiable_restore", "soumissions_disponibilites", "INSERT"))
        for privilege in ("DELETE", "TRUNCATE"):
            with self.subTest(privilege=privilege):
                self.assertEqual(sql_one("SELECT has_table_privilege('fiable_app', "
                                         "'soumissions_disponibilites', :'p1')", privilege), "f",
                                 "fiable_app has %s on soumissions_disponibilites" % privilege)
        for privilege in ("INSERT", "UPDATE"):
            with self.subTest(privilege=privilege):
                self.assertEqual(column_privileges("fiable_backup", "soumissions_disponibilites",
                                                   privilege), set(),
                                 "fiable_backup has %s on soumissions_disponibilites" % privilege)

    def test_app_role_is_not_superuser(self):
        rows = sql("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
                   "WHERE rolname = 'fiable_app'")
        self.assertEqual(rows, [["f", "f", "f", "f"]])

    def test_active_email_unique_ignoring_case(self):
        local = "Case-" + uuid.uuid4().hex
        sql("INSERT INTO soumissions_disponibilites (email, nom, edit_token_hash) "
            "VALUES (:'p1', 'A', sha256(convert_to(:'p2', 'UTF8')))",
            local + "@Example.org", uuid.uuid4().hex)
        with self.assertRaises(SqlError) as cm:
            sql("INSERT INTO soumissions_disponibilites (email, nom, edit_token_hash) "
                "VALUES (:'p1', 'B', sha256(convert_to(:'p2', 'UTF8')))",
                local.lower() + "@example.org", uuid.uuid4().hex)
        self.assertIn("duplicate key", cm.exception.stderr)

    def test_sql_helper_keeps_values_verbatim(self):
        # The helper itself: parameters are quoted by psql, never spliced.
        tricky = "Robert'); DROP TABLE soumissions_disponibilites;--\n\"&<>,é\\"
        self.assertEqual(sql_one("SELECT :'p1'", tricky), tricky)
        self.assertEqual(sql_json("SELECT to_json(:'p1'::text)::text", tricky), tricky)


class CampaignSchemaTest(ft.FiableTestCase):
    """The campaigns of sql/0014: what each role may do with them, the first campaign that
    holds what the code of before writes, and the audit rows of their writes."""

    def test_first_campaign_receives_what_names_none(self):
        first = sql_int("SELECT campagne_par_defaut()")
        self.assertEqual(sql("SELECT slug, etat, ouverture IS NULL, fermeture IS NULL "
                             "FROM campagnes WHERE id = :'p1'::bigint", first),
                         [["disponibilites", "ouverte", "t", "t"]])
        self.assertEqual(sql_one("SELECT campagne_phase(campagne_par_defaut())"), "ouverte")
        sid = insert_submission()
        self.assertEqual(sql("SELECT campagne_id, en_retard FROM soumissions_disponibilites "
                             "WHERE id = :'p1'::bigint", sid), [[str(first), "f"]])

    def test_campaign_privileges(self):
        content = {"slug", "titre", "introduction", "fuseau", "ouverture", "fermeture",
                   "delai_grace", "etat", "modification_jusqu_a"}
        for privilege in ("INSERT", "UPDATE"):
            # sql/0018: the access mode is changed after creation (PUT …/acces); sql/0022:
            # the schedule of reminders too (PUT …/relances).
            expected = content | ({"acces", "relances_heures"} if privilege == "UPDATE"
                                  else set())
            self.assertEqual(column_privileges("fiable_app", "campagnes", privilege), expected,
                             "fiable_app %s on campagnes: content only" % privilege)
            self.assertEqual(column_privileges("fiable_backup", "campagnes", privilege), set())
        self.assertEqual(column_privileges("fiable_app", "creneaux", "UPDATE"),
                         {"starts_at", "ends_at", "label", "position", "besoin", "retire_at"})
        for role, privilege, expected in (("fiable_app", "DELETE", "f"),
                                          ("fiable_app", "TRUNCATE", "f"),
                                          ("fiable_backup", "SELECT", "t"),
                                          ("fiable_restore", "INSERT", "t"),
                                          ("fiable_restore", "UPDATE", "f"),
                                          ("fiable_restore", "DELETE", "f")):
            self.assertEqual(sql_one("SELECT has_table_privilege(:'p1', 'campagnes', :'p2')",
                                     role, privilege), expected, "%s %s" % (role, privilege))

    def test_campaign_writes_are_audited_and_versioned(self):
        slug = "schema-" + uuid.uuid4().hex[:12]
        actor = "admin:schema-" + uuid.uuid4().hex[:6]
        # The actor is a setting of the writer's transaction.
        cid = ft.app_sql("BEGIN; SELECT set_config('fiable.actor', :'p2', true); "
                         "INSERT INTO campagnes (slug, titre, etat) "
                         "VALUES (:'p1', 'Essai', 'brouillon') RETURNING id; COMMIT",
                         slug, actor)[-1][0]
        ft.app_sql("BEGIN; SELECT set_config('fiable.actor', :'p2', true); "
                   "UPDATE campagnes SET titre = 'Essai modifié' WHERE id = :'p1'::bigint; "
                   "COMMIT", cid, actor)
        # An update that changes nothing: no version, no audit row.
        ft.app_sql("UPDATE campagnes SET titre = 'Essai modifié' WHERE id = :'p1'::bigint", cid)
        self.assertEqual(sql_int("SELECT version FROM campagnes WHERE id = :'p1'::bigint", cid),
                         2)
        rows = sql_json("SELECT json_agg(json_build_object('action', action, 'actor', actor, "
                        "'details', details) ORDER BY id)::text FROM audit_logs "
                        "WHERE entity = 'campagnes' AND entity_id = :'p1'", cid)
        self.assertEqual([(r["action"], r["actor"]) for r in rows],
                         [("campagne.create", actor), ("campagne.update", actor)])
        self.assertEqual(rows[1]["details"]["champs"],
                         {"titre": {"avant": "Essai", "apres": "Essai modifié"}})
        self.assertEqual(rows[1]["details"]["version"], 2)
        # A draft takes no answer, and fiable_app cannot set a version or a bad time zone.
        with self.assertRaises(SqlError) as cm:
            ft.app_sql("INSERT INTO soumissions_disponibilites (campagne_id, email, nom, "
                       "edit_token_hash) VALUES (:'p1'::bigint, :'p2', 'X', "
                       "sha256(convert_to(:'p3', 'UTF8')))", cid, ft.unique_email("brouillon"),
                       uuid.uuid4().hex)
        self.assertIn("n'accepte pas", cm.exception.stderr)
        with self.assertRaises(SqlError) as cm:
            ft.app_sql("UPDATE campagnes SET version = 9 WHERE id = :'p1'::bigint", cid)
        self.assertIn("permission denied", cm.exception.stderr)
        with self.assertRaises(SqlError) as cm:
            ft.app_sql("UPDATE campagnes SET fuseau = 'Lune/Base' WHERE id = :'p1'::bigint", cid)
        self.assertIn("fuseau horaire inconnu", cm.exception.stderr)

    def test_slot_change_is_audited_and_a_ticked_slot_is_kept(self):
        slot = "schema-" + uuid.uuid4().hex[:12]
        sql("INSERT INTO creneaux (id, starts_at, ends_at, label) VALUES (:'p1', "
            "now() + interval '40 days', now() + interval '40 days 2 hours', 'Avant')", slot)
        ft.app_sql("UPDATE creneaux SET label = 'Après', starts_at = starts_at + interval '1 hour' "
                   "WHERE id = :'p1'", slot)
        rows = sql_json("SELECT json_agg(json_build_object('action', action, 'details', details) "
                        "ORDER BY id)::text FROM audit_logs WHERE entity = 'creneaux' "
                        "AND entity_id = :'p1'", slot)
        self.assertEqual([r["action"] for r in rows], ["creneau.create", "creneau.update"])
        self.assertEqual(set(rows[1]["details"]["champs"]), {"label", "starts_at"})
        self.assertEqual(rows[1]["details"]["champs"]["label"], {"avant": "Avant", "apres": "Après"})
        insert_submission(json.dumps([slot]))
        with self.assertRaises(SqlError) as cm:
            ft.app_sql("DELETE FROM creneaux WHERE id = :'p1'", slot)
        self.assertIn("retirez-le", cm.exception.stderr)
        ft.app_sql("UPDATE creneaux SET retire_at = now() WHERE id = :'p1'", slot)
        self.assertEqual(sql_int("SELECT count(*) FROM creneaux WHERE id = :'p1' "
                                 "AND retire_at IS NOT NULL", slot), 1)


class AppRoleCannotRewriteTest(ft.FiableTestCase):
    """What a compromised FastCGI program could try, on its own connection (fiable_app, as in
    FIABLE_DATABASE_URL): rewrite a submission's history, version or dates, or insert one
    with a made-up past. Every attempt is refused and changes nothing; the writes the
    application does make still go through the triggers."""

    def setUp(self):
        # A submission with one modification: version 2, one history entry.
        self.payload, created = ft.create_submission()
        self.sid = created["id"]
        resp = ft.modify_put(created["edit_token"], dict(self.payload, nom="Deuxième Version"),
                             if_match=ft.etag(1))
        self.assertStatus(resp, 200)
        self.before = ft.submission_row(self.sid)
        self.assertEqual(self.before["version"], 2)
        self.assertEqual(len(self.before["historique"]), 1)

    def assertRefused(self, query, *params):
        with self.assertRaises(SqlError, msg="fiable_app could run: %s" % query) as cm:
            ft.app_sql(query, *params)
        self.assertIn("permission denied", cm.exception.stderr, query)

    def test_history_version_and_dates_cannot_be_updated(self):
        for assignment in ("historique_modifications = '[]'::jsonb",
                           "historique_modifications = historique_modifications || "
                           "'[{\"version\": 9}]'::jsonb",
                           "version = 1", "version = version + 10",
                           "created_at = '2001-01-01T00:00:00Z'",
                           "updated_at = '2001-01-01T00:00:00Z'",
                           "nom = 'Autre', historique_modifications = '[]'::jsonb"):
            with self.subTest(assignment=assignment):
                self.assertRefused("UPDATE soumissions_disponibilites SET %s "
                                   "WHERE id = :'p1'::bigint" % assignment, self.sid)
        after = ft.submission_row(self.sid)
        self.assertEqual(after, self.before, "a refused statement changed the row")

    def test_a_submission_cannot_be_inserted_with_a_past(self):
        email = ft.unique_email("forge")
        for columns, values in (("version", "7"),
                                ("historique_modifications", "'[{\"version\": 1}]'::jsonb"),
                                ("created_at", "'2001-01-01T00:00:00Z'"),
                                ("updated_at", "'2001-01-01T00:00:00Z'"),
                                ("deleted_at", "'2001-01-01T00:00:00Z'")):
            with self.subTest(column=columns):
                self.assertRefused(
                    "INSERT INTO soumissions_disponibilites (email, nom, edit_token_hash, %s) "
                    "VALUES (:'p1', 'Faussaire', sha256(convert_to(:'p2', 'UTF8')), %s)"
                    % (columns, values), email, uuid.uuid4().hex)
        self.assertRefused(
            "INSERT INTO soumissions_disponibilites (id, email, nom, edit_token_hash) "
            "OVERRIDING SYSTEM VALUE VALUES (:'p3'::bigint, :'p1', 'Faussaire', "
            "sha256(convert_to(:'p2', 'UTF8')))", email, uuid.uuid4().hex,
            ft.max_submission_id() + 1000)
        self.assertEqual(ft.count_by_email(email), 0)

    def test_the_application_writes_still_keep_their_history(self):
        ft.app_sql("UPDATE soumissions_disponibilites SET nom = 'Troisième Version' "
                   "WHERE id = :'p1'::bigint", self.sid)
        # A withdrawal dated in the past is dated by the database instead.
        rows = ft.app_sql("UPDATE soumissions_disponibilites SET deleted_at = "
                          "'2001-01-01T00:00:00Z' WHERE id = :'p1'::bigint "
                          "RETURNING extract(epoch FROM now() - deleted_at) < 60", self.sid)
        self.assertEqual(rows, [["t"]], "the withdrawal kept the date chosen by the caller")
        after = ft.submission_row(self.sid)
        self.assertEqual(after["version"], 4)
        self.assertEqual(after["historique"][:1], self.before["historique"],
                         "an earlier history entry changed")
        self.assertEqual([e["nouvelle_version"] for e in after["historique"]], [2, 3, 4])
        self.assertEqual(after["historique"][1]["champs"]["nom"],
                         {"avant": "Deuxième Version", "apres": "Troisième Version"})
        self.assertNotIn("2001", json.dumps(after["historique"][2]))
        self.assertEqual(after["created_epoch"], self.before["created_epoch"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
