-- 0004 — Droits du rôle applicatif : le strict nécessaire, rien de plus.
-- Idempotente (GRANT/REVOKE se rejouent sans effet).

REVOKE ALL ON soumissions_disponibilites, creneaux, feature_flags, audit_logs,
              backup_metadata, idempotency_keys, request_metrics FROM PUBLIC;
REVOKE ALL ON soumissions_disponibilites, creneaux, feature_flags, audit_logs,
              backup_metadata, idempotency_keys, request_metrics FROM fiable_app;

GRANT SELECT, INSERT, UPDATE ON soumissions_disponibilites TO fiable_app;
GRANT SELECT ON creneaux, feature_flags TO fiable_app;
-- Journal d'audit : lecture et ajout seulement.
GRANT SELECT, INSERT ON audit_logs TO fiable_app;
GRANT SELECT, INSERT, UPDATE ON backup_metadata TO fiable_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO fiable_app;
GRANT SELECT, INSERT ON request_metrics TO fiable_app;
