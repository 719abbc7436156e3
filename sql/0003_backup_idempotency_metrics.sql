-- 0003 — Métadonnées de sauvegarde, clés d'idempotence et métriques des requêtes.
-- Idempotente.

CREATE TABLE IF NOT EXISTS backup_metadata (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    status        text        NOT NULL DEFAULT 'running'
                              CHECK (status IN ('running', 'success', 'failed')),
    destination   text,
    object_key    text,
    size_bytes    bigint      CHECK (size_bytes >= 0),
    row_counts    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    sha256        text        CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    error         text,
    deleted_at    timestamptz
);
CREATE INDEX IF NOT EXISTS backup_metadata_started_at_idx ON backup_metadata (started_at);

-- Une clé par requête d'écriture : réponse rejouée à l'identique, ou 422 si la charge diffère.
-- Seules les réponses de succès sont conservées ; le corps stocké ne contient jamais
-- de jeton de modification (il est recalculé à la relecture).
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key            uuid        PRIMARY KEY,
    endpoint       text        NOT NULL,
    payload_sha256 bytea       NOT NULL CHECK (octet_length(payload_sha256) = 32),
    status_code    smallint,
    response_body  text,
    submission_id  bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL DEFAULT now() + interval '30 days'
);
CREATE INDEX IF NOT EXISTS idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

CREATE TABLE IF NOT EXISTS request_metrics (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    endpoint    text        NOT NULL,
    method      text        NOT NULL,
    status      smallint    NOT NULL,
    duration_us integer     NOT NULL CHECK (duration_us >= 0)
);
CREATE INDEX IF NOT EXISTS request_metrics_created_at_idx ON request_metrics (created_at);
