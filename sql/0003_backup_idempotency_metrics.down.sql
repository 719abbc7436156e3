-- Supprime les tables de 0003 (les métadonnées de sauvegarde et les métriques sont perdues).
DROP TABLE IF EXISTS request_metrics;
DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS backup_metadata;
