-- 0025 — Un index sur mail_outbox.submission_id.
--
-- La clé étrangère mail_outbox.submission_id → soumissions_disponibilites(id) (sql/0005)
-- n'avait pas d'index : chaque réponse supprimée (le propriétaire de la base qui efface des
-- réponses de test, un banc d'essai qui nettoie ses 200 000 réponses) parcourait toute la
-- file des courriels pour vérifier la contrainte (plus de 7 minutes pour 200 000 réponses).
-- Partiel : les courriels sans réponse (invitations, relances, liens) n'y entrent pas.
--
-- Idempotente. Retour arrière : 0025_index_courriels_reponse.down.sql.

CREATE INDEX IF NOT EXISTS mail_outbox_submission_idx
    ON mail_outbox (submission_id) WHERE submission_id IS NOT NULL;
