-- 0030 — Les bornes de l'histogramme de la longueur de la file du navigateur.
--
-- L'export Prometheus (GET /api/admin/metrics/prometheus) donne la longueur de file que
-- rapportent les navigateurs comme un histogramme (fiable_client_queue_length_bucket{le}) :
-- l'alerte « file > 10 » se lit sur la borne 10. Les bornes restent écrites en un seul
-- endroit, metriques_bornes() ; 'duree' et 'autosave' ne changent pas.
--
-- Idempotente. Retour arrière : 0030_bornes_file.down.sql.

CREATE OR REPLACE FUNCTION metriques_bornes(p_kind text) RETURNS float8[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind
        WHEN 'duree' THEN '{1,2,5,10,25,50,100,250,500,1000,2000,5000,10000}'::float8[]
        WHEN 'file' THEN '{1,2,5,10,20,50,100}'::float8[]
        ELSE '{1,2,5,10,20,50,100,200,500,1000}'::float8[]
    END
$$;
