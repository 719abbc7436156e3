-- Supprime les agrégats, les alertes et les colonnes ajoutées par 0007 (les faits rapportés
-- par le formulaire et l'historique des alertes sont perdus ; les requêtes mesurées restent).
DROP FUNCTION IF EXISTS metriques_ingerer(jsonb);
DROP FUNCTION IF EXISTS metriques_sauvegardes();
DROP FUNCTION IF EXISTS metriques_resume(timestamptz, timestamptz, interval, text);
DROP FUNCTION IF EXISTS metriques_centile(smallint[], bigint[], float8[], float8, float8);
DROP FUNCTION IF EXISTS metriques_hist(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS metriques_erreurs(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS metriques_lignes(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS metriques_plages_brutes(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS metriques_agreger();
DROP FUNCTION IF EXISTS metriques_heure_ouverte();
DROP FUNCTION IF EXISTS metriques_hist_brut(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS metriques_erreurs_brut(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS metriques_agreger_brut(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS metriques_bornes(text);
DROP TABLE IF EXISTS alert_events;
DROP TABLE IF EXISTS alert_states;
DROP TABLE IF EXISTS request_metrics_hours_done;
DROP TABLE IF EXISTS request_metrics_hourly_hist;
DROP TABLE IF EXISTS request_metrics_hourly_errors;
DROP TABLE IF EXISTS request_metrics_hourly;
DROP INDEX IF EXISTS request_metrics_failed_writes_idx;
DROP INDEX IF EXISTS request_metrics_spool_id_uniq;
ALTER TABLE request_metrics
    DROP COLUMN IF EXISTS spool_id,
    DROP COLUMN IF EXISTS idempotency_key,
    DROP COLUMN IF EXISTS autosave_ms,
    DROP COLUMN IF EXISTS attempt,
    DROP COLUMN IF EXISTS queue_length,
    DROP COLUMN IF EXISTS queued_ms,
    DROP COLUMN IF EXISTS from_queue;
DO $$
BEGIN
    IF to_regclass('schema_migrations') IS NOT NULL THEN
        REVOKE SELECT ON schema_migrations FROM fiable_app;
    END IF;
END
$$;
