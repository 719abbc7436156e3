-- 0007 — Métriques, administration et alertes.
-- Idempotente. Quatre parties :
--   1. les faits rapportés par le formulaire (en-tête Fiable-Client) et la clé d'idempotence
--      de chaque écriture, à côté de chaque requête mesurée ; l'identifiant des lignes venues
--      de la file durable (spool) des pannes de la base, pour les ingérer une seule fois ;
--   2. des agrégats horaires (une heure « finie » est agrégée une fois, puis lue à sa place),
--      pour que la requête la plus lente reste sous 100 ms avec un million de requêtes ;
--   3. les fonctions qui calculent les indicateurs d'une fenêtre (metriques_resume) ;
--   4. l'état des alertes et leur journal (cron/fiable-check-alerts).

-- 1. Faits du client --------------------------------------------------------------------------

ALTER TABLE request_metrics
    ADD COLUMN IF NOT EXISTS from_queue      boolean,
    ADD COLUMN IF NOT EXISTS queued_ms       integer CHECK (queued_ms >= 0),
    ADD COLUMN IF NOT EXISTS queue_length    integer CHECK (queue_length >= 0),
    ADD COLUMN IF NOT EXISTS attempt         integer CHECK (attempt >= 1),
    ADD COLUMN IF NOT EXISTS autosave_ms     real    CHECK (autosave_ms >= 0),
    ADD COLUMN IF NOT EXISTS idempotency_key uuid,
    ADD COLUMN IF NOT EXISTS spool_id        text    CHECK (spool_id ~ '^[0-9a-f]{32}$');

-- Une ligne de la file durable n'est ingérée qu'une fois, même si l'ingestion est rejouée.
CREATE UNIQUE INDEX IF NOT EXISTS request_metrics_spool_id_uniq
    ON request_metrics (spool_id) WHERE spool_id IS NOT NULL;
-- Les écritures en échec sont rares : un index partiel (qui porte leur clé, pour une lecture
-- sans la table) les retrouve (envois jamais aboutis) sans parcourir les autres requêtes.
CREATE INDEX IF NOT EXISTS request_metrics_failed_writes_idx
    ON request_metrics (created_at) INCLUDE (idempotency_key)
    WHERE status >= 500 AND idempotency_key IS NOT NULL;

-- 2. Agrégats horaires ------------------------------------------------------------------------

-- Une ligne par heure : ce que les indicateurs additionnent. Ce qui est compté (une
-- soumission, une modification...) est défini une seule fois, dans metriques_agreger_brut().
CREATE TABLE IF NOT EXISTS request_metrics_hourly (
    bucket           timestamptz PRIMARY KEY,
    requests         bigint      NOT NULL,
    failures         bigint      NOT NULL,   -- 5xx
    client_errors    bigint      NOT NULL,   -- 4xx
    duration_us_sum  bigint      NOT NULL,
    duration_us_max  integer,
    writes           bigint      NOT NULL,   -- POST, PUT, DELETE
    from_queue       bigint      NOT NULL,   -- écritures envoyées depuis la file du navigateur
    offline_ok       bigint      NOT NULL,   -- ... et abouties (2xx)
    retried          bigint      NOT NULL,   -- attempt > 1
    queue_reports    bigint      NOT NULL,   -- requêtes qui rapportent queue_length
    queue_length_sum bigint      NOT NULL,
    queue_length_max integer,
    queued_reports   bigint      NOT NULL,   -- requêtes qui rapportent queued_ms
    queued_ms_sum    bigint      NOT NULL,
    queued_ms_max    integer,
    submissions      bigint      NOT NULL,
    modifications    bigint      NOT NULL,
    withdrawals      bigint      NOT NULL,
    restores         bigint      NOT NULL
);

-- Les refus et les échecs (statut >= 400) par statut et par adresse.
CREATE TABLE IF NOT EXISTS request_metrics_hourly_errors (
    bucket   timestamptz NOT NULL,
    status   smallint    NOT NULL,
    endpoint text        NOT NULL,
    n        bigint      NOT NULL,
    PRIMARY KEY (bucket, status, endpoint)
);

