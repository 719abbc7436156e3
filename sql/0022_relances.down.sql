-- Retour arrière de 0022_relances : plus de relances ni de calendrier ; les relances en
-- attente sont retirées de la file d'envoi (leur lien vaudrait encore, mais le genre
-- 'relance' disparaît de la contrainte).
DROP TABLE IF EXISTS relances_envois;
DROP TABLE IF EXISTS relances;
DELETE FROM mail_outbox WHERE kind = 'relance';
ALTER TABLE mail_outbox DROP CONSTRAINT IF EXISTS mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('receipt', 'edit_link', 'invitation'));
ALTER TABLE campagnes DROP COLUMN IF EXISTS relances_heures;
ALTER TABLE participants DROP COLUMN IF EXISTS jeton_sel;
