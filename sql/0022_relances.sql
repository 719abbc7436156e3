-- 0022 — Relances des participants qui n'ont pas répondu (issue 16, côté organisateur).
--
--   campagnes.relances_heures  les relances automatiques d'une campagne : combien d'heures
--                        avant sa fermeture (défaut {72,24} : trois jours et un jour avant) ;
--                        vide : aucune. Modifiable par l'organisateur (PUT …/relances),
--                        inscrit au journal par le déclencheur des campagnes (sql/0014).
--   relances             une ligne par relance faite : manuelle (le nom de l'administrateur)
--                        ou automatique (son décalage en heures et la fermeture d'où il est
--                        compté), quand, combien de courriels.
--   relances_envois      une ligne par (relance, participant), avec son courriel : la clé
--                        primaire interdit qu'une même relance écrive deux fois à une
--                        personne, même avec deux programmes lancés en même temps
--                        (INSERT … ON CONFLICT DO NOTHING : le second attend le premier,
--                        puis n'insère rien).
--   relances_automatique_uniq  une relance automatique n'existe qu'une fois par campagne,
--                        décalage et fermeture : lancée deux fois, elle n'envoie rien la
--                        seconde. Reporter la fermeture réarme les relances (une nouvelle
--                        échéance).
--   participants.jeton_sel  16 octets aléatoires tirés à l'invitation : le jeton du lien
--                        personnel est HMAC-SHA-256(FIABLE_SECRET, « fiable-invitation:<id>:
--                        <sel> »), si bien qu'une relance redonne le MÊME lien que
--                        l'invitation sans que la base ne le garde (elle n'a que le sel et
--                        l'empreinte ; sans le secret du serveur, ni l'un ni l'autre ne
--                        redonne le jeton).
--   mail_outbox          gagne le genre 'relance'.
--
-- Qui est relancé (lib/reminders.c, une seule requête) : reponse = 'sans_reponse' dans la vue
-- participants_reponses (sql/0020), invitation envoyée (acceptée par le serveur de courrier),
-- pas désinscrit des relances. Idempotente. Retour arrière : 0022_relances.down.sql.

ALTER TABLE mail_outbox DROP CONSTRAINT IF EXISTS mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('receipt', 'edit_link', 'invitation', 'relance'));

ALTER TABLE campagnes
    ADD COLUMN IF NOT EXISTS relances_heures integer[] NOT NULL DEFAULT '{72,24}'
        CONSTRAINT campagnes_relances_heures_check
        CHECK (cardinality(relances_heures) <= 5
               AND array_position(relances_heures, NULL) IS NULL
               AND 1 <= ALL (relances_heures) AND 2160 >= ALL (relances_heures));

ALTER TABLE participants
    ADD COLUMN IF NOT EXISTS jeton_sel bytea CHECK (octet_length(jeton_sel) = 16);

CREATE TABLE IF NOT EXISTS relances (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campagne_id   bigint      NOT NULL REFERENCES campagnes (id),
    genre         text        NOT NULL CHECK (genre IN ('manuelle', 'automatique')),
    admin         text        CHECK (char_length(admin) BETWEEN 1 AND 100),
    heures_avant  integer     CHECK (heures_avant BETWEEN 1 AND 2160),
    fermeture     timestamptz,
    envoyes       integer     NOT NULL DEFAULT 0 CHECK (envoyes >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((genre = 'manuelle') = (admin IS NOT NULL)),
    CHECK ((genre = 'automatique') = (heures_avant IS NOT NULL AND fermeture IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS relances_automatique_uniq
    ON relances (campagne_id, heures_avant, fermeture) WHERE genre = 'automatique';
CREATE INDEX IF NOT EXISTS relances_campagne_idx ON relances (campagne_id, created_at DESC);

CREATE TABLE IF NOT EXISTS relances_envois (
    relance_id     bigint      NOT NULL REFERENCES relances (id),
    participant_id bigint      NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    mail_id        bigint      REFERENCES mail_outbox (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (relance_id, participant_id)
);
CREATE INDEX IF NOT EXISTS relances_envois_participant_idx
    ON relances_envois (participant_id, created_at);

-- Droits. fiable_app : lit ; inscrit une relance (jamais son id ni sa date) et ajoute ses
-- envois à son compte ; inscrit un envoi puis son courriel ; change le calendrier des
-- relances ; tire le sel d'un jeton. fiable_backup : lit.
REVOKE ALL ON relances, relances_envois FROM PUBLIC;
REVOKE ALL ON relances, relances_envois FROM fiable_app, fiable_backup, fiable_restore;
GRANT SELECT ON relances, relances_envois TO fiable_app, fiable_backup;
GRANT INSERT (campagne_id, genre, admin, heures_avant, fermeture) ON relances TO fiable_app;
GRANT UPDATE (envoyes) ON relances TO fiable_app;
GRANT INSERT (relance_id, participant_id) ON relances_envois TO fiable_app;
GRANT UPDATE (mail_id) ON relances_envois TO fiable_app;
GRANT UPDATE (relances_heures) ON campagnes TO fiable_app;
GRANT UPDATE (jeton_sel) ON participants TO fiable_app;
