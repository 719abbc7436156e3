-- 0024 — Les participants dans les sauvegardes (format 3, issue 16).
--
-- fiable-backup-submissions lit déjà participants (fiable_backup, sql/0018) ; les
-- sauvegardes de format 3 les portent, avec l'empreinte de leur jeton d'invitation et leur
-- désinscription des relances : après une restauration, les liens personnels marchent
-- encore. fiable-restore-backup --apply remet ceux qui manquent (avec leur id), après leurs
-- campagnes ; le courriel d'invitation n'étant pas sauvegardé, un participant ne garde le
-- lien vers le sien que s'il est encore dans mail_outbox (d'où la lecture de son id).
-- Les tables des relances (0022) ne sont pas sauvegardées : un historique d'envois, sans
-- lequel une relance déjà faite peut repartir une fois après une restauration.
--
-- Idempotente. Retour arrière : 0024_participants_sauvegardes.down.sql.

GRANT SELECT, INSERT ON participants TO fiable_restore;
GRANT SELECT (id) ON mail_outbox TO fiable_restore;
DO $$
BEGIN
    EXECUTE format('GRANT SELECT, UPDATE ON SEQUENCE %s TO fiable_restore',
                   pg_get_serial_sequence('participants', 'id'));
END
$$;
