#include "statements.h"

/* The public description of a submission, in the order submission_row_json() reads it. */
#define SUBMISSION_COLUMNS \
	"id, email, nom, creneaux::text, commentaire, version, " \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), " \
	"to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), " \
	"to_char(deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), " \
	"historique_modifications::text"
/* What a writer needs of the row it locks. */
#define LOCK_COLUMNS "id, version, deleted_at IS NOT NULL, encode(edit_token_hash, 'hex'), email, nom"

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

	[STMT_SUBMISSION_BY_ID] = { "submission_by_id",
	    "SELECT " SUBMISSION_COLUMNS " FROM soumissions_disponibilites WHERE id = $1::bigint", 1 },
	/* $1: sha256 of the presented token (hex); the row is locked until the end of the
	 * transaction, so concurrent writers with the same If-Match see each other. */
	[STMT_SUBMISSION_LOCK_BY_TOKEN] = { "submission_lock_by_token",
	    "SELECT " LOCK_COLUMNS " FROM soumissions_disponibilites "
	    "WHERE edit_token_hash = decode($1, 'hex') FOR UPDATE", 1 },
	[STMT_SUBMISSION_LOCK_BY_ID] = { "submission_lock_by_id",
	    "SELECT " LOCK_COLUMNS " FROM soumissions_disponibilites "
	    "WHERE id = $1::bigint FOR UPDATE", 1 },
	/* The triggers bump the version and record the history. */
	[STMT_SUBMISSION_UPDATE] = { "submission_update",
	    "UPDATE soumissions_disponibilites SET email = $2, nom = $3, creneaux = $4::jsonb, "
	    "commentaire = $5 WHERE id = $1::bigint RETURNING version", 5 },
	[STMT_SUBMISSION_WITHDRAW] = { "submission_withdraw",
	    "UPDATE soumissions_disponibilites SET deleted_at = now() "
	    "WHERE id = $1::bigint AND deleted_at IS NULL RETURNING version", 1 },
	[STMT_SUBMISSION_UNDELETE] = { "submission_undelete",
	    "UPDATE soumissions_disponibilites SET deleted_at = NULL "
	    "WHERE id = $1::bigint AND deleted_at IS NOT NULL RETURNING version", 1 },
	[STMT_SUBMISSION_CONTENT_AT] = { "submission_content_at",
	    "SELECT soumission_contenu_a_la_version($1::bigint, $2::integer)::text", 2 },
	[STMT_SUBMISSION_ACTIVE_BY_EMAIL] = { "submission_active_by_email",
	    "SELECT id, nom FROM soumissions_disponibilites "
	    "WHERE lower(email) = lower($1) AND deleted_at IS NULL FOR UPDATE", 1 },
	/* A new token: no tracked field changes, so no new version. */
	[STMT_SUBMISSION_SET_TOKEN] = { "submission_set_token",
	    "UPDATE soumissions_disponibilites SET edit_token_hash = decode($2, 'hex') "
	    "WHERE id = $1::bigint", 2 },
	/* $1 lowercased e-mail, $2 client address: requests of the last hour for each. */
	[STMT_LINK_RECENT] = { "link_recent",
	    "SELECT count(*) FILTER (WHERE email_lower = $1), count(*) FILTER (WHERE client_addr = $2) "
	    "FROM modify_link_requests WHERE created_at > now() - interval '1 hour' "
	    "AND (email_lower = $1 OR client_addr = $2)", 2 },
	[STMT_LINK_RECORD] = { "link_record",
	    "INSERT INTO modify_link_requests (email_lower, client_addr) VALUES ($1, $2)", 2 },

	/* $1 kind, $2 recipient, $3 subject, $4 body, $5 submission id (may be NULL). */
	[STMT_OUTBOX_ENQUEUE] = { "outbox_enqueue",
	    "INSERT INTO mail_outbox (kind, recipient, subject, body, submission_id) "
	    "VALUES ($1, $2, $3, $4, $5::bigint) RETURNING id", 5 },
	/* $1 one id, or 0 for any due message; $2 how many. Locked rows are skipped, so two
	 * deliverers never send the same message. Use inside a transaction. */
	[STMT_OUTBOX_DUE] = { "outbox_due",
	    "SELECT id, recipient, subject, body, attempts FROM mail_outbox "
	    "WHERE status = 'pending' AND next_attempt_at <= now() "
	    "AND ($1::bigint = 0 OR id = $1::bigint) ORDER BY id LIMIT $2::integer "
	    "FOR UPDATE SKIP LOCKED", 2 },
	[STMT_OUTBOX_SENT] = { "outbox_sent",
	    "UPDATE mail_outbox SET status = 'sent', sent_at = now(), body = NULL, "
	    "attempts = attempts + 1, last_error = NULL WHERE id = $1::bigint", 1 },
	/* $2 error text, $3 seconds before the next attempt. */
	[STMT_OUTBOX_RETRY] = { "outbox_retry",
	    "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2, "
	    "next_attempt_at = now() + make_interval(secs => $3::integer) WHERE id = $1::bigint", 3 },
	/* $1 the most worth counting: messages waiting and due now. */
	[STMT_OUTBOX_DUE_COUNT] = { "outbox_due_count",
	    "SELECT count(*) FROM (SELECT 1 FROM mail_outbox WHERE status = 'pending' "
	    "AND next_attempt_at <= now() LIMIT $1::integer) AS due", 1 },
	[STMT_OUTBOX_GIVE_UP] = { "outbox_give_up",
	    "UPDATE mail_outbox SET status = 'failed', attempts = attempts + 1, last_error = $2, "
	    "body = NULL WHERE id = $1::bigint", 2 },
	/* backups (section of issue 6) */
	/* metrics and alerts (section of issue 5) */
};

const struct stmt_def *
stmt_get(enum stmt s)
{
	return &stmts[s];
}
