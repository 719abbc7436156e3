-- 0010 — La clé d'idempotence est un secret, comme le jeton de modification : qui la connaît,
-- avec le corps de l'envoi, reçoit en le rejouant le jeton de modification de la réponse
-- (calculé à partir de la clé). Elle était écrite en clair dans idempotency_keys,
-- request_metrics et le journal d'audit (donc dans chaque sauvegarde). Désormais seule son
-- empreinte est gardée, SHA-256 du texte de la clé normalisée (UUID en minuscules, celui de
-- uuid::text), et c'est par elle qu'on la retrouve ; le journal d'audit ne reçoit plus que
-- cette empreinte (details.idempotency_key_sha256).
-- Idempotente. Retour arrière : 0010_cles_idempotence.down.sql (une empreinte ne redonne pas
-- sa clé : les renvois des clés déjà enregistrées ne sont plus reconnus).
--
-- Les clés déjà écrites en clair dans le journal d'audit ne peuvent pas en être effacées (il
-- est en ajout seul et chaîné) : toutes celles enregistrées avant cette migration sont
-- marquées (key_exposed), et leur renvoi rend la réponse enregistrée SANS jeton de
-- modification. Les jetons ne changent pas : chaque lien de modification existant continue
-- de fonctionner. Les nouveaux jetons sont dérivés avec une autre étiquette (« v2 »,
-- lib/submission.c) : une clé exposée ne redonne pas le jeton de sa réponse, même réutilisée
-- après la disparition de sa ligne.
--
-- Les deux tables sont réécrites (ALTER COLUMN ... TYPE, verrou exclusif le temps de la
-- réécriture) : les clés ne restent pas dans leurs fichiers (après un simple DROP COLUMN, elles
-- y resteraient jusqu'à la réécriture de chaque ligne).

-- 1. idempotency_keys : l'empreinte à la place de la clé --------------------------------------

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'idempotency_keys'::regclass
               AND attname = 'key' AND NOT attisdropped) THEN
        -- Une seule réécriture : l'empreinte remplace la clé (clé primaire comprise), et chaque
        -- ligne déjà là est marquée exposée (le défaut de la colonne ne vaut vrai que pour elles).
        ALTER TABLE idempotency_keys
            ALTER COLUMN key TYPE bytea USING sha256(convert_to(key::text, 'UTF8')),
            ADD COLUMN key_exposed boolean NOT NULL DEFAULT true;
        ALTER TABLE idempotency_keys RENAME COLUMN key TO key_sha256;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'idempotency_keys_key_sha256_check'
                   AND conrelid = 'idempotency_keys'::regclass) THEN
        ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_key_sha256_check
            CHECK (octet_length(key_sha256) = 32);
    END IF;
END
$$;
-- Une clé arrivée après cette migration n'a jamais été écrite en clair.
ALTER TABLE idempotency_keys ALTER COLUMN key_exposed SET DEFAULT false;

-- Le rôle applicatif enregistre la réponse d'une clé ; il ne peut pas lever sa marque.
REVOKE UPDATE ON idempotency_keys FROM fiable_app;
GRANT UPDATE (status_code, response_body, submission_id) ON idempotency_keys TO fiable_app;

-- 2. request_metrics : l'empreinte de la clé de chaque écriture -------------------------------

-- L'index partiel des écritures en échec (0007) suit la colonne : il est reconstruit.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'request_metrics'::regclass
               AND attname = 'idempotency_key' AND NOT attisdropped) THEN
        ALTER TABLE request_metrics ALTER COLUMN idempotency_key TYPE bytea
            USING sha256(convert_to(idempotency_key::text, 'UTF8'));
        ALTER TABLE request_metrics RENAME COLUMN idempotency_key TO idempotency_key_sha256;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'request_metrics_idempotency_key_sha256_check'
                     AND conrelid = 'request_metrics'::regclass) THEN
        ALTER TABLE request_metrics ADD CONSTRAINT request_metrics_idempotency_key_sha256_check
            CHECK (octet_length(idempotency_key_sha256) = 32);
    END IF;
END
$$;

-- 3. Les fonctions de 0007 qui lisent la clé --------------------------------------------------

-- metriques_resume : celle de 0007, où seuls les envois jamais aboutis (perdus) changent :
-- ils joignent les deux tables par l'empreinte.
-- Les indicateurs de [p_debut, p_fin) en JSON ; p_pas : le pas de la série (une heure au
-- moins) ; p_fuseau : le fuseau des jours (soumissions par jour). Agrège d'abord les heures
-- finies. Les noms des indicateurs sont ceux que lisent les règles d'alerte.
CREATE OR REPLACE FUNCTION metriques_resume(p_debut timestamptz, p_fin timestamptz,
                                            p_pas interval, p_fuseau text)
