-- Supprime les soumissions, le catalogue et les fonctionnalités : DONNÉES PERDUES.
-- Le plan de retour arrière (scénario 1) restaure la sauvegarde pré-déploiement à la place.
DROP TABLE IF EXISTS feature_flags;
DROP TABLE IF EXISTS creneaux;
DROP TABLE IF EXISTS soumissions_disponibilites;
DROP FUNCTION IF EXISTS soumissions_track_modifications();
DROP FUNCTION IF EXISTS soumissions_set_updated_at();
-- Le rôle fiable_app est global à l'instance : il n'est pas supprimé ici.