-- Histogrammes (durée de réponse, durée de la sauvegarde automatique) : nombre de requêtes par
-- intervalle idx de metriques_bornes(kind), pour les centiles.
CREATE TABLE IF NOT EXISTS request_metrics_hourly_hist (
    bucket timestamptz NOT NULL,
    kind   text        NOT NULL CHECK (kind IN ('duree', 'autosave')),
    idx    smallint    NOT NULL,
    n      bigint      NOT NULL,
    PRIMARY KEY (bucket, kind, idx)
);

-- Heures déjà agrégées (même vides). L'ingestion de la file durable en retire les heures
-- qu'elle complète, avec leurs agrégats : elles sont agrégées de nouveau. Ainsi une heure a
-- des agrégats si et seulement si elle est inscrite ici.
CREATE TABLE IF NOT EXISTS request_metrics_hours_done (
    bucket    timestamptz PRIMARY KEY,
    rolled_at timestamptz NOT NULL DEFAULT now()
);

-- Bornes inférieures des intervalles des histogrammes, en millisecondes : l'intervalle k
-- (width_bucket) va de bornes[k] à bornes[k + 1] ; 0 est sous la première borne. 2000 et 5000
-- sont des bornes : la part des réponses sous les objectifs de docs/plan-de-deploiement.md est exacte.
CREATE OR REPLACE FUNCTION metriques_bornes(p_kind text) RETURNS float8[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind
        WHEN 'duree' THEN '{1,2,5,10,25,50,100,250,500,1000,2000,5000,10000}'::float8[]
        ELSE '{1,2,5,10,20,50,100,200,500,1000}'::float8[]
    END
$$;

-- Les requêtes brutes de [p_lo, p_hi), agrégées par heure comme request_metrics_hourly.
CREATE OR REPLACE FUNCTION metriques_agreger_brut(p_lo timestamptz, p_hi timestamptz)
RETURNS SETOF request_metrics_hourly
LANGUAGE sql STABLE AS $$
    SELECT date_trunc('hour', created_at),
           count(*),
           count(*) FILTER (WHERE status >= 500),
           count(*) FILTER (WHERE status BETWEEN 400 AND 499),
           coalesce(sum(duration_us), 0), max(duration_us),
           count(*) FILTER (WHERE method IN ('POST', 'PUT', 'DELETE')),
           count(*) FILTER (WHERE method IN ('POST', 'PUT', 'DELETE') AND from_queue),
           count(*) FILTER (WHERE method IN ('POST', 'PUT', 'DELETE') AND from_queue
                            AND status BETWEEN 200 AND 299),
           count(*) FILTER (WHERE attempt > 1),
           count(queue_length), coalesce(sum(queue_length), 0), max(queue_length),
           count(queued_ms), coalesce(sum(queued_ms), 0), max(queued_ms),
           count(*) FILTER (WHERE endpoint = '/api/submit' AND method = 'POST' AND status = 201),
           count(*) FILTER (WHERE endpoint = '/api/modify' AND method = 'PUT' AND status = 200),
           count(*) FILTER (WHERE endpoint = '/api/modify' AND method = 'DELETE' AND status = 200),
           count(*) FILTER (WHERE endpoint IN ('/api/restore', '/api/admin/restore')
                            AND method = 'POST' AND status = 200)
    FROM request_metrics
    WHERE created_at >= p_lo AND created_at < p_hi
    GROUP BY 1
$$;

CREATE OR REPLACE FUNCTION metriques_erreurs_brut(p_lo timestamptz, p_hi timestamptz)
RETURNS SETOF request_metrics_hourly_errors
LANGUAGE sql STABLE AS $$
    SELECT date_trunc('hour', created_at), status, endpoint, count(*)
    FROM request_metrics
    WHERE created_at >= p_lo AND created_at < p_hi AND status >= 400
    GROUP BY 1, 2, 3
$$;

CREATE OR REPLACE FUNCTION metriques_hist_brut(p_lo timestamptz, p_hi timestamptz)
RETURNS SETOF request_metrics_hourly_hist
LANGUAGE sql STABLE AS $$
    SELECT date_trunc('hour', created_at), 'duree'::text,
           width_bucket(duration_us / 1000.0::float8, metriques_bornes('duree'))::smallint,
           count(*)
    FROM request_metrics
    WHERE created_at >= p_lo AND created_at < p_hi
    GROUP BY 1, 3
    UNION ALL
    SELECT date_trunc('hour', created_at), 'autosave'::text,
           width_bucket(autosave_ms::float8, metriques_bornes('autosave'))::smallint, count(*)
    FROM request_metrics
    WHERE created_at >= p_lo AND created_at < p_hi AND autosave_ms IS NOT NULL
    GROUP BY 1, 3
$$;

-- Première heure pas encore finie : une heure est finie cinq minutes après sa fin (une
-- transaction date ses lignes de son début ; les nôtres durent quelques millisecondes).
CREATE OR REPLACE FUNCTION metriques_heure_ouverte() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT date_trunc('hour', now() - interval '5 minutes')
$$;

-- Agrège les heures finies des 32 derniers jours qui ne le sont pas encore. Un seul agrégateur
-- à la fois (verrou consultatif de transaction) ; rend le nombre d'heures agrégées.
CREATE OR REPLACE FUNCTION metriques_agreger() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_heure timestamptz;
    v_n integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('fiable.metriques_agreger'));
    FOR v_heure IN
        SELECT h FROM generate_series(date_trunc('hour', now() - interval '32 days'),
                                      metriques_heure_ouverte() - interval '1 hour',
                                      interval '1 hour') AS h
        WHERE NOT EXISTS (SELECT 1 FROM request_metrics_hours_done d WHERE d.bucket = h)
    LOOP
        DELETE FROM request_metrics_hourly WHERE bucket = v_heure;
        DELETE FROM request_metrics_hourly_errors WHERE bucket = v_heure;
        DELETE FROM request_metrics_hourly_hist WHERE bucket = v_heure;
        INSERT INTO request_metrics_hourly
            SELECT * FROM metriques_agreger_brut(v_heure, v_heure + interval '1 hour');
        INSERT INTO request_metrics_hourly_errors
            SELECT * FROM metriques_erreurs_brut(v_heure, v_heure + interval '1 hour');
        INSERT INTO request_metrics_hourly_hist
            SELECT * FROM metriques_hist_brut(v_heure, v_heure + interval '1 hour');
        INSERT INTO request_metrics_hours_done (bucket) VALUES (v_heure);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END