RETURNS jsonb
-- Les fonctions qui rendent des lignes trompent les estimations du planificateur : sans ces
-- réglages, il compilerait la requête (JIT) pendant deux secondes pour quelques millisecondes,
-- et un programme qui garde sa connexion passerait, après cinq appels, à un plan générique
-- dix fois plus lent ; un plan fait pour les bornes de chaque appel coûte peu.
LANGUAGE plpgsql SET jit = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v jsonb;
BEGIN
    PERFORM metriques_agreger();
    WITH l AS MATERIALIZED (SELECT * FROM metriques_lignes(p_debut, p_fin)),
    h AS MATERIALIZED (SELECT * FROM metriques_hist(p_debut, p_fin)),
    t AS (
        SELECT coalesce(sum(requests), 0) AS requetes,
               coalesce(sum(failures), 0) AS echecs,
               coalesce(sum(client_errors), 0) AS erreurs_client,
               sum(duration_us_sum) AS duree_somme,
               max(duration_us_max) AS duree_max,
               coalesce(sum(writes), 0) AS ecritures,
               coalesce(sum(from_queue), 0) AS depuis_file,
               coalesce(sum(offline_ok), 0) AS hors_ligne,
               coalesce(sum(retried), 0) AS nouvelles_tentatives,
               sum(queue_reports) AS file_n, sum(queue_length_sum) AS file_somme,
               max(queue_length_max) AS file_max,
               sum(queued_reports) AS attente_n, sum(queued_ms_sum) AS attente_somme,
               max(queued_ms_max) AS attente_max,
               coalesce(sum(submissions), 0) AS soumissions,
               coalesce(sum(modifications), 0) AS modifications,
               coalesce(sum(withdrawals), 0) AS retraits,
               coalesce(sum(restores), 0) AS restaurations
        FROM l
    ),
    hd AS (
        SELECT kind, array_agg(idx ORDER BY idx) AS idx, array_agg(n ORDER BY idx) AS n
        FROM (SELECT kind, idx, sum(n)::bigint AS n FROM h GROUP BY kind, idx) AS x
        GROUP BY kind
    ),
    series AS (
        SELECT date_bin(p_pas, bucket, date_trunc('hour', p_debut)) AS t,
               sum(requests) AS requetes,
               sum(failures) AS echecs,
               sum(duration_us_sum) / nullif(sum(requests), 0) / 1000.0 AS temps_moyen,
               max(duration_us_max) / 1000.0 AS temps_max,
               sum(queue_length_sum)::float8 / nullif(sum(queue_reports), 0) AS file_moyenne,
               max(queue_length_max) AS file_max
        FROM l GROUP BY 1
    ),
    series_hist AS (
        SELECT date_bin(p_pas, bucket, date_trunc('hour', p_debut)) AS t,
               array_agg(idx ORDER BY idx) AS idx, array_agg(n ORDER BY idx) AS n
        FROM (SELECT date_bin(p_pas, bucket, date_trunc('hour', p_debut)) AS bucket, idx, sum(n)::bigint AS n
              FROM h WHERE kind = 'duree' GROUP BY 1, 2) AS x
        GROUP BY 1
    ),
    grille AS (
        SELECT g AS t FROM generate_series(date_trunc('hour', p_debut), p_fin - interval '1 microsecond',
                                           p_pas) AS g
    ),
    jours AS (
        SELECT to_char(bucket AT TIME ZONE p_fuseau, 'YYYY-MM-DD') AS jour,
               sum(submissions) AS n
        FROM l
        GROUP BY 1
        HAVING sum(submissions) > 0
    ),
    erreurs AS (
        SELECT status, endpoint, sum(n) AS n FROM metriques_erreurs(p_debut, p_fin)
        GROUP BY 1, 2
    ),
    -- Envois d'écriture en échec (5xx) dont la clé d'idempotence n'a jamais abouti ensuite,
    -- plus d'une heure après : la file du navigateur avait eu le temps de les renvoyer.
    perdus AS (
        SELECT count(DISTINCT m.idempotency_key_sha256) AS n
        FROM request_metrics m
        WHERE m.status >= 500 AND m.created_at >= p_debut AND m.created_at < p_fin
          AND m.created_at < now() - interval '1 hour' AND m.idempotency_key_sha256 IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM idempotency_keys k
                          WHERE k.key_sha256 = m.idempotency_key_sha256
                            AND k.status_code IS NOT NULL)
    )
    SELECT jsonb_build_object(
        'debut', p_debut, 'fin', p_fin,
        'requetes', t.requetes, 'echecs', t.echecs, 'erreurs_client', t.erreurs_client,
        'taux_succes', CASE WHEN t.requetes > 0
                            THEN round((100.0 * (t.requetes - t.echecs) / t.requetes)::numeric, 2) END,
        'taux_echec', CASE WHEN t.requetes > 0
                           THEN round((100.0 * t.echecs / t.requetes)::numeric, 2) END,
        'temps_reponse_ms', jsonb_build_object(
            'moyenne', round((t.duree_somme / nullif(t.requetes, 0) / 1000.0)::numeric, 1),
            'p50', round(metriques_centile(d.idx, d.n, metriques_bornes('duree'), 0.50,
                                           t.duree_max / 1000.0)::numeric, 1),
            'p95', round(metriques_centile(d.idx, d.n, metriques_bornes('duree'), 0.95,
                                           t.duree_max / 1000.0)::numeric, 1),
            'p99', round(metriques_centile(d.idx, d.n, metriques_bornes('duree'), 0.99,
                                           t.duree_max / 1000.0)::numeric, 1),
            'max', round((t.duree_max / 1000.0)::numeric, 1)),
        'ecritures', t.ecritures,
        'soumissions', t.soumissions,
        'soumissions_par_jour', coalesce((SELECT jsonb_agg(jsonb_build_object('jour', jour, 'nombre', n)
                                                           ORDER BY jour) FROM jours), '[]'),
        'modifications', t.modifications,
        'retraits', t.retraits,
        'restaurations', t.restaurations,
        'file', jsonb_build_object(
            'envois_depuis_file', t.depuis_file,
            'taux_utilisation', CASE WHEN t.ecritures > 0
                                     THEN round((100.0 * t.depuis_file / t.ecritures)::numeric, 2) END,
            'longueur_moyenne', round((t.file_somme::float8 / nullif(t.file_n, 0))::numeric, 2),
            'longueur_max', t.file_max,
            'attente_moyenne_ms', round((t.attente_somme::float8 / nullif(t.attente_n, 0))::numeric, 0),
            'attente_max_ms', t.attente_max,
            'nouvelles_tentatives', t.nouvelles_tentatives),
        'hors_ligne', t.hors_ligne,
        'sauvegarde_auto_p95_ms', round(metriques_centile(a.idx, a.n, metriques_bornes('autosave'),
                                                          0.95, NULL)::numeric, 2),
        'erreurs', coalesce((SELECT jsonb_agg(jsonb_build_object('statut', status, 'adresse', endpoint,
                                                                 'nombre', n) ORDER BY n DESC, status, endpoint)
                             FROM erreurs), '[]'),
        'envois_jamais_aboutis', (SELECT n FROM perdus),
        'serie', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       't', g.t,
                       'requetes', coalesce(s.requetes, 0),
                       'echecs', coalesce(s.echecs, 0),
                       'temps_moyen_ms', round(s.temps_moyen::numeric, 1),
                       'temps_p95_ms', round(metriques_centile(sh.idx, sh.n, metriques_bornes('duree'),
                                                               0.95, s.temps_max)::numeric, 1),
                       'file_moyenne', round(s.file_moyenne::numeric, 2),
                       'file_max', s.file_max) ORDER BY g.t)
            FROM grille g
            LEFT JOIN series s ON s.t = g.t
            LEFT JOIN series_hist sh ON sh.t = g.t), '[]'))
    INTO v
    FROM t
    LEFT JOIN hd d ON d.kind = 'duree'
    LEFT JOIN hd a ON a.kind = 'autosave';
    RETURN v;
