-- Retour arrière de 0013 : les droits de table entiers reviennent (0004, 0006), le journal
-- d'audit reprend l'heure que l'écrivain lui donne et le suivi des modifications celui de
-- 0001. Aucune donnée n'est perdue.
DROP TRIGGER IF EXISTS audit_logs_before_chain ON audit_logs;
DROP FUNCTION IF EXISTS audit_logs_heure_de_la_base();

REVOKE INSERT ON audit_logs FROM fiable_app, fiable_backup;
GRANT INSERT ON audit_logs TO fiable_app, fiable_backup;

REVOKE INSERT, UPDATE ON soumissions_disponibilites FROM fiable_app;
GRANT INSERT, UPDATE ON soumissions_disponibilites TO fiable_app;
REVOKE UPDATE ON soumissions_disponibilites FROM fiable_restore;
GRANT UPDATE ON soumissions_disponibilites TO fiable_restore;

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

DROP FUNCTION IF EXISTS ecrit_sa_propre_tenue(regclass);
