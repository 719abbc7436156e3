-- Retour arrière de 0025_index_courriels_reponse : l'index disparaît (rien d'autre ne change).
DROP INDEX IF EXISTS mail_outbox_submission_idx;
