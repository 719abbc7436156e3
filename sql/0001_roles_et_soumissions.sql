-- 0001 — Rôle applicatif et table des soumissions (« colonnes de fiabilité » de docs/plan-de-deploiement.md).
-- Idempotente : peut être rejouée sans effet. Exécutée par le propriétaire du schéma.
-- Retour arrière : voir 0001_roles_et_soumissions.down.sql (supprime les données !) ;
-- en production docs/plan-de-deploiement.md restaure plutôt la sauvegarde pré-déploiement.

-- Rôle de moindre privilège utilisé par les programmes FastCGI (jamais un superutilisateur).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fiable_app') THEN
        CREATE ROLE fiable_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS soumissions_disponibilites (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email                    text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    nom                      text        NOT NULL CHECK (char_length(nom) BETWEEN 1 AND 100),
    creneaux                 jsonb       NOT NULL DEFAULT '[]'::jsonb
                                         CHECK (jsonb_typeof(creneaux) = 'array'),
    commentaire              text        NOT NULL DEFAULT '' CHECK (char_length(commentaire) <= 2000),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at               timestamptz,
    version                  integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
    historique_modifications jsonb       NOT NULL DEFAULT '[]'::jsonb
                                         CHECK (jsonb_typeof(historique_modifications) = 'array'),
    edit_token_hash          bytea       NOT NULL CHECK (octet_length(edit_token_hash) = 32)
);

-- Une seule soumission active par e-mail, sans tenir compte de la casse.
CREATE UNIQUE INDEX IF NOT EXISTS soumissions_email_active_uniq
    ON soumissions_disponibilites (lower(email)) WHERE deleted_at IS NULL;
-- Le jeton de modification est retrouvé par son empreinte.
CREATE UNIQUE INDEX IF NOT EXISTS soumissions_edit_token_hash_uniq
    ON soumissions_disponibilites (edit_token_hash);

-- updated_at suit chaque modification.
CREATE OR REPLACE FUNCTION soumissions_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS update_soumissions_updated_at ON soumissions_disponibilites;
CREATE TRIGGER update_soumissions_updated_at
    BEFORE UPDATE ON soumissions_disponibilites
    FOR EACH ROW EXECUTE FUNCTION soumissions_set_updated_at();

-- Chaque modification d'un champ suivi incrémente la version et ajoute à l'historique
-- l'état précédent : version, date, et pour chaque champ changé l'ancienne et la nouvelle valeur.
-- Une mise à jour qui ne touche aucun champ suivi (rotation du jeton) ne crée pas de version.
-- version et historique_modifications ne sont écrits que par ce déclencheur.
CREATE OR REPLACE FUNCTION soumissions_track_modifications() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    champs jsonb := '{}'::jsonb;
    ancien jsonb := to_jsonb(OLD);
    nouveau jsonb := to_jsonb(NEW);
    champ text;
BEGIN
    FOREACH champ IN ARRAY ARRAY['email', 'nom', 'creneaux', 'commentaire', 'deleted_at'] LOOP
        IF ancien -> champ IS DISTINCT FROM nouveau -> champ THEN
            champs := champs || jsonb_build_object(champ,
                jsonb_build_object('avant', ancien -> champ, 'apres', nouveau -> champ));
        END IF;
    END LOOP;

    NEW.version := OLD.version;
    NEW.historique_modifications := OLD.historique_modifications;
    IF champs <> '{}'::jsonb THEN
        NEW.version := OLD.version + 1;
        NEW.historique_modifications := OLD.historique_modifications || jsonb_build_array(
            jsonb_build_object(
                'version', OLD.version,
                'nouvelle_version', OLD.version + 1,
                'modifie_le', now(),
                'champs', champs));
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS track_soumissions_modifications ON soumissions_disponibilites;
CREATE TRIGGER track_soumissions_modifications
    BEFORE UPDATE ON soumissions_disponibilites
    FOR EACH ROW EXECUTE FUNCTION soumissions_track_modifications();

-- Catalogue des créneaux (le catalogue de démonstration est chargé par scripts/dev, pas ici).
CREATE TABLE IF NOT EXISTS creneaux (
    id        text        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    starts_at timestamptz NOT NULL,
    ends_at   timestamptz NOT NULL,
    label     text        NOT NULL CHECK (char_length(label) BETWEEN 1 AND 200),
    CHECK (ends_at > starts_at)
);
CREATE INDEX IF NOT EXISTS creneaux_starts_at_idx ON creneaux (starts_at);

-- Fonctionnalités activables (scénario 2 du retour arrière de docs/plan-de-deploiement.md).
CREATE TABLE IF NOT EXISTS feature_flags (
    name       text        PRIMARY KEY CHECK (name ~ '^[a-z_]{1,64}$'),
    enabled    boolean     NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO feature_flags (name, enabled) VALUES
    ('autosave', true), ('offline_queue', true), ('modification', true), ('email_links', true)
ON CONFLICT (name) DO NOTHING;
