#!/usr/bin/env python3
"""Migration 0014 (campaigns) on a populated copy: a database of its own on the test
cluster, migrated up to 0013 and filled as the code of before filled it (answers with several
versions, withdrawn ones, an address answered again after a withdrawal, audit rows), with a
backup in the format of before (1) written beside it; then migrated to the end.

Checked afterwards: counts, every column of before unchanged (versions, histories, dates,
edit tokens), everything in the first campaign, the audit chain verified by
fiable-verify-audit, the edit link still modifying its answer through fiable-modify,
duplicates still refused by fiable-submit, two campaigns holding the same address, and the
backup of before restored into the first campaign (and a backup of now, campaigns included,
restored too)."""

import base64
import datetime
import gzip
import hashlib
import json
import os
import shutil
import sys
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backup_helpers as bh  # noqa: E402
import fiable_test as ft  # noqa: E402
# The isolated databases and the programs run against them, as the migration test of 0010.
from test_idempotency_keys import Program, create_database, drop_database, migrate  # noqa: E402

MIGRATION = "0014_campagnes"
# The columns of before 0014 (format 1 of the backups), in their order.
OLD_SUBMISSION_COLUMNS = ("id", "email", "nom", "creneaux", "commentaire", "created_at",
                          "updated_at", "deleted_at", "version", "historique_modifications",
                          "edit_token_hash")
OLD_SLOT_COLUMNS = ("id", "starts_at", "ends_at", "label")
OLD_TABLES = ("creneaux", "soumissions_disponibilites", "audit_logs")


def setUpModule():
    bh.require_backup_env()


def new_token():
    """An edit token as the programs make them: 32 random bytes, base64url."""
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def role_conninfo(dbname, role):
    return ft.database_conninfo(dbname, app=True).replace("user=fiable_app", "user=" + role)


class Db:
    """Queries on the isolated database: as the superuser, or as the application role."""

    def __init__(self, name):
        self.name = name
        self.super = ft.database_conninfo(name)
        self.app = ft.database_conninfo(name, app=True)

    def sql(self, query, *params):
        return ft.sql(query, *params, conninfo=self.super)

    def app_sql(self, query, *params):
        return ft.sql(query, *params, conninfo=self.app)

    def one(self, query, *params):
        rows = self.sql(query, *params)
        assert len(rows) == 1 and len(rows[0]) == 1, (query, rows)
        return rows[0][0]

    def json(self, query, *params):
        value = self.one(query, *params)
        return None if value is None else json.loads(value)


class OldAnswer:
    """An answer as the code of before wrote it, on the application role's connection: the
    row, then each change (the triggers of 0001/0013 make the versions and the history), and
    the audit row of each write."""

    def __init__(self, db, nom, creneaux, email=None):
        self.db = db
        self.email = email or ft.unique_email("migration")
        self.token = new_token()
        self.id = int(db.app_sql(
            "INSERT INTO soumissions_disponibilites (email, nom, creneaux, commentaire, "
            "edit_token_hash) VALUES (:'p1', :'p2', :'p3'::jsonb, 'Avant 0014.', "
            "sha256(convert_to(:'p4', 'UTF8'))) RETURNING id",
            self.email, nom, json.dumps(creneaux), self.token)[0][0])
        self.audit("submission.create", 1)

    def audit(self, action, version):
        self.db.app_sql("INSERT INTO audit_logs (action, entity, entity_id, actor, details) "
                        "VALUES (:'p1', 'soumissions_disponibilites', :'p2', 'fiable-modify', "
                        "jsonb_build_object('version', :'p3'::integer))",
                        action, self.id, version)

    def update(self, assignment, *params):
        version = self.db.app_sql("UPDATE soumissions_disponibilites SET %s "
                                  "WHERE id = :'p1'::bigint RETURNING version" % assignment,
                                  self.id, *params)[0][0]
        self.audit("submission.update", int(version))

    def withdraw(self):
        self.update("deleted_at = now()")


def old_rows(db, table, columns):
    """The rows of table in the columns of before, as row_to_json writes them (UTC)."""
    cols = ", ".join("t." + c for c in columns)
    return [r[0] for r in db.sql(
        "SET TimeZone = 'UTC'; SELECT row_to_json(v)::text FROM %s AS t CROSS JOIN LATERAL "
        "(SELECT %s) AS v ORDER BY t.id" % (table, cols))]


