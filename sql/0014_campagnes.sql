-- 0014 — Campagnes : un formulaire de disponibilités, ses créneaux et ses réponses.
-- Le modèle seulement ; l'administration des campagnes vient ensuite, sur ce schéma.
--
--   campagnes   une campagne : adresse (slug), titre, introduction (texte brut), fuseau,
--               ouverture et fermeture (NULL : sans limite), délai de grâce, état, réglage de
--               la modification après la fermeture, version (concurrence optimiste).
--   creneaux    gagne campagne_id, position (ordre choisi ; à égalité, l'heure de début puis
--               l'id), besoin (personnes nécessaires, facultatif) et retire_at (retiré du
--               formulaire mais gardé, avec les réponses qui l'ont coché).
--   soumissions_disponibilites   gagne campagne_id et en_retard (arrivée pendant le délai de
--               grâce, d'après l'horloge de la base) ; une seule réponse active par adresse
--               (sans la casse) et PAR CAMPAGNE.
--
-- Une première campagne, « disponibilites », reçoit les créneaux et les réponses d'avant.
-- Les colonnes campagne_id sont ajoutées avec pour défaut campagne_par_defaut() (l'id de
-- cette campagne) : PostgreSQL l'inscrit sans réécrire ni mettre à jour une seule ligne, donc
-- sans déclencheur : versions, historiques, dates (updated_at), jetons de modification et
-- journal d'audit restent tels quels. Le code d'avant, qui ne nomme pas de campagne, écrit
-- ainsi dans la première ; les programmes qui nommeront la campagne passeront campagne_id
-- eux-mêmes (et ce défaut pourra alors disparaître).
--
-- Fuseau : une migration ne lit pas l'environnement ; le défaut est celui de FIABLE_TIMEZONE
-- dans lib/config.c (Europe/Brussels). Une institution dans un autre fuseau corrige sa
-- première campagne : UPDATE campagnes SET fuseau = 'Europe/Paris' WHERE slug = 'disponibilites'.
--
-- Ce qu'un écrivain de l'administration change est inscrit au journal d'audit par les
-- déclencheurs (campagne.*, creneau.*), avec l'auteur pris dans le réglage de transaction
-- fiable.actor (set_config('fiable.actor', 'admin:nom', true)) ; fiable.client_addr,
-- fiable.user_agent et fiable.request_id de même. Sans réglage : « db:<rôle de session> ».
-- La migration elle-même n'écrit qu'une ligne, schema.migration, qui dit ce qu'elle a déplacé.
--
-- Une réponse refusée par sa campagne (pas encore ouverte, close, brouillon, archivée) lève
-- l'erreur SQLSTATE P0F01 ; à traduire par les programmes en 403 (la première campagne,
-- ouverte et sans dates, n'en lève jamais).
--
-- Idempotente. Retour arrière : 0014_campagnes.down.sql (les campagnes autres que la
-- première ne peuvent pas être défaites : le retour arrière refuse s'il y en a).

CREATE TABLE IF NOT EXISTS campagnes (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Dans l'adresse (/c/<slug>/) : minuscules, chiffres et tirets, sans tiret au bord.
    slug                 text        NOT NULL UNIQUE
                                     CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'),
    titre                text        NOT NULL CHECK (char_length(titre) BETWEEN 1 AND 200),
    -- Texte brut (paragraphes séparés par une ligne vide, liens écrits en clair) : jamais
    -- du HTML ; la page l'affiche comme du texte.
    introduction         text        NOT NULL DEFAULT '' CHECK (char_length(introduction) <= 10000),
    -- Nom IANA, vérifié par le déclencheur (pg_timezone_names) : un CHECK ne peut pas lire
    -- une table.
    fuseau               text        NOT NULL DEFAULT 'Europe/Brussels'
                                     CHECK (char_length(fuseau) BETWEEN 1 AND 64),
    ouverture            timestamptz,
    fermeture            timestamptz,
    delai_grace          interval    NOT NULL DEFAULT interval '0'
                                     CHECK (delai_grace >= interval '0'
                                            AND delai_grace <= interval '30 days'),
    etat                 text        NOT NULL DEFAULT 'brouillon'
                                     CHECK (etat IN ('brouillon', 'ouverte', 'close', 'archivee')),
    -- Modification d'une réponse après la fermeture (et le délai de grâce) : NULL = non ;
    -- une date = jusqu'à elle ; 'infinity' = toujours. Avant la fermeture, toujours permise.
    modification_jusqu_a timestamptz,
    version              integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (fermeture > ouverture),
    CHECK (modification_jusqu_a >= fermeture)
);

-- La première campagne : le titre du formulaire d'avant (static/index.html), ouverte, sans
-- dates. Son id est inscrit dans campagne_par_defaut().
INSERT INTO campagnes (slug, titre, introduction, etat)
VALUES ('disponibilites', 'Disponibilités',
        'Indiquez votre nom et votre adresse e-mail, cochez les créneaux où vous êtes '
        'disponible, puis envoyez.', 'ouverte')
ON CONFLICT (slug) DO NOTHING;

DO $$
DECLARE
    premiere bigint;
BEGIN
    SELECT id INTO STRICT premiere FROM campagnes WHERE slug = 'disponibilites';
    -- Une constante : la fonction est remplacée par sa valeur dans les requêtes.
    EXECUTE format('CREATE OR REPLACE FUNCTION campagne_par_defaut() RETURNS bigint '
                   'LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
                   format('SELECT %s::bigint', premiere));
END
$$;
COMMENT ON FUNCTION campagne_par_defaut() IS
    'La campagne des écrivains qui n''en nomment pas (le code d''avant 0014) : la première.';

-- 1. Les créneaux. Défaut constant : aucune ligne n'est réécrite.
ALTER TABLE creneaux
    ADD COLUMN IF NOT EXISTS campagne_id bigint NOT NULL DEFAULT campagne_par_defaut()
        REFERENCES campagnes (id),
    ADD COLUMN IF NOT EXISTS position integer NOT NULL DEFAULT 0
        CHECK (position BETWEEN 0 AND 1000000),
    ADD COLUMN IF NOT EXISTS besoin integer CHECK (besoin BETWEEN 1 AND 100000),
    ADD COLUMN IF NOT EXISTS retire_at timestamptz;
-- Le formulaire d'une campagne : ses créneaux non retirés, dans l'ordre.
CREATE INDEX IF NOT EXISTS creneaux_campagne_ordre_idx
    ON creneaux (campagne_id, position, starts_at, id);

-- 2. Les réponses. Même chose ; en_retard vaut false pour toutes celles d'avant.
ALTER TABLE soumissions_disponibilites
    ADD COLUMN IF NOT EXISTS campagne_id bigint NOT NULL DEFAULT campagne_par_defaut()
        REFERENCES campagnes (id),
    ADD COLUMN IF NOT EXISTS en_retard boolean NOT NULL DEFAULT false;
-- Une seule réponse active par adresse et par campagne. L'index d'avant (par adresse seule)
-- disparaît : la même personne peut répondre à deux campagnes.
CREATE UNIQUE INDEX IF NOT EXISTS soumissions_campagne_email_active_uniq
    ON soumissions_disponibilites (campagne_id, lower(email)) WHERE deleted_at IS NULL;
DROP INDEX IF EXISTS soumissions_email_active_uniq;
-- L'administration liste les réponses d'une campagne.
CREATE INDEX IF NOT EXISTS soumissions_campagne_idx ON soumissions_disponibilites (campagne_id);

-- 3. Où en est une campagne, à l'heure de la base :
--   brouillon, archivee, close (fermée à la main) : son état ;
--   a_venir : ouverte mais avant son ouverture ;
--   ouverte : jusqu'à sa fermeture (ou sans fermeture) ;
--   retard : après la fermeture, pendant le délai de grâce (réponses acceptées, en retard) ;
--   close : après la fermeture et le délai de grâce.
-- NULL pour une campagne qui n'existe pas.
CREATE OR REPLACE FUNCTION campagne_phase(p_id bigint) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT CASE
        WHEN c.etat <> 'ouverte' THEN c.etat
        WHEN c.ouverture IS NOT NULL AND now() < c.ouverture THEN 'a_venir'
        WHEN c.fermeture IS NULL OR now() <= c.fermeture THEN 'ouverte'
        WHEN now() <= c.fermeture + c.delai_grace THEN 'retard'
        ELSE 'close' END
    FROM campagnes AS c WHERE c.id = p_id
$$;

-- Une réponse de la campagne peut-elle être modifiée (ou retirée, ou remise) maintenant ?
-- Tant qu'elle accepte des réponses ; après, jusqu'à modification_jusqu_a.
CREATE OR REPLACE FUNCTION campagne_modification_permise(p_id bigint) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT CASE campagne_phase(c.id)
        WHEN 'ouverte' THEN true
        WHEN 'retard' THEN true
        WHEN 'close' THEN coalesce(c.modification_jusqu_a >= now(), false)
        ELSE false END
    FROM campagnes AS c WHERE c.id = p_id
$$;

-- 4. La tenue d'une campagne : version et dates viennent du déclencheur (sauf pour
-- fiable_restore et le propriétaire, qui remettent une campagne sauvegardée telle qu'elle
-- était) ; chaque changement d'un champ incrémente la version. Le fuseau doit être un nom
-- IANA connu de la base.
CREATE OR REPLACE FUNCTION campagnes_tenue() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = NEW.fuseau) THEN
        RAISE EXCEPTION 'fuseau horaire inconnu : %', NEW.fuseau
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NOT ecrit_sa_propre_tenue(TG_RELID::regclass) THEN
            NEW.version := 1;
            NEW.created_at := now();
            NEW.updated_at := now();
        END IF;
        RETURN NEW;
    END IF;
    NEW.id := OLD.id;
    NEW.created_at := OLD.created_at;
    IF to_jsonb(NEW) - '{version,created_at,updated_at}'::text[]
       IS DISTINCT FROM to_jsonb(OLD) - '{version,created_at,updated_at}'::text[] THEN
        NEW.version := OLD.version + 1;
        NEW.updated_at := now();
    ELSE
        NEW.version := OLD.version;
        NEW.updated_at := OLD.updated_at;
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS campagnes_tenue ON campagnes;
CREATE TRIGGER campagnes_tenue
    BEFORE INSERT OR UPDATE ON campagnes
    FOR EACH ROW EXECUTE FUNCTION campagnes_tenue();