$$;

-- Plages de [p_debut, p_fin) à lire dans les requêtes brutes : les bords qui ne sont pas des
-- heures entières, l'heure ouverte, et les heures finies pas (ou plus) agrégées.
CREATE OR REPLACE FUNCTION metriques_plages_brutes(p_debut timestamptz, p_fin timestamptz)
RETURNS TABLE (lo timestamptz, hi timestamptz)
LANGUAGE sql STABLE AS $$
    WITH b AS (
        SELECT date_trunc('hour', p_debut)
                   + CASE WHEN date_trunc('hour', p_debut) = p_debut THEN interval '0'
                          ELSE interval '1 hour' END AS heure_lo,
               least(metriques_heure_ouverte(), date_trunc('hour', p_fin)) AS fin_agregee
    )
    SELECT p.lo, p.hi FROM b, LATERAL (
        SELECT p_debut AS lo, least(b.heure_lo, p_fin) AS hi
        UNION ALL
        SELECT greatest(b.fin_agregee, b.heure_lo, p_debut), p_fin
        UNION ALL
        SELECT h, h + interval '1 hour'
        FROM generate_series(b.heure_lo, b.fin_agregee - interval '1 hour', interval '1 hour') AS h
        WHERE NOT EXISTS (SELECT 1 FROM request_metrics_hours_done d WHERE d.bucket = h)
    ) AS p
    WHERE p.lo < p.hi
