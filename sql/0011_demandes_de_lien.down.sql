-- Retour à 0005 pour les demandes de lien : l'ancien code compte l'adresse en clair
-- (email_lower). Les demandes gardées (celles de la dernière heure) sont perdues : la limite
-- repart de zéro, et une demande encore en attente ne recevra pas de lien (il suffit d'en
-- refaire une). À appliquer avec l'ancien code.
REVOKE UPDATE (email, user_agent, request_id, resolved_at, outcome)
    ON modify_link_requests FROM fiable_app;
DELETE FROM modify_link_requests;
DROP INDEX IF EXISTS modify_link_requests_key_idx;
DROP INDEX IF EXISTS modify_link_requests_pending_idx;
ALTER TABLE modify_link_requests
    DROP CONSTRAINT IF EXISTS modify_link_requests_state_check,
    DROP CONSTRAINT IF EXISTS modify_link_requests_outcome_check,
    DROP COLUMN IF EXISTS outcome,
    DROP COLUMN IF EXISTS resolved_at,
    DROP COLUMN IF EXISTS request_id,
    DROP COLUMN IF EXISTS user_agent,
    DROP COLUMN IF EXISTS email,
    DROP COLUMN IF EXISTS email_key,
    ADD COLUMN IF NOT EXISTS email_lower text NOT NULL;
CREATE INDEX IF NOT EXISTS modify_link_requests_email_idx
    ON modify_link_requests (email_lower, created_at);
