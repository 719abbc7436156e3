-- Retire les droits accordés par 0004.
REVOKE ALL ON soumissions_disponibilites, creneaux, feature_flags, audit_logs,
              backup_metadata, idempotency_keys, request_metrics FROM fiable_app;
