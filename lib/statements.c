#include "statements.h"

/* All parameters are passed separately (text format); nothing is ever spliced into SQL. */
static const struct stmt_def stmts[STMT__MAX] = {
	[STMT_PING] = { "ping", "SELECT 1", 0 },

	/* $1: jsonb array of slot ids. Returns the ids absent from the catalogue. */
	[STMT_UNKNOWN_SLOTS] = { "unknown_slots",
	    "SELECT x FROM jsonb_array_elements_text($1::jsonb) AS x "
	    "WHERE NOT EXISTS (SELECT 1 FROM creneaux c WHERE c.id = x)", 1 },

	/* Claims a key for this transaction; waits for a concurrent holder, then returns
	 * no row if the key is taken. $1 key, $2 endpoint, $3 payload sha256 (hex bytea). */
	[STMT_IDEMPOTENCY_CLAIM] = { "idempotency_claim",
	    "INSERT INTO idempotency_keys (key, endpoint, payload_sha256) "
	    "VALUES ($1::uuid, $2, decode($3, 'hex')) ON CONFLICT (key) DO NOTHING RETURNING key", 3 },
	[STMT_IDEMPOTENCY_LOOKUP] = { "idempotency_lookup",
	    "SELECT endpoint, encode(payload_sha256, 'hex'), status_code, response_body "
	    "FROM idempotency_keys WHERE key = $1::uuid", 1 },
	/* $1 key, $2 status, $3 response body (never holding a secret), $4 submission id. */
	[STMT_IDEMPOTENCY_STORE] = { "idempotency_store",
	    "UPDATE idempotency_keys SET status_code = $2::smallint, response_body = $3, "
	    "submission_id = $4::bigint WHERE key = $1::uuid", 4 },

	/* $1 email, $2 nom, $3 creneaux (jsonb), $4 commentaire, $5 sha256 of the edit token (hex). */
	[STMT_SUBMISSION_INSERT] = { "submission_insert",
	    "INSERT INTO soumissions_disponibilites (email, nom, creneaux, commentaire, edit_token_hash) "
	    "VALUES ($1, $2, $3::jsonb, $4, decode($5, 'hex')) "
	    "RETURNING id, version, "
	    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", 5 },

	/* $1 action, $2 entity, $3 entity id, $4 actor, $5 client address, $6 user agent,
	 * $7 request id, $8 details (jsonb). */
	[STMT_AUDIT_APPEND] = { "audit_append",
	    "INSERT INTO audit_logs (action, entity, entity_id, actor, client_addr, user_agent, "
	    "request_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)", 8 },

	/* $1 endpoint, $2 method, $3 status, $4 duration in microseconds. */
	[STMT_METRIC_RECORD] = { "metric_record",
	    "INSERT INTO request_metrics (endpoint, method, status, duration_us) "
	    "VALUES ($1, $2, $3::smallint, $4::integer)", 4 },

	/* $1 time zone. Slots in order, with their day in the institution's zone. */
	[STMT_FORM_SLOTS] = { "form_slots",
	    "SELECT id, to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	    "to_char(ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), label, "
	    "to_char(starts_at AT TIME ZONE $1, 'YYYY-MM-DD') "
	    "FROM creneaux ORDER BY starts_at, id", 1 },
	[STMT_FORM_FLAGS] = { "form_flags",
	    "SELECT name, enabled FROM feature_flags ORDER BY name", 0 },
	[STMT_TIMEZONE_CHECK] = { "timezone_check",
	    "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1 },
};

const struct stmt_def *
stmt_get(enum stmt s)
{
	return &stmts[s];
}