$$;

-- Toutes les requêtes de [p_debut, p_fin), agrégées par heure : les heures agrégées, plus
-- les plages brutes.
CREATE OR REPLACE FUNCTION metriques_lignes(p_debut timestamptz, p_fin timestamptz)
RETURNS SETOF request_metrics_hourly
LANGUAGE sql STABLE AS $$
    SELECT h.* FROM request_metrics_hourly h
    WHERE h.bucket >= p_debut AND h.bucket <= p_fin - interval '1 hour'
      AND h.bucket < metriques_heure_ouverte()
    UNION ALL
    SELECT a.* FROM metriques_plages_brutes(p_debut, p_fin) AS r,
                    LATERAL metriques_agreger_brut(r.lo, r.hi) AS a
$$;

CREATE OR REPLACE FUNCTION metriques_erreurs(p_debut timestamptz, p_fin timestamptz)
RETURNS SETOF request_metrics_hourly_errors
LANGUAGE sql STABLE AS $$
    SELECT h.* FROM request_metrics_hourly_errors h
    WHERE h.bucket >= p_debut AND h.bucket <= p_fin - interval '1 hour'
      AND h.bucket < metriques_heure_ouverte()
    UNION ALL
    SELECT a.* FROM metriques_plages_brutes(p_debut, p_fin) AS r,
                    LATERAL metriques_erreurs_brut(r.lo, r.hi) AS a
$$;

CREATE OR REPLACE FUNCTION metriques_hist(p_debut timestamptz, p_fin timestamptz)
RETURNS SETOF request_metrics_hourly_hist
LANGUAGE sql STABLE AS $$
    SELECT h.* FROM request_metrics_hourly_hist h
    WHERE h.bucket >= p_debut AND h.bucket <= p_fin - interval '1 hour'
      AND h.bucket < metriques_heure_ouverte()
    UNION ALL
    SELECT a.* FROM metriques_plages_brutes(p_debut, p_fin) AS r,
                    LATERAL metriques_hist_brut(r.lo, r.hi) AS a
$$;

-- Centile p_q (0..1) d'un histogramme (intervalles p_idx triés, effectifs p_n), par
-- interpolation linéaire dans l'intervalle qui le contient ; p_max borne le dernier.
CREATE OR REPLACE FUNCTION metriques_centile(p_idx smallint[], p_n bigint[], p_bornes float8[],
                                             p_q float8, p_max float8)
RETURNS float8
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_total float8 := 0;
    v_cumul float8 := 0;
    v_rang float8;
    v_lo float8;
    v_hi float8;
    v_k integer;
    i integer;
BEGIN
    IF p_idx IS NULL THEN
        RETURN NULL;
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_n, 1), 0) LOOP
        v_total := v_total + p_n[i];
    END LOOP;
    IF v_total = 0 THEN
        RETURN NULL;
    END IF;
    v_rang := p_q * v_total;
    FOR i IN 1 .. array_length(p_idx, 1) LOOP
        IF v_cumul + p_n[i] >= v_rang AND p_n[i] > 0 THEN
            v_k := p_idx[i];
            v_lo := CASE WHEN v_k = 0 THEN 0 ELSE p_bornes[v_k] END;
            IF v_k >= array_length(p_bornes, 1) THEN
                v_hi := greatest(coalesce(p_max, v_lo * 2), v_lo);
            ELSE
                v_hi := p_bornes[v_k + 1];
            END IF;
            IF p_max IS NOT NULL THEN
                v_hi := least(v_hi, greatest(p_max, v_lo));
            END IF;
            RETURN v_lo + (v_hi - v_lo) * (v_rang - v_cumul) / p_n[i];
        END IF;
        v_cumul := v_cumul + p_n[i];
    END LOOP;
    RETURN p_max;
END
$$;

