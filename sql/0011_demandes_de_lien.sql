-- 0011 — Demandes de lien de modification traitées par l'envoi des courriels.
-- POST /api/modify/link fait le même travail que l'adresse ait une réponse ou non : il
-- enregistre la demande sous la limite (3 par heure et par adresse e-mail, 20 par adresse IP,
-- comptées sous un verrou par adresse : exactes même sous des demandes simultanées) et
-- réveille fiable-mail-outbox, qui décide seul, ensuite, s'il y a une réponse active et donc
-- un nouveau jeton et un lien à envoyer.
-- Ce qui est gardé, et combien de temps :
--   email_key   HMAC-SHA-256 (clé dérivée de FIABLE_SECRET) de l'adresse en minuscules : ce
--               que compte la limite, pendant l'heure de sa fenêtre ;
--   email, user_agent, request_id   l'adresse en clair (pour chercher la réponse et envoyer
--               le lien) et ce qu'en dira la ligne d'audit : effacés dès que la demande est
--               traitée ;
--   la ligne entière est effacée une heure après la demande (fin de la fenêtre de la limite).
-- Les demandes enregistrées avant cette migration (déjà traitées par l'ancien code) perdent
-- leur adresse : elles ne comptent plus que pour la limite par adresse IP.
-- À déployer avec le code qui la suit : l'ancien fiable-modify ne peut plus enregistrer de
-- demande de lien (500) jusqu'à son redémarrage.
-- Idempotente. Retour arrière : 0011_demandes_de_lien.down.sql.

ALTER TABLE modify_link_requests
    ADD COLUMN IF NOT EXISTS email_key   bytea,
    ADD COLUMN IF NOT EXISTS email       text,
    ADD COLUMN IF NOT EXISTS user_agent  text,
    ADD COLUMN IF NOT EXISTS request_id  text,
    ADD COLUMN IF NOT EXISTS resolved_at timestamptz,
    ADD COLUMN IF NOT EXISTS outcome     text;

-- Les demandes de l'ancien code : traitées, sans adresse.
UPDATE modify_link_requests SET resolved_at = created_at, outcome = 'before_0011'
 WHERE resolved_at IS NULL AND email IS NULL;
DROP INDEX IF EXISTS modify_link_requests_email_idx;
ALTER TABLE modify_link_requests DROP COLUMN IF EXISTS email_lower;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'modify_link_requests_outcome_check'
                     AND conrelid = 'modify_link_requests'::regclass) THEN
        -- link_queued : une réponse active, un nouveau jeton, le lien mis en file d'envoi ;
        -- no_answer : aucune réponse active ; disabled : fonctionnalité email_links coupée
        -- entre la demande et son traitement ; expired : pas traitée dans l'heure (l'envoi
        -- des courriels était arrêté), aucun lien ne part si tard ; before_0011 : voir plus haut.
        ALTER TABLE modify_link_requests ADD CONSTRAINT modify_link_requests_outcome_check
            CHECK (outcome IN ('link_queued', 'no_answer', 'disabled', 'expired',
                               'before_0011'));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'modify_link_requests_state_check'
                     AND conrelid = 'modify_link_requests'::regclass) THEN
        -- En attente : l'adresse et sa clé, pas d'issue ; traitée : une issue, plus d'adresse.
        ALTER TABLE modify_link_requests ADD CONSTRAINT modify_link_requests_state_check
            CHECK (CASE WHEN resolved_at IS NULL
                        THEN outcome IS NULL AND email IS NOT NULL AND email_key IS NOT NULL
                             AND char_length(email) <= 254
                        ELSE outcome IS NOT NULL AND email IS NULL AND user_agent IS NULL
                             AND request_id IS NULL END);
    END IF;
END
$$;

-- La limite compte par clé d'adresse ; l'envoi prend les demandes en attente dans l'ordre.
CREATE INDEX IF NOT EXISTS modify_link_requests_key_idx
    ON modify_link_requests (email_key, created_at);
CREATE INDEX IF NOT EXISTS modify_link_requests_pending_idx
    ON modify_link_requests (id) WHERE resolved_at IS NULL;

-- fiable_app (0005 : SELECT, INSERT, DELETE) : le traitement d'une demande n'écrit que ces
-- colonnes.
GRANT UPDATE (email, user_agent, request_id, resolved_at, outcome)
    ON modify_link_requests TO fiable_app;
