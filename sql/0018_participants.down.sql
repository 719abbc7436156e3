-- Retour arrière de 0018 : plus de participants ni de campagnes sur invitation (elles
-- redeviennent ouvertes à qui a l'adresse) ; les invitations en attente sont retirées de la
-- file d'envoi (leur corps porte un jeton qui ne vaudrait plus rien).
DROP TRIGGER IF EXISTS mail_outbox_suivi_invitation ON mail_outbox;
DROP FUNCTION IF EXISTS participants_suivi_invitation();
DROP TABLE IF EXISTS participants;
DELETE FROM mail_outbox WHERE kind = 'invitation';
ALTER TABLE mail_outbox DROP CONSTRAINT IF EXISTS mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('receipt', 'edit_link'));
ALTER TABLE mail_outbox DROP COLUMN IF EXISTS headers;
ALTER TABLE campagnes DROP COLUMN IF EXISTS acces;