-- 5. Le journal d'audit des écritures de l'administration (campagnes et créneaux), dans la
-- transaction de l'écriture. TG_ARGV[0] : le nom de l'entité dans l'action (campagne,
-- creneau). Création et suppression : la ligne entière ; modification : pour chaque champ
-- changé, l'avant et l'après (une modification qui ne change rien n'écrit rien). Exécutée
-- avec les droits de l'écrivain : fiable_app et fiable_restore ont INSERT sur le contenu
-- du journal ; la chaîne d'empreintes (0008) scelle la ligne.
CREATE OR REPLACE FUNCTION audit_ecriture_admin() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    tenue text[] := '{version,created_at,updated_at}';
    ancien jsonb;
    nouveau jsonb;
    champs jsonb := '{}'::jsonb;
    champ text;
    details jsonb;
    ligne jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        ancien := to_jsonb(OLD) - tenue;
        nouveau := to_jsonb(NEW) - tenue;
        FOR champ IN SELECT jsonb_object_keys(nouveau) LOOP
            IF ancien -> champ IS DISTINCT FROM nouveau -> champ THEN
                champs := champs || jsonb_build_object(champ,
                    jsonb_build_object('avant', ancien -> champ, 'apres', nouveau -> champ));
            END IF;
        END LOOP;
        IF champs = '{}'::jsonb THEN
            RETURN NULL;
        END IF;
        ligne := to_jsonb(NEW);
        details := jsonb_build_object('champs', champs);
    ELSIF TG_OP = 'INSERT' THEN
        ligne := to_jsonb(NEW);
        details := jsonb_build_object('ligne', ligne - tenue);
    ELSE
        ligne := to_jsonb(OLD);
        details := jsonb_build_object('ligne', ligne - tenue);
    END IF;
    IF ligne ? 'version' THEN
        details := details || jsonb_build_object('version', ligne -> 'version');
    END IF;
    IF ligne ? 'campagne_id' THEN
        details := details || jsonb_build_object('campagne_id', ligne -> 'campagne_id');
    END IF;
    INSERT INTO audit_logs (action, entity, entity_id, actor, client_addr, user_agent,
                            request_id, details)
    VALUES (TG_ARGV[0] || '.' || CASE TG_OP WHEN 'INSERT' THEN 'create'
                                            WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
            TG_TABLE_NAME, ligne ->> 'id',
            coalesce(nullif(current_setting('fiable.actor', true), ''), 'db:' || session_user),
            nullif(current_setting('fiable.client_addr', true), ''),
            nullif(current_setting('fiable.user_agent', true), ''),
            nullif(current_setting('fiable.request_id', true), ''),
            details);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS campagnes_audit ON campagnes;
CREATE TRIGGER campagnes_audit
    AFTER INSERT OR UPDATE OR DELETE ON campagnes
    FOR EACH ROW EXECUTE FUNCTION audit_ecriture_admin('campagne');
DROP TRIGGER IF EXISTS creneaux_audit ON creneaux;
CREATE TRIGGER creneaux_audit
    AFTER INSERT OR UPDATE OR DELETE ON creneaux
    FOR EACH ROW EXECUTE FUNCTION audit_ecriture_admin('creneau');

-- 6. Un créneau qu'une réponse a coché (maintenant ou dans son historique) n'est jamais
-- supprimé : on le retire (retire_at). Le propriétaire du schéma garde la main (jeux de
-- mesure, nettoyages manuels).
CREATE OR REPLACE FUNCTION creneaux_suppression_gardee() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF NOT ecrit_sa_propre_tenue(TG_RELID::regclass) AND EXISTS (
        SELECT 1 FROM soumissions_disponibilites AS s
        WHERE s.campagne_id = OLD.campagne_id
          AND (s.creneaux ? OLD.id OR jsonb_path_exists(s.historique_modifications,
               '$[*].champs.creneaux.avant[*] ? (@ == $id)', jsonb_build_object('id', OLD.id))))
    THEN
        RAISE EXCEPTION 'le créneau % a été coché par une réponse : retirez-le (retire_at) '
                        'au lieu de le supprimer', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END
$$;

DROP TRIGGER IF EXISTS creneaux_suppression_gardee ON creneaux;
CREATE TRIGGER creneaux_suppression_gardee
    BEFORE DELETE ON creneaux
    FOR EACH ROW EXECUTE FUNCTION creneaux_suppression_gardee();

-- 7. Une réponse entre dans une campagne qui les accepte (à l'heure de la base) ; arrivée
-- pendant le délai de grâce, elle est marquée en retard. Modifier, retirer ou remettre une
-- réponse suit campagne_modification_permise (un nouveau jeton seul reste permis).
-- fiable_restore et le propriétaire remettent des réponses sauvegardées telles quelles.
CREATE OR REPLACE FUNCTION soumissions_campagne_ouverte() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    phase text;
BEGIN
    IF ecrit_sa_propre_tenue(TG_RELID::regclass) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        phase := campagne_phase(NEW.campagne_id);
        IF phase IS DISTINCT FROM 'ouverte' AND phase IS DISTINCT FROM 'retard' THEN
            RAISE EXCEPTION 'la campagne % n''accepte pas de réponse (%)', NEW.campagne_id,
                            coalesce(phase, 'inconnue')
                USING ERRCODE = 'P0F01';
        END IF;
        NEW.en_retard := phase = 'retard';
        RETURN NEW;
    END IF;
    NEW.campagne_id := OLD.campagne_id;
    NEW.en_retard := OLD.en_retard;
    IF (NEW.email, NEW.nom, NEW.creneaux, NEW.commentaire, NEW.deleted_at)
       IS DISTINCT FROM (OLD.email, OLD.nom, OLD.creneaux, OLD.commentaire, OLD.deleted_at)
       AND NOT campagne_modification_permise(OLD.campagne_id) THEN
        RAISE EXCEPTION 'la campagne % ne permet plus de modifier ses réponses',
                        OLD.campagne_id
            USING ERRCODE = 'P0F01';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS soumissions_campagne_ouverte ON soumissions_disponibilites;
CREATE TRIGGER soumissions_campagne_ouverte
    BEFORE INSERT OR UPDATE ON soumissions_disponibilites
    FOR EACH ROW EXECUTE FUNCTION soumissions_campagne_ouverte();

-- 8. Droits. fiable_app : lit tout ; écrit le contenu des campagnes et des créneaux (pour
-- l'administration qui vient), jamais version ni dates ; ne supprime pas une campagne
-- (elle l'archive) ; supprime un créneau que personne n'a coché. Les réponses : campagne_id
-- nommé à l'ajout (quand les programmes le passeront), jamais changé ensuite ; en_retard
-- vient du déclencheur.
REVOKE ALL ON campagnes FROM PUBLIC;
REVOKE ALL ON campagnes FROM fiable_app, fiable_backup, fiable_restore;
GRANT SELECT ON campagnes TO fiable_app;
GRANT INSERT (slug, titre, introduction, fuseau, ouverture, fermeture, delai_grace, etat,
              modification_jusqu_a)
    ON campagnes TO fiable_app;
GRANT UPDATE (slug, titre, introduction, fuseau, ouverture, fermeture, delai_grace, etat,
              modification_jusqu_a)
    ON campagnes TO fiable_app;
GRANT INSERT (id, campagne_id, starts_at, ends_at, label, position, besoin)
    ON creneaux TO fiable_app;
GRANT UPDATE (starts_at, ends_at, label, position, besoin, retire_at) ON creneaux TO fiable_app;
GRANT DELETE ON creneaux TO fiable_app;
GRANT INSERT (campagne_id) ON soumissions_disponibilites TO fiable_app;

-- Sauvegarde : lit les campagnes ; restauration : remet une campagne disparue, avec son id
-- (la séquence d'identité avancée au-delà).
GRANT SELECT ON campagnes TO fiable_backup;
GRANT SELECT, INSERT ON campagnes TO fiable_restore;
DO $$
BEGIN
    EXECUTE format('GRANT SELECT, UPDATE ON SEQUENCE %s TO fiable_restore',
                   pg_get_serial_sequence('campagnes', 'id'));
END
$$;

-- 9. Ce que la migration a fait, au journal (une ligne, à la suite de la chaîne).
INSERT INTO audit_logs (action, entity, entity_id, actor, details)
SELECT 'schema.migration', 'campagnes', c.id::text, 'migration:0014_campagnes',
       jsonb_build_object('campagne', c.slug, 'creneaux', (SELECT count(*) FROM creneaux
                                                          WHERE campagne_id = c.id),
                          'reponses', (SELECT count(*) FROM soumissions_disponibilites
                                       WHERE campagne_id = c.id))
FROM campagnes AS c
WHERE c.slug = 'disponibilites'
  AND NOT EXISTS (SELECT 1 FROM audit_logs WHERE action = 'schema.migration'
                  AND actor = 'migration:0014_campagnes');
