-- Retire ce que 0006 a ajouté : les droits des rôles de sauvegarde et les colonnes du manifeste
-- et de la vérification (leur contenu est perdu ; les objets restent à leur destination, et
-- leur manifeste à côté d'eux).
-- Les rôles fiable_backup et fiable_restore sont globaux à l'instance (d'autres bases peuvent
-- s'en servir) : ils ne sont pas supprimés ici (DROP ROLE à la main si plus rien n'en dépend).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fiable_backup') THEN
        REVOKE ALL ON soumissions_disponibilites, creneaux, audit_logs, backup_metadata
            FROM fiable_backup;
        IF to_regclass('schema_migrations') IS NOT NULL THEN
            REVOKE ALL ON schema_migrations FROM fiable_backup;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fiable_restore') THEN
        REVOKE ALL ON soumissions_disponibilites, creneaux, audit_logs, backup_metadata
            FROM fiable_restore;
        EXECUTE format('REVOKE ALL ON SEQUENCE %s, %s FROM fiable_restore',
                       pg_get_serial_sequence('soumissions_disponibilites', 'id'),
                       pg_get_serial_sequence('audit_logs', 'id'));
        IF to_regclass('schema_migrations') IS NOT NULL THEN
            REVOKE ALL ON schema_migrations FROM fiable_restore;
        END IF;
    END IF;
END
$$;
DROP INDEX IF EXISTS backup_metadata_destination_idx;
ALTER TABLE backup_metadata DROP CONSTRAINT IF EXISTS backup_metadata_verification_check;
ALTER TABLE backup_metadata
    DROP COLUMN IF EXISTS verification_error,
    DROP COLUMN IF EXISTS verification,
    DROP COLUMN IF EXISTS verified_at,
    DROP COLUMN IF EXISTS schema_version,
    DROP COLUMN IF EXISTS audit_last_id,
    DROP COLUMN IF EXISTS snapshot_at,
    DROP COLUMN IF EXISTS manifest,
    DROP COLUMN IF EXISTS manifest_key;
