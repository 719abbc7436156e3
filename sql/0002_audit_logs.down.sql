-- Supprime le journal d'audit. DROP TABLE n'est pas bloqué par les déclencheurs :
-- à n'utiliser qu'après avoir sauvegardé la table (docs/plan-de-deploiement.md restaure plutôt la sauvegarde).
DROP TABLE IF EXISTS audit_logs;
DROP FUNCTION IF EXISTS audit_logs_reject_change();
