-- 0005 — Modification, retrait et restauration ; liens de modification ; courrier sortant.
-- Idempotente.

-- File d'envoi des e-mails : remplie dans la transaction de la modification qu'elle annonce,
-- vidée après la réponse (puis par cron/fiable-mail-outbox en cas d'échec). Le corps, qui
-- peut contenir un lien de modification, est effacé une fois le message envoyé ou abandonné.
CREATE TABLE IF NOT EXISTS mail_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT now(),
    kind            text        NOT NULL CHECK (kind IN ('receipt', 'edit_link')),
    recipient       text        NOT NULL CHECK (char_length(recipient) <= 254),
    subject         text        NOT NULL,
    body            text,
    submission_id   bigint      REFERENCES soumissions_disponibilites (id),
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    sent_at         timestamptz
);
CREATE INDEX IF NOT EXISTS mail_outbox_due_idx ON mail_outbox (next_attempt_at)
    WHERE status = 'pending';

-- Demandes de lien de modification, pour la limite par e-mail et par adresse.
-- L'e-mail est gardé tel que demandé (en minuscules), qu'une soumission existe ou non.
CREATE TABLE IF NOT EXISTS modify_link_requests (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    email_lower text        NOT NULL,
    client_addr text        NOT NULL
);
CREATE INDEX IF NOT EXISTS modify_link_requests_email_idx
    ON modify_link_requests (email_lower, created_at);
CREATE INDEX IF NOT EXISTS modify_link_requests_addr_idx
    ON modify_link_requests (client_addr, created_at);

-- Contenu (email, nom, creneaux, commentaire) d'une soumission tel qu'il était à la version
-- p_version, reconstruit depuis l'état actuel en défaisant l'historique, du plus récent au plus
-- ancien. NULL si la version n'existe pas.
CREATE OR REPLACE FUNCTION soumission_contenu_a_la_version(p_id bigint, p_version integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s soumissions_disponibilites%ROWTYPE;
    contenu jsonb;
    entree jsonb;
    champ text;
BEGIN
    SELECT * INTO s FROM soumissions_disponibilites WHERE id = p_id;
    IF NOT FOUND OR p_version < 1 OR p_version > s.version THEN
        RETURN NULL;
    END IF;
    contenu := jsonb_build_object('email', s.email, 'nom', s.nom,
                                  'creneaux', s.creneaux, 'commentaire', s.commentaire);
    FOR entree IN
        SELECT e FROM jsonb_array_elements(s.historique_modifications) AS e
        WHERE (e ->> 'nouvelle_version')::integer > p_version
        ORDER BY (e ->> 'nouvelle_version')::integer DESC
    LOOP
        FOR champ IN SELECT jsonb_object_keys(entree -> 'champs') LOOP
            IF champ IN ('email', 'nom', 'creneaux', 'commentaire') THEN
                contenu := jsonb_set(contenu, ARRAY[champ], entree -> 'champs' -> champ -> 'avant');
            END IF;
        END LOOP;
    END LOOP;
    RETURN contenu;
END
$$;

REVOKE ALL ON mail_outbox, modify_link_requests FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON mail_outbox TO fiable_app;
GRANT SELECT, INSERT, DELETE ON modify_link_requests TO fiable_app;
GRANT EXECUTE ON FUNCTION soumission_contenu_a_la_version(bigint, integer) TO fiable_app;
