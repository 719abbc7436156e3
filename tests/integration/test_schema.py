#!/usr/bin/env python3
"""Schema checks of the deployment plan, run as the superuser on the test database."""

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
            self.assertEqual(
                sql_one("SELECT has_table_privilege('fiable_app', 'audit_logs', :'p1')",
                        privilege), "f", "fiable_app has %s on audit_logs" % privilege)
        for privilege in ("SELECT", "INSERT"):
            self.assertEqual(
                sql_one("SELECT has_table_privilege('fiable_app', 'audit_logs', :'p1')",
                        privilege), "t", "fiable_app lacks %s on audit_logs" % privilege)

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
