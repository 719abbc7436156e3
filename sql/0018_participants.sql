-- 0018 — Participants d'une campagne et campagnes sur invitation (issue 16, première étape).
--
--   campagnes.acces      'ouvert' (défaut : quiconque a l'adresse répond, comme avant) ou
--                        'invites' : une réponse doit porter le jeton d'invitation d'un
--                        participant de CETTE campagne ; e-mail et nom sont alors les siens.
--   participants         la liste des personnes invitées d'une campagne : e-mail (unique sans
--                        la casse dans la campagne), nom, groupe facultatif (un service, pour
--                        le taux de réponse par groupe), l'empreinte SHA-256 du jeton
--                        d'invitation (le jeton en clair n'est jamais gardé : il n'est que
--                        dans le corps du courriel en attente, effacé à l'envoi, comme le lien
--                        de modification d'un accusé de réception), l'état de l'invitation
--                        ('a_envoyer' tant que le serveur de courrier ne l'a pas acceptée,
--                        'envoyee', 'refusee' quand il l'a refusée pour de bon, avec son
--                        erreur) et la désinscription des relances.
--   mail_outbox          gagne le genre 'invitation' et headers : des lignes d'en-tête en
--                        plus (List-Unsubscribe, RFC 8058), composées par le programme.
--
-- L'état de l'invitation suit le courriel : un déclencheur sur mail_outbox le recopie quand
-- l'expéditeur (fiable-mail-outbox) marque le message envoyé, le réessaie ou l'abandonne.
--
-- Journal d'audit : ajouter, retirer un participant, changer son e-mail, son nom, son groupe
-- ou sa désinscription écrit une ligne par participant (participant.create, .delete,
-- .update), avec l'auteur de fiable.actor, comme pour les créneaux (un import de 200
-- personnes : 200 lignes). L'envoi des invitations écrit une ligne par envoi
-- (participants.invite, avec le nombre), par le programme : l'empreinte du jeton n'entre
-- pas au journal.
--
-- Sauvegardes : fiable_backup lit participants ; le format des sauvegardes ne l'inclut pas
-- encore (à faire avec la page de l'organisateur).
--
-- Idempotente. Retour arrière : 0018_participants.down.sql.

ALTER TABLE campagnes
    ADD COLUMN IF NOT EXISTS acces text NOT NULL DEFAULT 'ouvert'
        CHECK (acces IN ('ouvert', 'invites'));

-- Le courrier : le genre des invitations, et les en-têtes en plus (au plus quelques lignes).
ALTER TABLE mail_outbox DROP CONSTRAINT IF EXISTS mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('receipt', 'edit_link', 'invitation'));
ALTER TABLE mail_outbox
    ADD COLUMN IF NOT EXISTS headers text CHECK (char_length(headers) <= 2000);

CREATE TABLE IF NOT EXISTS participants (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campagne_id             bigint      NOT NULL REFERENCES campagnes (id),
    email                   text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    nom                     text        NOT NULL CHECK (char_length(nom) BETWEEN 1 AND 100),
    groupe                  text        CHECK (char_length(groupe) BETWEEN 1 AND 100),
    -- SHA-256 du jeton d'invitation (256 bits aléatoires) ; NULL tant qu'il n'est pas invité.
    jeton_invitation_hash   bytea       UNIQUE CHECK (octet_length(jeton_invitation_hash) = 32),
    invited_at              timestamptz,
    invitation_mail_id      bigint      REFERENCES mail_outbox (id) ON DELETE SET NULL,
    statut_invitation       text        NOT NULL DEFAULT 'a_envoyer'
                                        CHECK (statut_invitation IN ('a_envoyer', 'envoyee',
                                                                     'refusee')),
    erreur_smtp             text        CHECK (char_length(erreur_smtp) <= 1000),
    desinscrit_relances_at  timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    CHECK ((jeton_invitation_hash IS NULL) = (invited_at IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS participants_campagne_email_uniq
    ON participants (campagne_id, lower(email));
CREATE INDEX IF NOT EXISTS participants_invitation_mail_idx
    ON participants (invitation_mail_id) WHERE invitation_mail_id IS NOT NULL;

-- Une ligne d'audit par participant ajouté, retiré, ou dont ce qu'on lit de lui change
-- (pas à l'invitation ni à l'état du courriel : leurs colonnes ne déclenchent rien).
DROP TRIGGER IF EXISTS participants_audit ON participants;
CREATE TRIGGER participants_audit
    AFTER INSERT OR DELETE OR UPDATE OF email, nom, groupe, desinscrit_relances_at
    ON participants
    FOR EACH ROW EXECUTE FUNCTION audit_ecriture_admin('participant');

-- L'état de l'invitation, recopié de son courriel.
CREATE OR REPLACE FUNCTION participants_suivi_invitation() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    UPDATE participants
    SET statut_invitation = CASE NEW.status WHEN 'sent' THEN 'envoyee'
                                            WHEN 'failed' THEN 'refusee'
                                            ELSE 'a_envoyer' END,
        erreur_smtp = CASE WHEN NEW.status = 'sent' THEN NULL
                           ELSE left(NEW.last_error, 1000) END
    WHERE invitation_mail_id = NEW.id;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS mail_outbox_suivi_invitation ON mail_outbox;
CREATE TRIGGER mail_outbox_suivi_invitation
    AFTER UPDATE OF status, last_error ON mail_outbox
    FOR EACH ROW WHEN (NEW.kind = 'invitation')
    EXECUTE FUNCTION participants_suivi_invitation();

-- Droits. fiable_app : lit la liste ; ajoute (jamais l'id, ni les dates) ; retire ; invite
-- (jeton, date, courriel) ; recopie l'état du courriel ; désinscrit. fiable_backup : lit.
REVOKE ALL ON participants FROM PUBLIC;
REVOKE ALL ON participants FROM fiable_app, fiable_backup, fiable_restore;
GRANT SELECT, DELETE ON participants TO fiable_app;
GRANT INSERT (campagne_id, email, nom, groupe) ON participants TO fiable_app;
GRANT UPDATE (jeton_invitation_hash, invited_at, invitation_mail_id, statut_invitation,
              erreur_smtp, desinscrit_relances_at)
    ON participants TO fiable_app;
GRANT SELECT ON participants TO fiable_backup;
-- L'accès se change après la création (PUT …/acces) : UPDATE seulement.
GRANT UPDATE (acces) ON campagnes TO fiable_app;