END
$$;

-- metriques_ingerer : celle de 0007 ; une ligne de la file durable porte l'empreinte en
-- hexadécimal (idempotency_key_sha256), que le programme a vérifiée ou calculée (une ligne
-- écrite avant cette migration porte la clé en clair : seule son empreinte entre ici).
-- Ingestion de la file durable : p_lignes est un tableau JSON de lignes déjà vérifiées par le
-- programme. Les lignes déjà ingérées (même spool_id) sont ignorées ; les heures complétées
-- seront agrégées de nouveau. Rend le nombre de lignes ajoutées.
CREATE OR REPLACE FUNCTION metriques_ingerer(p_lignes jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
BEGIN
    WITH l AS (
        SELECT * FROM jsonb_to_recordset(p_lignes) AS x(
            id text, t float8, endpoint text, method text, status smallint, duration_us integer,
            from_queue boolean, queued_ms integer, queue_length integer, attempt integer,
            autosave_ms real, idempotency_key_sha256 text)
    ),
    ins AS (
        INSERT INTO request_metrics (created_at, endpoint, method, status, duration_us,
                                     from_queue, queued_ms, queue_length, attempt, autosave_ms,
                                     idempotency_key_sha256, spool_id)
        SELECT to_timestamp(t), endpoint, method, status, duration_us, from_queue, queued_ms,
               queue_length, attempt, autosave_ms, decode(idempotency_key_sha256, 'hex'), id
        FROM l
        ON CONFLICT (spool_id) WHERE spool_id IS NOT NULL DO NOTHING
        RETURNING created_at
    ),
    heures AS (
        DELETE FROM request_metrics_hours_done
        WHERE bucket IN (SELECT DISTINCT date_trunc('hour', created_at) FROM ins)
    ),
    agregats AS (
        DELETE FROM request_metrics_hourly
        WHERE bucket IN (SELECT DISTINCT date_trunc('hour', created_at) FROM ins)
    ),
    erreurs AS (
        DELETE FROM request_metrics_hourly_errors
        WHERE bucket IN (SELECT DISTINCT date_trunc('hour', created_at) FROM ins)
    ),
    histogrammes AS (
        DELETE FROM request_metrics_hourly_hist
        WHERE bucket IN (SELECT DISTINCT date_trunc('hour', created_at) FROM ins)
    )
    SELECT count(*) INTO v_n FROM ins;
    RETURN v_n;
END
$$;
