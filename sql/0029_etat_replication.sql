-- 0029 — L'état de la réplication synchrone, lisible par l'application.
--
-- Avec Patroni (scripts/dev up --ha, docs/DEPLOIEMENT.md), un COMMIT n'est confirmé qu'une
-- fois le WAL sur le disque du standby synchrone. GET /api/health dit si ce standby est là :
-- pg_stat_replication ne montre ses colonnes (sync_state, state) qu'aux rôles de
-- pg_read_all_stats, trop large pour fiable_app (il verrait aussi le texte des requêtes des
-- autres sessions). Cette fonction SECURITY DEFINER ne donne que deux faits :
--   standbys_synchrones : standbys en flux (streaming) que le primaire attend à chaque COMMIT ;
--   attente_synchrone   : synchronous_standby_names n'est pas vide (les COMMIT attendent un
--                         standby ; sans standby, « * » du mode strict : ils attendent toujours).
--
-- Idempotente. Retour arrière : 0029_etat_replication.down.sql.

CREATE OR REPLACE FUNCTION etat_replication(
    OUT standbys_synchrones integer, OUT attente_synchrone boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (SELECT count(*)::integer FROM pg_stat_replication
             WHERE sync_state IN ('sync', 'quorum') AND state = 'streaming'),
           current_setting('synchronous_standby_names') <> ''
$$;

REVOKE ALL ON FUNCTION etat_replication() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION etat_replication() TO fiable_app;
