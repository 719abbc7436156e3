-- pgbench script: the database work of one POST /api/submit, statement by statement, as
-- fiable-submit sends it (cgi-bin/submit.c, the first campaign, mail configured, no
-- invitation). The SQL is the text of lib/statements.c; only the parameters differ: pgbench
-- variables, and expressions where the program sends a value it computed in C (hashes in
-- hex). Every INSERT goes through the same triggers as the app's (audit chain, slot counts,
-- campaign phase, form notifications). Run by submit_bench.sh with
--   pgbench -n -M prepared -D slots='["id1","id2"]' -f submit_tx.sql CONNINFO
-- The campaign's slug is '' (no member "campagne": the first campaign) written in the text:
-- pgbench cannot pass an empty variable. The app's custom plans fold the same CASE.
-- Keep it in step with the statements it names: a change of lib/statements.c or of the
-- program's sequence of statements is a change of this file.
\set n random(1, 1000000000000)

-- Before the transaction (db_query, autocommit):
-- submit_campaign_named() -> campaign_id_of(): STMT_CAMPAIGN_ID ("campagne" absent: '').
SELECT c.id, c.etat FROM campagnes AS c WHERE (CASE WHEN '' = '' THEN c.id = campagne_par_defaut() ELSE c.slug = '' END) \gset camp_
-- respond_validate_submission_in() -> submission_check_slots(): STMT_UNKNOWN_SLOTS_IN.
SELECT x FROM jsonb_array_elements_text(:slots::jsonb) AS x WHERE NOT EXISTS (SELECT 1 FROM creneaux c WHERE c.id = x AND c.campagne_id = coalesce(:camp_id::bigint, campagne_par_defaut()) AND c.retire_at IS NULL);

-- store() in cgi-bin/submit.c:
-- write_tx_begin() -> db_begin().
BEGIN;
-- write_tx_begin() -> idempotency_claim(): STMT_IDEMPOTENCY_CLAIM (the key's SHA-256,
-- the scope "POST /api/submit", the body's SHA-256).
INSERT INTO idempotency_keys (key_sha256, endpoint, payload_sha256) VALUES (decode(encode(sha256(convert_to('cle-' || :client_id || '-' || :n, 'UTF8')), 'hex'), 'hex'), 'POST /api/submit', decode(encode(sha256(convert_to('corps-' || :n, 'UTF8')), 'hex'), 'hex')) ON CONFLICT (key_sha256) DO NOTHING RETURNING 1;
-- campaign_for_answer(): STMT_CAMPAIGN_FOR_ANSWER (the campaign locked FOR SHARE, its phase).
SELECT c.id, c.slug, c.titre, c.fuseau, c.etat, c.acces, campagne_phase(c.id) AS phase, to_char(c.ouverture AT TIME ZONE c.fuseau, 'DD/MM/YYYY "à" HH24" h "MI') AS ouvre_le, to_char(c.fermeture AT TIME ZONE c.fuseau, 'DD/MM/YYYY "à" HH24" h "MI') AS ferme_le FROM campagnes AS c WHERE (CASE WHEN '' = '' THEN c.id = campagne_par_defaut() ELSE c.slug = '' END) FOR SHARE;
-- submission_insert() -> email_lock(): STMT_SUBMISSION_EMAIL_LOCK.
SELECT pg_advisory_xact_lock(7310, hashtext(lower('pgb-' || :client_id || '-' || :n || '@example.org')));
-- submission_insert(): STMT_SUBMISSION_INSERT_IN (the edit token's SHA-256 in hex; the
-- format of created_at with dots for colons: pgbench would read ":MI" as a variable).
INSERT INTO soumissions_disponibilites (email, nom, creneaux, commentaire, edit_token_hash, campagne_id) VALUES ('pgb-' || :client_id || '-' || :n || '@example.org', 'Banc d''essai', :slots::jsonb, 'pgbench', decode(encode(sha256(convert_to('jeton-' || :n, 'UTF8')), 'hex'), 'hex'), :camp_id::bigint) ON CONFLICT (campagne_id, lower(email)) WHERE deleted_at IS NULL DO NOTHING RETURNING id, version, en_retard, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24.MI.SS.US"Z"') AS created_at \gset
-- queue_receipt() -> flag_enabled_in_tx(): STMT_FLAG_ENABLED.
SELECT enabled FROM feature_flags WHERE name = 'email_links';
-- queue_receipt() -> outbox_enqueue(): STMT_OUTBOX_ENQUEUE (a receipt of the size the
-- program writes for two slots, about 700 bytes; no extra headers).
WITH m AS (INSERT INTO mail_outbox (kind, recipient, subject, body, submission_id, headers) VALUES ('receipt', 'pgb-' || :client_id || '-' || :n || '@example.org', 'Votre réponse est enregistrée', repeat('Bonjour, votre réponse est enregistrée. ', 17), :id::bigint, NULL) RETURNING id) SELECT id, pg_notify('fiable_outbox', id::text) FROM m;
-- write_tx_commit() -> metrics_record(): STMT_METRIC_RECORD_CLIENT (no Fiable-Client
-- header: the client facts are NULL; the key's hash).
INSERT INTO request_metrics (endpoint, method, status, duration_us, from_queue, queued_ms, queue_length, attempt, autosave_ms, idempotency_key_sha256) VALUES ('/api/submit', 'POST', (201)::smallint, (1000)::integer, NULL::boolean, NULL::integer, NULL::integer, NULL::integer, NULL::real, decode(encode(sha256(convert_to('cle-' || :client_id || '-' || :n, 'UTF8')), 'hex'), 'hex'));
-- write_tx_commit() -> idempotency_store(): STMT_IDEMPOTENCY_STORE (the representation
-- stored for replays, about 250 bytes).
UPDATE idempotency_keys SET status_code = (201)::smallint, response_body = '{"id":' || :id || ',"version":1,"email":"pgb@example.org","nom":"Banc d''essai","creneaux":' || :slots || ',"commentaire":"pgbench","created_at":"' || :created_at || '"}', submission_id = :id::bigint WHERE key_sha256 = decode(encode(sha256(convert_to('cle-' || :client_id || '-' || :n, 'UTF8')), 'hex'), 'hex');
-- write_tx_commit() -> audit_append_commit() -> db_exec_commit(): STMT_AUDIT_APPEND and
-- COMMIT sent together in one pipeline (one round trip).
\startpipeline
INSERT INTO audit_logs (action, entity, entity_id, actor, client_addr, user_agent, request_id, details) VALUES ('submission.create', 'soumissions_disponibilites', :id, 'pgb-' || :client_id || '-' || :n || '@example.org', '127.0.0.1', 'pgbench', 'banc', ('{"version":1,"idempotency_key_sha256":"' || encode(sha256(convert_to('cle-' || :client_id || '-' || :n, 'UTF8')), 'hex') || '","creneaux":2}')::jsonb);
COMMIT;
\endpipeline
