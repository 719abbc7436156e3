-- 0006 — Sauvegardes : manifeste et vérification dans backup_metadata, rôles des programmes
-- de sauvegarde (cron/backup-submissions, cleanup-old-backups, restore-backup).
-- Idempotente. Retour arrière : 0006_sauvegardes.down.sql (les colonnes ajoutées sont perdues,
-- les objets sauvegardés restent à leur destination).

-- Ce que la sauvegarde a lu et ce que la vérification en a conclu.
ALTER TABLE backup_metadata ADD COLUMN IF NOT EXISTS manifest_key text;
ALTER TABLE backup_metadata ADD COLUMN IF NOT EXISTS manifest jsonb;
ALTER TABLE backup_metadata ADD COLUMN IF NOT EXISTS snapshot_at timestamptz;
ALTER TABLE backup_metadata ADD COLUMN IF NOT EXISTS audit_last_id bigint;
ALTER TABLE backup_metadata ADD COLUMN IF NOT EXISTS schema_version text;
ALTER TABLE backup_metadata ADD COLUMN IF NOT EXISTS verified_at timestamptz;
ALTER TABLE backup_metadata ADD COLUMN IF NOT EXISTS verification text;
ALTER TABLE backup_metadata ADD COLUMN IF NOT EXISTS verification_error text;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'backup_metadata_verification_check'
                     AND conrelid = 'backup_metadata'::regclass) THEN
        ALTER TABLE backup_metadata ADD CONSTRAINT backup_metadata_verification_check
            CHECK (verification IN ('ok', 'failed'));
    END IF;
END
$$;
-- Le nettoyage cherche les sauvegardes d'une destination, des plus récentes aux plus anciennes.
CREATE INDEX IF NOT EXISTS backup_metadata_destination_idx
    ON backup_metadata (destination, started_at);

-- Deux rôles de moindre privilège, sans mot de passe ici (à donner en production) :
--   fiable_backup  — la sauvegarde quotidienne, le nettoyage, --verify et --list : lit les
--                    tables sauvegardées, écrit backup_metadata, ajoute au journal d'audit ;
--                    ne peut modifier ni les soumissions ni le catalogue.
--   fiable_restore — --apply seulement (lancé à la main) : réécrit les soumissions depuis une
--                    sauvegarde et complète le catalogue et le journal d'audit (ajout seul).
-- Les tables temporaires de la vérification demandent le droit TEMP sur la base, accordé à
-- PUBLIC par défaut.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fiable_backup') THEN
        CREATE ROLE fiable_backup LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fiable_restore') THEN
        CREATE ROLE fiable_restore LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
END
$$;

GRANT SELECT ON soumissions_disponibilites, creneaux, audit_logs TO fiable_backup;
GRANT INSERT ON audit_logs TO fiable_backup;
GRANT SELECT, INSERT, UPDATE ON backup_metadata TO fiable_backup;

GRANT SELECT ON backup_metadata TO fiable_restore;
GRANT SELECT, INSERT, UPDATE ON soumissions_disponibilites TO fiable_restore;
GRANT SELECT, INSERT ON creneaux, audit_logs TO fiable_restore;

DO $$
BEGIN
    -- Les lignes restaurées gardent leur id : la séquence d'identité doit être avancée
    -- au-delà (setval demande UPDATE, la lecture de sa position SELECT).
    EXECUTE format('GRANT SELECT, UPDATE ON SEQUENCE %s, %s TO fiable_restore',
                   pg_get_serial_sequence('soumissions_disponibilites', 'id'),
                   pg_get_serial_sequence('audit_logs', 'id'));
    -- La version du schéma est inscrite dans le manifeste de chaque sauvegarde.
    IF to_regclass('schema_migrations') IS NOT NULL THEN
        GRANT SELECT ON schema_migrations TO fiable_backup, fiable_restore;
    END IF;
END
$$;
