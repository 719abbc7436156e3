-- 0013 — Ce qu'un programme applicatif compromis ne peut plus réécrire.
--   * Le journal d'audit porte l'heure de la base : un déclencheur impose created_at = now()
--     à chaque ajout, avant que la chaîne d'empreintes (0008) ne le scelle.
--   * La tenue des soumissions (version, historique_modifications, created_at, updated_at,
--     id) n'est écrite que par les déclencheurs : fiable_app n'a plus le droit de nommer ces
--     colonnes, ni à l'ajout ni à la mise à jour (droits par colonne), et un retrait est daté
--     par la base.
-- Seuls le propriétaire des tables (un superutilisateur compris) et fiable_restore, qui remet
-- des lignes d'une sauvegarde telles qu'elles étaient (dates et historique compris), gardent
-- les valeurs qu'ils écrivent.
-- Idempotente. Retour arrière : 0013_droits_historique.down.sql.

-- Vrai quand le rôle courant peut écrire lui-même les colonnes de tenue de la table tbl.
-- Appelée par des déclencheurs SECURITY INVOKER : current_user est le rôle de l'instruction.
CREATE OR REPLACE FUNCTION ecrit_sa_propre_tenue(tbl regclass) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT pg_has_role(current_user, 'fiable_restore', 'MEMBER')
        OR pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = tbl), 'MEMBER')
$$;
-- (Exécutable par tous, comme par défaut : tout rôle qui écrit ces tables passe par elle.)

-- 1. L'heure du journal d'audit. Les déclencheurs d'une même table et d'un même événement
-- s'exécutent dans l'ordre alphabétique de leur nom : « audit_logs_before_chain » passe
-- avant « audit_logs_chain », qui calcule l'empreinte avec l'heure imposée ici.
CREATE OR REPLACE FUNCTION audit_logs_heure_de_la_base() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF NOT ecrit_sa_propre_tenue(TG_RELID::regclass) THEN
        NEW.created_at := now();
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION audit_logs_heure_de_la_base() FROM PUBLIC;

DROP TRIGGER IF EXISTS audit_logs_before_chain ON audit_logs;
CREATE TRIGGER audit_logs_before_chain
    BEFORE INSERT ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_heure_de_la_base();

-- Les écrivains ordinaires du journal ne nomment que le contenu d'une ligne : ni son id
-- (OVERRIDING SYSTEM VALUE), ni son heure, ni ses maillons. fiable_restore garde le droit
-- entier : il rajoute les lignes d'une sauvegarde avec leur id et leur heure.
REVOKE INSERT ON audit_logs FROM fiable_app, fiable_backup;
GRANT INSERT (action, entity, entity_id, actor, client_addr, user_agent, request_id, details)
    ON audit_logs TO fiable_app, fiable_backup;

-- 2. Les soumissions : fiable_app écrit ce qu'une personne envoie, le retrait et le jeton ;
-- version, historique_modifications, created_at et updated_at viennent des déclencheurs.
REVOKE INSERT, UPDATE ON soumissions_disponibilites FROM fiable_app;
GRANT INSERT (email, nom, creneaux, commentaire, edit_token_hash)
    ON soumissions_disponibilites TO fiable_app;
GRANT UPDATE (email, nom, creneaux, commentaire, deleted_at, edit_token_hash)
    ON soumissions_disponibilites TO fiable_app;
-- fiable_restore remet une réponse disparue entière (INSERT de toutes les colonnes) mais ne
-- modifie une réponse existante que par son contenu : l'historique garde ce qui est remplacé.
REVOKE UPDATE ON soumissions_disponibilites FROM fiable_restore;
GRANT UPDATE (email, nom, creneaux, commentaire, deleted_at)
    ON soumissions_disponibilites TO fiable_restore;

-- Le suivi des modifications (0001), avec en plus : un retrait (deleted_at qui change vers
-- une date) porte l'heure de la base, sauf pour un rôle qui écrit sa propre tenue
-- (fiable_restore remet la date de retrait sauvegardée).
CREATE OR REPLACE FUNCTION soumissions_track_modifications() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    champs jsonb := '{}'::jsonb;
    ancien jsonb;
    nouveau jsonb;
    champ text;
BEGIN
    IF NEW.deleted_at IS NOT NULL AND NEW.deleted_at IS DISTINCT FROM OLD.deleted_at
       AND NOT ecrit_sa_propre_tenue(TG_RELID::regclass) THEN
        NEW.deleted_at := now();
    END IF;
    ancien := to_jsonb(OLD);
    nouveau := to_jsonb(NEW);
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