def write_old_format_backup(db, dest, backup_id):
    """What fiable-backup-submissions wrote before 0014 (lib/backup_dump.c, format 1): the
    payload (gzip JSON lines: a header per table, then its rows as row_to_json writes them in
    UTC) and its manifest, in the local destination dest. Returns the object's name."""
    info = db.sql("SET TimeZone = 'UTC'; SELECT to_char(statement_timestamp() AT TIME ZONE "
                  "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
                  "(SELECT coalesce(max(id), 0) FROM audit_logs), "
                  "(SELECT max(version) FROM schema_migrations), "
                  "(SELECT chain_seq FROM audit_logs ORDER BY chain_seq DESC LIMIT 1), "
                  "(SELECT hash FROM audit_logs ORDER BY chain_seq DESC LIMIT 1)")[0]
    lines, tables = [], {}
    for table in OLD_TABLES:
        columns = db.one("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), "
                         "', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = "
                         ":'p1'::regclass AND attnum > 0 AND NOT attisdropped", table)
        rows = [r[0] for r in db.sql("SET TimeZone = 'UTC'; SELECT row_to_json(t)::text "
                                     "FROM %s AS t ORDER BY t.id" % table)]
        lines.append(json.dumps({"fiable_backup": 1, "table": table, "columns": columns},
                                separators=(",", ":"), ensure_ascii=False))
        lines.extend(rows)
        tables[table] = {"rows": len(rows), "columns": columns,
                         "sha256": hashlib.sha256("".join(r + "\n" for r in rows)
                                                  .encode("utf-8")).hexdigest()}
    payload = gzip.compress("".join(line + "\n" for line in lines).encode("utf-8"))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = "fiable-%s-%d.jsonl.gz" % (stamp, backup_id)
    manifest = {"format": 1, "id": backup_id, "object": name, "encoding": "gzip, JSON lines",
                "snapshot_at": info[0], "schema_version": info[2],
                "audit_last_id": int(info[1]), "audit_chain_seq": int(info[3]),
                "audit_chain_hash": info[4], "size": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(), "tables": tables}
    with open(os.path.join(dest, name), "wb") as f:
        f.write(payload)
    with open(os.path.join(dest, name.replace(".jsonl.gz", ".manifest.json")), "w",
              encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False)
    return name, manifest