-- 3. Indicateurs d'une fenêtre ----------------------------------------------------------------

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
        SELECT count(DISTINCT m.idempotency_key) AS n
        FROM request_metrics m
        WHERE m.status >= 500 AND m.created_at >= p_debut AND m.created_at < p_fin
          AND m.created_at < now() - interval '1 hour' AND m.idempotency_key IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM idempotency_keys k
                          WHERE k.key = m.idempotency_key AND k.status_code IS NOT NULL)
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

-- Les sauvegardes : la dernière réussie (âge, taille), la dernière tentée, les dix dernières.
CREATE OR REPLACE FUNCTION metriques_sauvegardes() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'derniere_reussie', (
            SELECT jsonb_build_object(
                'fin', finished_at,
                'age_heures', round((extract(epoch FROM now() - finished_at) / 3600)::numeric, 2),
                'taille_octets', size_bytes, 'destination', destination)
            FROM backup_metadata
            WHERE status = 'success' AND finished_at IS NOT NULL AND deleted_at IS NULL
            ORDER BY finished_at DESC LIMIT 1),
        'recentes', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'debut', started_at, 'fin', finished_at, 'statut', status,
                       'taille_octets', size_bytes, 'destination', destination,
                       'erreur', error) ORDER BY started_at DESC)
            FROM (SELECT * FROM backup_metadata ORDER BY started_at DESC LIMIT 10) AS b), '[]'))
$$;

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
            autosave_ms real, idempotency_key uuid)
    ),
    ins AS (
        INSERT INTO request_metrics (created_at, endpoint, method, status, duration_us,
                                     from_queue, queued_ms, queue_length, attempt, autosave_ms,
                                     idempotency_key, spool_id)
        SELECT to_timestamp(t), endpoint, method, status, duration_us, from_queue, queued_ms,
               queue_length, attempt, autosave_ms, idempotency_key, id
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

-- 4. Alertes ----------------------------------------------------------------------------------

-- Une ligne par règle : déclenchée ou non, depuis quand, dernière valeur mesurée.
CREATE TABLE IF NOT EXISTS alert_states (
    rule       text        PRIMARY KEY CHECK (rule ~ '^[a-z0-9_]{1,64}$'),
    title      text        NOT NULL,
    firing     boolean     NOT NULL,
    since      timestamptz NOT NULL DEFAULT now(),
    value      double precision,
    threshold  double precision,
    checked_at timestamptz NOT NULL DEFAULT now()
);

-- Chaque déclenchement et chaque retour à la normale, avec l'état de son courriel (envoyé une
-- fois ; réessayé au passage suivant du cron s'il a échoué).
CREATE TABLE IF NOT EXISTS alert_events (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now(),
    rule          text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('firing', 'resolved')),
    title         text        NOT NULL,
    value         double precision,
    threshold     double precision,
    message       text        NOT NULL,
    mail_status   text        NOT NULL DEFAULT 'pending'
                              CHECK (mail_status IN ('pending', 'sent', 'failed', 'none')),
    mail_attempts integer     NOT NULL DEFAULT 0,
    mail_error    text,
    sent_at       timestamptz
);
CREATE INDEX IF NOT EXISTS alert_events_created_at_idx ON alert_events (created_at);
CREATE INDEX IF NOT EXISTS alert_events_pending_idx ON alert_events (id)
    WHERE mail_status = 'pending';

-- Droits ----------------------------------------------------------------------------------

REVOKE ALL ON request_metrics_hourly, request_metrics_hourly_errors, request_metrics_hourly_hist,
              request_metrics_hours_done, alert_states, alert_events FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON request_metrics_hourly, request_metrics_hourly_errors,
                                request_metrics_hourly_hist, request_metrics_hours_done
      TO fiable_app;
GRANT SELECT, INSERT, UPDATE ON alert_states, alert_events TO fiable_app;
-- fiable-health vérifie que les migrations sont à jour (la table est créée par scripts/migrate).
DO $$
BEGIN
    IF to_regclass('schema_migrations') IS NOT NULL THEN
        GRANT SELECT ON schema_migrations TO fiable_app;
    END IF;
END
$$;