class MigrationTest(bh.BackupTestCase):

    @classmethod
    def setUpClass(cls):
        cls.db = Db(create_database("fiable_campagnes"))
        cls.folder = os.path.join(os.environ["FIABLE_VAR"], "campagnes-" + uuid.uuid4().hex[:8])
        os.makedirs(cls.folder)
        cls.dest = bh.new_local_destination()
        try:
            cls.populate_before()
            cls.migrated = migrate(cls.db.super)
            cls.submit = Program("fiable-submit", cls.db.app, cls.folder)
            cls.modify = Program("fiable-modify", cls.db.app, cls.folder)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            for p in ("submit", "modify"):
                if hasattr(cls, p):
                    getattr(cls, p).stop()
        finally:
            drop_database(cls.db.name)
            shutil.rmtree(cls.folder, ignore_errors=True)
            bh.remove_tree(cls.dest)

    @classmethod
    def populate_before(cls):
        db = cls.db
        migrate(db.super, upto=MIGRATION)
        assert db.one("SELECT max(version) FROM schema_migrations") < MIGRATION
        cls.slots = ["mig-a", "mig-b", "mig-c"]
        db.sql("INSERT INTO creneaux (id, starts_at, ends_at, label) SELECT s, "
               "now() + g * interval '1 day' + interval '30 days', "
               "now() + g * interval '1 day' + interval '30 days 3 hours', 'Créneau ' || g "
               "FROM unnest(ARRAY['mig-a', 'mig-b', 'mig-c']) WITH ORDINALITY AS u(s, g)")
        # Three versions: slots then name and comment changed.
        cls.versions = OldAnswer(db, "Trois Versions", ["mig-a"])
        cls.versions.update("creneaux = '[\"mig-a\", \"mig-b\"]'::jsonb")
        cls.versions.update("nom = 'Trois Versions Bis', commentaire = 'Changé.'")
        # Withdrawn.
        cls.withdrawn = OldAnswer(db, "Retirée", ["mig-b"])
        cls.withdrawn.withdraw()
        # An address that answered, withdrew, and answered again (in other case).
        cls.again_old = OldAnswer(db, "Première Fois", ["mig-c"])
        cls.again_old.withdraw()
        cls.again = OldAnswer(db, "Seconde Fois", ["mig-a", "mig-c"],
                              email=cls.again_old.email.upper())
        cls.before = {
            "soumissions": old_rows(db, "soumissions_disponibilites", OLD_SUBMISSION_COLUMNS),
            "creneaux": old_rows(db, "creneaux", OLD_SLOT_COLUMNS),
            "audit": old_rows(db, "audit_logs", ("id", "chain_seq", "prev_hash", "hash",
                                                 "action", "entity_id", "details")),
        }
        cls.old_backup, cls.old_manifest = write_old_format_backup(db, cls.dest, 900001)

    def env(self, role):
        return bh.environment(self.dest, role=role, FIABLE_DATABASE_URL=self.db.app,
                              BACKUP_DATABASE_URL=role_conninfo(self.db.name, role))

    def verify_audit(self):
        proc = bh.run("verify-audit", env=self.env("fiable_backup"))
        self.assertRc(proc, 0)
        self.assertRegex(bh.last_line(proc.stderr),
                         r"^fiable-verify-audit : chaîne intacte : \d+ ligne\(s\)",
                         bh.describe(proc))

    def post(self, payload):
        key = ft.new_key()
        return self.submit.request("POST", ft.SUBMIT, ft.encode_json(payload),
                                   {"Idempotency-Key": key})

    def test_1_rows_of_before_are_intact_in_the_first_campaign(self):
        db = self.db
        self.assertIn("application de " + MIGRATION, self.migrated)
        first = db.one("SELECT campagne_par_defaut()")
        self.assertEqual(db.sql("SELECT slug, titre, etat, fuseau, version FROM campagnes"),
                         [["disponibilites", "Disponibilités", "ouverte", "Europe/Brussels", "1"]])
        # Every column of before, byte for byte: versions, histories, dates, tokens.
        self.assertEqual(old_rows(db, "soumissions_disponibilites", OLD_SUBMISSION_COLUMNS),
                         self.before["soumissions"])
        self.assertEqual(old_rows(db, "creneaux", OLD_SLOT_COLUMNS), self.before["creneaux"])
        self.assertEqual(db.sql("SELECT DISTINCT campagne_id, en_retard FROM "
                                "soumissions_disponibilites"), [[first, "f"]])
        self.assertEqual(db.sql("SELECT DISTINCT campagne_id, position, besoin IS NULL, "
                                "retire_at IS NULL FROM creneaux"), [[first, "0", "t", "t"]])
        self.assertEqual(db.sql("SELECT version, jsonb_array_length(historique_modifications) "
                                "FROM soumissions_disponibilites WHERE id = :'p1'::bigint",
                                self.versions.id), [["3", "2"]])
        # sql/0021 counted the answers of before (the active ones) per slot.
        self.assertEqual(db.sql("SELECT creneau_id, disponibles FROM creneaux_disponibles "
                                "ORDER BY 1"), [["mig-a", "2"], ["mig-b", "1"], ["mig-c", "1"]])
        # The audit log: the rows of before untouched, one row of the migration after them.
        audit = old_rows(db, "audit_logs", ("id", "chain_seq", "prev_hash", "hash", "action",
                                            "entity_id", "details"))
        self.assertEqual(audit[:len(self.before["audit"])], self.before["audit"])
        added = [json.loads(r) for r in audit[len(self.before["audit"]):]]
        self.assertEqual([(a["action"], a["details"]) for a in added],
                         [("schema.migration", {"campagne": "disponibilites", "creneaux": 3,
                                                "reponses": 4})])
        self.verify_audit()

    def test_2_edit_link_of_before_still_modifies(self):
        a = self.versions
        status, headers, body = self.modify.request(
            "GET", ft.MODIFY, headers={"Authorization": "Bearer " + a.token})
        self.assertEqual(status, 200, body)
        rep = json.loads(body)
        self.assertEqual((rep["id"], rep["version"], rep["nom"]), (a.id, 3, "Trois Versions Bis"))
        self.assertEqual(len(rep["historique"]), 2)
        content = {"email": rep["email"], "nom": "Quatrième Version", "creneaux": ["mig-c"],
                   "commentaire": rep["commentaire"]}
        status, headers, body = self.modify.request(
            "PUT", ft.MODIFY, ft.encode_json(content),
            {"Authorization": "Bearer " + a.token, "If-Match": ft.etag(3)})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["version"], 4)
        row = self.db.sql("SELECT version, nom, historique_modifications -> 2 -> 'champs' "
                          "-> 'nom' ->> 'avant', campagne_id = campagne_par_defaut() "
                          "FROM soumissions_disponibilites WHERE id = :'p1'::bigint", a.id)
        self.assertEqual(row, [["4", "Quatrième Version", "Trois Versions Bis", "t"]])
        # The withdrawn answer's link still finds it.
        status, headers, body = self.modify.request(
            "GET", ft.MODIFY, headers={"Authorization": "Bearer " + self.withdrawn.token})
        self.assertEqual(status, 200, body)
        self.assertIsNotNone(json.loads(body)["deleted_at"])

    def test_3_duplicates_refused_per_campaign(self):
        db = self.db
        # fiable-submit, which names no campaign: the address active before 0014 is refused
        # as before; a new one lands in the first campaign.
        payload = {"email": self.again.email.lower(), "nom": "Doublon", "creneaux": ["mig-a"],
                   "commentaire": ""}
        status, headers, body = self.post(payload)
        self.assertEqual(status, 409, body)
        fresh = dict(payload, email=ft.unique_email("apres"))
        status, headers, body = self.post(fresh)
        self.assertEqual(status, 201, body)
        self.assertEqual(db.one("SELECT campagne_id = campagne_par_defaut() FROM "
                                "soumissions_disponibilites WHERE id = :'p1'::bigint",
                                json.loads(body)["id"]), "t")
        # A second campaign holds an answer from the same address; a second one there is
        # refused; the first campaign still refuses it too.
        second = db.one("INSERT INTO campagnes (slug, titre, etat) VALUES ('seconde', "
                        "'Seconde campagne', 'ouverte') RETURNING id")
        db.sql("INSERT INTO creneaux (id, campagne_id, starts_at, ends_at, label) VALUES "
               "('mig-seconde', :'p1'::bigint, now() + interval '50 days', "
               "now() + interval '50 days 1 hour', 'Seconde')", second)
        insert = ("INSERT INTO soumissions_disponibilites (campagne_id, email, nom, creneaux, "
                  "edit_token_hash) VALUES (:'p1'::bigint, :'p2', 'Ailleurs', "
                  "'[\"mig-seconde\"]'::jsonb, sha256(convert_to(:'p3', 'UTF8'))) "
                  "ON CONFLICT (campagne_id, lower(email)) WHERE deleted_at IS NULL "
                  "DO NOTHING RETURNING id")
        rows = db.app_sql(insert, second, self.again.email, new_token())
        self.assertEqual(len(rows), 1, "the second campaign refused a first answer")
        self.assertEqual(db.app_sql(insert, second, self.again.email.lower(), new_token()), [],
                         "the second campaign took a duplicate")
        with self.assertRaises(ft.SqlError) as cm:
            db.app_sql(insert.split(" ON CONFLICT")[0], second, self.again.email.lower(),
                       new_token())
        self.assertIn("soumissions_campagne_email_active_uniq", cm.exception.stderr)
        status, headers, body = self.post(payload)
        self.assertEqual(status, 409, body)
        self.assertEqual(db.one("SELECT count(*) FROM soumissions_disponibilites WHERE "
                                "lower(email) = lower(:'p1') AND deleted_at IS NULL",
                                self.again.email), "2")
        # The form of the first campaign does not show the other campaign's slot.
        self.assertEqual(db.app_sql("SELECT x FROM jsonb_array_elements_text("
                                    "'[\"mig-seconde\", \"mig-a\"]'::jsonb) AS x WHERE NOT "
                                    "EXISTS (SELECT 1 FROM creneaux c WHERE c.id = x AND "
                                    "c.campagne_id = campagne_par_defaut())"), [["mig-seconde"]])

    def test_4_backup_of_before_restores_after_the_migration(self):
        db = self.db
        # The disaster: every answer gone.
        db.sql("BEGIN; UPDATE mail_outbox SET submission_id = NULL WHERE submission_id IS NOT "
               "NULL; DELETE FROM soumissions_disponibilites; COMMIT;")
        proc = bh.run("restore-backup", "--apply", self.old_backup, "--confirm",
                      env=self.env("fiable_restore"))
        self.assertRc(proc, 0)
        self.assertRegex(bh.last_line(proc.stderr), r"RESTAURÉ depuis la sauvegarde 900001 : "
                         r"4 réponse\(s\) concernée\(s\) : 4 réinsérée\(s\)", bh.describe(proc))
        self.assertEqual(old_rows(db, "soumissions_disponibilites", OLD_SUBMISSION_COLUMNS),
                         self.before["soumissions"])
        self.assertEqual(db.sql("SELECT DISTINCT campagne_id = campagne_par_defaut(), en_retard "
                                "FROM soumissions_disponibilites"), [["t", "f"]])
        self.verify_audit()
        # Its edit token works again.
        status, headers, body = self.modify.request(
            "GET", ft.MODIFY, headers={"Authorization": "Bearer " + self.versions.token})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["version"], 3)

    def test_5_backup_of_now_restores_a_vanished_campaign(self):
        db = self.db
        second = db.one(
            "INSERT INTO campagnes (slug, titre, etat) VALUES ('seconde-bis', 'Seconde bis', "
            "'ouverte') RETURNING id")
        db.sql("INSERT INTO creneaux (id, campagne_id, starts_at, ends_at, label) VALUES "
               "('mig-bis', :'p1'::bigint, now() + interval '60 days', "
               "now() + interval '60 days 1 hour', 'Bis')", second)
        email = ft.unique_email("bis")
        db.app_sql("INSERT INTO soumissions_disponibilites (campagne_id, email, nom, creneaux, "
                   "edit_token_hash) VALUES (:'p1'::bigint, :'p2', 'Bis', '[\"mig-bis\"]', "
                   "sha256(convert_to(:'p3', 'UTF8')))", second, email, new_token())
        proc = bh.run("backup-submissions", "--verify-after", env=self.env("fiable_backup"))
        self.assertRc(proc, 0)
        summary = self.assertSuccessSummary(proc, verified=True)
        self.assertEqual(summary["campagnes"], int(db.one("SELECT count(*) FROM campagnes")))
        # The campaign vanishes with its slot and its answer (only the owner can do that).
        db.sql("BEGIN; DELETE FROM soumissions_disponibilites WHERE campagne_id = :'p1'::bigint; "
               "DELETE FROM creneaux WHERE campagne_id = :'p1'::bigint; "
               "DELETE FROM campagnes WHERE id = :'p1'::bigint; COMMIT;", second)
        proc = bh.run("restore-backup", "--apply", str(summary["id"]), "--confirm",
                      env=self.env("fiable_restore"))
        self.assertRc(proc, 0)
        self.assertRegex(bh.last_line(proc.stderr), r"1 campagne\(s\), 1 créneau\(x\)",
                         bh.describe(proc))
        self.assertEqual(db.sql("SELECT c.id, s.email, s.creneaux::text FROM campagnes c "
                                "JOIN soumissions_disponibilites s ON s.campagne_id = c.id "
                                "WHERE c.slug = 'seconde-bis'"),
                         [[second, email, '["mig-bis"]']])
        # The triggers' rows for what came back name the restoration.
        self.assertEqual(db.sql("SELECT action, actor FROM audit_logs WHERE entity IN "
                                "('campagnes', 'creneaux') AND entity_id IN (:'p1', 'mig-bis') "
                                "ORDER BY id DESC LIMIT 2", second),
                         [["creneau.create", "fiable-restore-backup"],
                          ["campagne.create", "fiable-restore-backup"]])
        self.verify_audit()


if __name__ == "__main__":
    unittest.main(verbosity=2)
