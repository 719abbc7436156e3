#include "statements.h"

/* The public description of a submission, read by column name by submission_load(). Every
 * computed column is named: results are read by name (db_text), never by position. */
#define SUBMISSION_COLUMNS \
	"id, email, nom, creneaux::text AS creneaux, commentaire, version, " \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at, " \
	"to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS updated_at, " \
	"to_char(deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS deleted_at, " \
	"historique_modifications::text AS historique, en_retard, " \
	"(SELECT c.slug FROM campagnes AS c WHERE c.id = campagne_id) AS campagne"
/* What a writer needs of the row it locks. */
#define LOCK_FIELDS "id, version, deleted_at IS NOT NULL AS withdrawn, email, nom"
#define LOCK_COLUMNS LOCK_FIELDS ", encode(edit_token_hash, 'hex') AS token_hash"
/* The submission a presented token opens (h: the hex SHA-256 of the token), as (id,
 * credential: the hash that matched). Its edit token; or (issue 16) the invitation token of
 * a participant, which opens that participant's answer in the participant's campaign only,
 * matched by e-mail as the view participants_reponses (sql/0020) matches them: the active
 * answer, else the last withdrawn one (so that a withdrawal can be undone). Never another
 * person's answer, never another campaign's. */
#define TOKEN_SUBMISSION(h) \
	"(SELECT s.id, s.edit_token_hash AS credential FROM soumissions_disponibilites AS s " \
	"WHERE s.edit_token_hash = decode(" h ", 'hex') " \
	"UNION ALL (" TOKEN_PARTICIPANT_ANSWER(h, "AND s.deleted_at IS NULL") " LIMIT 1) " \
	"UNION ALL (" TOKEN_PARTICIPANT_ANSWER(h, "AND s.deleted_at IS NOT NULL") " " \
	"ORDER BY s.deleted_at DESC, s.id DESC LIMIT 1) LIMIT 1)"
/* The answers of the participant invited by token h, in its campaign (which: cond). The
 * active one is found by the index soumissions_campagne_email_active_uniq. */
#define TOKEN_PARTICIPANT_ANSWER(h, cond) \
	"SELECT s.id, p.jeton_invitation_hash FROM participants AS p " \
	"JOIN soumissions_disponibilites AS s ON s.campagne_id = p.campagne_id " \
	"AND lower(s.email) = lower(p.email) " cond " " \
	"WHERE p.jeton_invitation_hash = decode(" h ", 'hex')"
/* True when a submission other than s is active with this e-mail in s's campaign (an SQL
 * expression). */
#define ACTIVE_ELSEWHERE(email) \
	"EXISTS (SELECT 1 FROM soumissions_disponibilites AS o WHERE o.id <> s.id " \
	"AND o.campagne_id = s.campagne_id AND o.deleted_at IS NULL " \
	"AND lower(o.email) = lower(" email "))"
/* The campaign of the writers that name none yet (sql/0014): the first one. The programs
 * that will serve several campaigns pass campagne_id instead, where this is written. */
#define DEFAULT_CAMPAIGN "campagne_par_defaut()"

/* What the administration's roster (lib/roster.c) reads of a submission. */
#define ADMIN_SUBMISSION_COLUMNS \
	"SELECT id, email, nom, creneaux::text AS creneaux, commentaire, version, " \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, " \
	"to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS updated_at, " \
	"to_char(deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS deleted_at"

/* The organiser's API of campaigns. Its times are written by iso_8601(ts, zone) (sql/0015,
 * sql/0019): ISO 8601 with the offset of the campaign's zone, "2026-03-30T09:00:00+02:00"
 * (NULL stays NULL, an infinite time is "infinity"). */
/* A time of a request (checked by campaign.c: ISO 8601 with "Z" or an offset, or a local
 * time of zone tz) as a timestamptz; NULL stays NULL. */
#define TIME_IN(p, tz) \
	"CASE WHEN " p "::text IS NULL THEN NULL::timestamptz " \
	"WHEN " p "::text ~ '(Z|[+-][0-9]{2}:[0-9]{2})$' THEN " p "::text::timestamptz " \
	"ELSE (" p "::text::timestamp AT TIME ZONE " tz "::text) END"
/* What the API says of a campaign c. */
#define CAMPAIGN_COLUMNS \
	"c.id, c.slug, c.titre, c.introduction, c.fuseau, c.etat, campagne_phase(c.id) AS phase, " \
	"c.version, iso_8601(c.ouverture, c.fuseau) AS ouverture, " \
	"iso_8601(c.fermeture, c.fuseau) AS fermeture, " \
	"iso_8601(c.modification_jusqu_a, c.fuseau) AS modification_jusqu_a, " \
	"(extract(epoch FROM c.delai_grace) / 60)::integer AS delai_grace_minutes"
/* Who a reminder of campaign C writes to, the one rule (sql/0022): no answer (the view of
 * sql/0020), an invitation the mail server accepted, not unsubscribed from reminders; a
 * manual reminder (M true) also skips whoever had one in the last 12 hours (a second click
 * sends nothing). */
#define REMINDER_TARGETS(c, m) \
	"FROM participants_reponses p WHERE p.campagne_id = " c "::bigint " \
	"AND p.reponse = 'sans_reponse' AND p.statut_invitation = 'envoyee' " \
	"AND p.invited_at IS NOT NULL AND p.desinscrit_relances_at IS NULL " \
	"AND NOT (" m "::boolean AND EXISTS (SELECT 1 FROM relances_envois e " \
	"WHERE e.participant_id = p.id AND e.created_at > now() - interval '12 hours'))"
/* A campaign's time shifted by $N weeks on its local clock (a DST change keeps the hour). */
#define WEEKS_LATER(ts, weeks) \
	"(((" ts ") AT TIME ZONE c.fuseau) + make_interval(weeks => " weeks "::integer)) " \
	"AT TIME ZONE c.fuseau"
/* What the API says of a slot k of campaign c. */
/* The people available per slot of campaign c (sql/0021: counts kept at write time), as a
 * subquery (creneau_id, disponibles): the one source of every count per slot. */
#define SLOT_COUNTS(c) \
	"(SELECT creneau_id, disponibles FROM creneaux_disponibles WHERE campagne_id = " c ")"

#define SLOT_COLUMNS \
	"k.id, k.label AS libelle, iso_8601(k.starts_at, c.fuseau) AS debut, " \
	"iso_8601(k.ends_at, c.fuseau) AS fin, k.position, k.besoin"

/* All parameters are passed separately (text format); nothing is ever spliced into SQL. */
static const struct stmt_def stmts[STMT__MAX] = {
	[STMT_PING] = { "ping", "SELECT 1", 0 },

	/* $1: jsonb array of slot ids. Returns the ids absent from the campaign's form (not in
	 * its catalogue, or removed from it). */
	[STMT_UNKNOWN_SLOTS] = { "unknown_slots",
	    "SELECT x FROM jsonb_array_elements_text($1::jsonb) AS x "
	    "WHERE NOT EXISTS (SELECT 1 FROM creneaux c WHERE c.id = x "
	    "AND c.campagne_id = " DEFAULT_CAMPAIGN " AND c.retire_at IS NULL)", 1 },

	/* Idempotency keys are found by their SHA-256 only (sql/0010): $1 is always the hex
	 * SHA-256 of the normalised key, never the key. Claims a key for this transaction; waits
	 * for a concurrent holder, then returns no row if the key is taken. $2 endpoint, $3
	 * payload sha256 (hex). */
	[STMT_IDEMPOTENCY_CLAIM] = { "idempotency_claim",
	    "INSERT INTO idempotency_keys (key_sha256, endpoint, payload_sha256) "
	    "VALUES (decode($1, 'hex'), $2, decode($3, 'hex')) "
	    "ON CONFLICT (key_sha256) DO NOTHING RETURNING 1", 3 },
	/* key_exposed: the key was written in clear before sql/0010 (no token on replay). */
	[STMT_IDEMPOTENCY_LOOKUP] = { "idempotency_lookup",
	    "SELECT endpoint, encode(payload_sha256, 'hex') AS payload_sha256, status_code, "
	    "response_body, key_exposed "
	    "FROM idempotency_keys WHERE key_sha256 = decode($1, 'hex')", 1 },
	/* $2 status, $3 response body (never holding a secret), $4 submission id. */
	[STMT_IDEMPOTENCY_STORE] = { "idempotency_store",
	    "UPDATE idempotency_keys SET status_code = $2::smallint, response_body = $3, "
	    "submission_id = $4::bigint WHERE key_sha256 = decode($1, 'hex')", 4 },

	/* $1 an e-mail. Taken until the end of the transaction by every writer that makes a
	 * submission active with it, before it checks that no other active submission has it:
	 * the check cannot be overtaken, so the unique index never raises an error (whose
	 * detail, in the server's log, would name the address). Two-int4 key space: class 7310,
	 * then the address's hash (a collision only makes two writers queue). The key is the
	 * address in every campaign (sql/0014): wider than the per-campaign uniqueness it
	 * guards, so still exact; a writer in one campaign may only wait for one in another. */
	[STMT_SUBMISSION_EMAIL_LOCK] = { "submission_email_lock",
	    "SELECT pg_advisory_xact_lock(7310, hashtext(lower($1)))", 1 },
	/* $1 email, $2 nom, $3 creneaux (jsonb), $4 commentaire, $5 sha256 of the edit token (hex).
	 * No row when an active submission already has the e-mail. */
	[STMT_SUBMISSION_INSERT] = { "submission_insert",
	    "INSERT INTO soumissions_disponibilites (email, nom, creneaux, commentaire, edit_token_hash) "
	    "VALUES ($1, $2, $3::jsonb, $4, decode($5, 'hex')) "
	    "ON CONFLICT (campagne_id, lower(email)) WHERE deleted_at IS NULL DO NOTHING "
	    "RETURNING id, version, "
	    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at",
	    5 },

	/* $1 action, $2 entity, $3 entity id, $4 actor, $5 client address, $6 user agent,
	 * $7 request id, $8 details (jsonb). */
	[STMT_AUDIT_APPEND] = { "audit_append",
	    "INSERT INTO audit_logs (action, entity, entity_id, actor, client_addr, user_agent, "
	    "request_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)", 8 },

	/* $1 time zone. The campaign's slots still on its form, in order, with their day in
	 * the institution's zone. */
	[STMT_FORM_SLOTS] = { "form_slots",
	    "SELECT id, to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS debut, "
	    "to_char(ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS fin, "
	    "label AS libelle, to_char(starts_at AT TIME ZONE $1, 'YYYY-MM-DD') AS jour "
	    "FROM creneaux WHERE campagne_id = " DEFAULT_CAMPAIGN " AND retire_at IS NULL "
	    "ORDER BY position, starts_at, id", 1 },
	[STMT_FORM_FLAGS] = { "form_flags",
	    "SELECT name, enabled FROM feature_flags ORDER BY name", 0 },
	[STMT_TIMEZONE_CHECK] = { "timezone_check",
	    "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1 },

	[STMT_SUBMISSION_BY_ID] = { "submission_by_id",
	    "SELECT " SUBMISSION_COLUMNS " FROM soumissions_disponibilites WHERE id = $1::bigint", 1 },
	/* $1: sha256 of the presented token (hex), an edit or an invitation token
	 * (TOKEN_SUBMISSION); token_hash: the one that matched. The row is locked until the end
	 * of the transaction, so concurrent writers with the same If-Match see each other. */
	[STMT_SUBMISSION_LOCK_BY_TOKEN] = { "submission_lock_by_token",
	    "SELECT " LOCK_FIELDS ", encode(t.credential, 'hex') AS token_hash "
	    "FROM soumissions_disponibilites JOIN " TOKEN_SUBMISSION("$1") " AS t USING (id) "
	    "FOR UPDATE OF soumissions_disponibilites", 1 },
	[STMT_SUBMISSION_LOCK_BY_ID] = { "submission_lock_by_id",
	    "SELECT " LOCK_COLUMNS " FROM soumissions_disponibilites "
	    "WHERE id = $1::bigint FOR UPDATE", 1 },
	/* The triggers bump the version and record the history. Under the e-mail's lock
	 * (STMT_SUBMISSION_EMAIL_LOCK): no row when another active submission has the e-mail. */
	[STMT_SUBMISSION_UPDATE] = { "submission_update",
	    "UPDATE soumissions_disponibilites AS s SET email = $2, nom = $3, creneaux = $4::jsonb, "
	    "commentaire = $5 WHERE s.id = $1::bigint AND (s.deleted_at IS NOT NULL OR NOT "
	    ACTIVE_ELSEWHERE("$2") ") RETURNING s.version", 5 },
	[STMT_SUBMISSION_WITHDRAW] = { "submission_withdraw",
	    "UPDATE soumissions_disponibilites SET deleted_at = now() "
	    "WHERE id = $1::bigint AND deleted_at IS NULL RETURNING version", 1 },
	/* Under the e-mail's lock, like the update. */
	[STMT_SUBMISSION_UNDELETE] = { "submission_undelete",
	    "UPDATE soumissions_disponibilites AS s SET deleted_at = NULL "
	    "WHERE s.id = $1::bigint AND s.deleted_at IS NOT NULL AND NOT "
	    ACTIVE_ELSEWHERE("s.email") " RETURNING s.version", 1 },
	[STMT_SUBMISSION_CONTENT_AT] = { "submission_content_at",
	    "SELECT soumission_contenu_a_la_version($1::bigint, $2::integer)::text AS contenu", 2 },
	/* $1 e-mail, $2 campaign id (NULL: the first). Its active answer there, locked, with
	 * what a link mail names: the campaign's title and slug (premiere: the first campaign,
	 * whose links stay /#edit=). */
	[STMT_SUBMISSION_ACTIVE_BY_EMAIL] = { "submission_active_by_email",
	    "SELECT s.id, s.nom, c.titre, c.slug, c.id = " DEFAULT_CAMPAIGN " AS premiere "
	    "FROM soumissions_disponibilites AS s JOIN campagnes AS c ON c.id = s.campagne_id "
	    "WHERE s.campagne_id = coalesce($2::bigint, " DEFAULT_CAMPAIGN ") "
	    "AND lower(s.email) = lower($1) AND s.deleted_at IS NULL FOR UPDATE OF s", 2 },
	/* A new token: no tracked field changes, so no new version. */
	[STMT_SUBMISSION_SET_TOKEN] = { "submission_set_token",
	    "UPDATE soumissions_disponibilites SET edit_token_hash = decode($2, 'hex') "
	    "WHERE id = $1::bigint", 2 },
	/* Link requests (sql/0011). The window of their limits, and how long a row is kept. */
#define LINK_WINDOW "interval '1 hour'"
	/* $1 key of the e-mail (hex), $2 client address: a lock on each until the end of the
	 * transaction, always in this order (no deadlock), in two spaces of their own. A
	 * statement of its own: the count that follows must see what the last holder committed. */
	[STMT_LINK_LOCK] = { "link_lock",
	    "SELECT pg_advisory_xact_lock(hashtext('fiable.modify_link.email'), hashtext($1)), "
	    "pg_advisory_xact_lock(hashtext('fiable.modify_link.client'), hashtext($2))", 2 },
	/* Under those locks: records the request unless the e-mail ($1) has $6 requests in the
	 * window or the client address ($2) has $7; no row when refused. $3 the lower-cased
	 * address, $4 user agent, $5 request id (for the audit row of a link), $8 the campaign
	 * (an id) where to look for the answer. The limits count across campaigns. The
	 * notification wakes the mail sender when the transaction commits. */
	[STMT_LINK_RECORD] = { "link_record",
	    "WITH recent AS (SELECT count(*) FILTER (WHERE email_key = decode($1, 'hex')) AS e, "
	    "count(*) FILTER (WHERE client_addr = $2) AS c FROM modify_link_requests "
	    "WHERE created_at > now() - " LINK_WINDOW " "
	    "AND (email_key = decode($1, 'hex') OR client_addr = $2)), "
	    "r AS (INSERT INTO modify_link_requests (email_key, client_addr, email, user_agent, "
	    "request_id, campagne_id) SELECT decode($1, 'hex'), $2, $3, $4, $5, $8::bigint "
	    "FROM recent WHERE recent.e < $6::integer AND recent.c < $7::integer RETURNING id) "
	    "SELECT id, pg_notify('" OUTBOX_CHANNEL "', 'link') FROM r", 8 },
	/* The oldest pending request, locked; one another sender holds is skipped, so two
	 * senders never resolve the same one. Use inside a transaction. */
	[STMT_LINK_CLAIM] = { "link_claim",
	    "SELECT id, email, client_addr, user_agent, request_id, campagne_id, "
	    "created_at <= now() - " LINK_WINDOW " AS expired FROM modify_link_requests "
	    "WHERE resolved_at IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED", 0 },
	/* $1 id, $2 outcome. What only the resolution needed is erased. */
	[STMT_LINK_RESOLVE] = { "link_resolve",
	    "UPDATE modify_link_requests SET resolved_at = now(), outcome = $2, email = NULL, "
	    "user_agent = NULL, request_id = NULL WHERE id = $1::bigint AND resolved_at IS NULL", 2 },
	[STMT_LINK_PURGE] = { "link_purge",
	    "DELETE FROM modify_link_requests WHERE resolved_at IS NOT NULL "
	    "AND created_at <= now() - " LINK_WINDOW, 0 },
	/* $1 the most worth counting. */
	[STMT_LINK_PENDING_COUNT] = { "link_pending_count",
	    "SELECT count(*) AS pending_count FROM (SELECT 1 FROM modify_link_requests "
	    "WHERE resolved_at IS NULL LIMIT $1::integer) AS pending", 1 },

	/* $1 kind, $2 recipient, $3 subject, $4 body, $5 submission id (may be NULL). The
	 * notification reaches `fiable-mail-outbox --watch` when the transaction commits. */
	[STMT_OUTBOX_ENQUEUE] = { "outbox_enqueue",
	    "WITH m AS (INSERT INTO mail_outbox (kind, recipient, subject, body, submission_id, "
	    "headers) VALUES ($1, $2, $3, $4, $5::bigint, $6) RETURNING id) "
	    "SELECT id, pg_notify('" OUTBOX_CHANNEL "', id::text) FROM m", 6 },
	/* $1 one id, or 0 for any due message; $2 how many. Locked rows are skipped, so two
	 * deliverers never send the same message. Use inside a transaction. */
	[STMT_OUTBOX_DUE] = { "outbox_due",
	    "SELECT id, recipient, subject, body, headers, attempts FROM mail_outbox "
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
	    "SELECT count(*) AS due_count FROM (SELECT 1 FROM mail_outbox WHERE status = 'pending' "
	    "AND next_attempt_at <= now() LIMIT $1::integer) AS due", 1 },
	[STMT_OUTBOX_GIVE_UP] = { "outbox_give_up",
	    "UPDATE mail_outbox SET status = 'failed', attempts = attempts + 1, last_error = $2, "
	    "body = NULL WHERE id = $1::bigint", 2 },
	/* backups */
/* This section's macros, kept inside it. A cursor over one table, one JSON line a row. */
#define BACKUP_CURSOR "DECLARE backup_rows NO SCROLL CURSOR FOR SELECT row_to_json(t)::text FROM "
#define BACKUP_LIKE "INCLUDING CONSTRAINTS INCLUDING INDEXES"
#define AUDIT_CHAIN_COLUMNS "'{chain_seq,prev_hash,hash}'::text[]"
/* Restoration: the submissions of the backup concerned ($1: an e-mail, as in the backup or
 * as it is now, or '' for all), whether a live one differs from its backup, and the audit row
 * of each one written back. */
#define APPLY_FILTER \
	"($1::text = '' OR lower(r.email) = lower($1::text) OR r.id IN (SELECT x.id " \
	"FROM soumissions_disponibilites AS x WHERE lower(x.email) = lower($1::text)))"
#define APPLY_DIFFERS \
	"(s.email, s.nom, s.creneaux, s.commentaire, s.deleted_at IS NULL) IS DISTINCT FROM " \
	"(r.email, r.nom, r.creneaux, r.commentaire, r.deleted_at IS NULL)"
#define APPLY_AUDIT(cte, operation) \
	"INSERT INTO audit_logs (action, entity, entity_id, actor, details) " \
	"SELECT 'submission.restore_backup', 'soumissions_disponibilites', c.id::text, $3, " \
	"jsonb_build_object('backup_id', $2::bigint, 'version', c.version, 'operation', '" \
	operation "') FROM " cte " AS c RETURNING entity_id"
	/* $1 the lock key (BACKUP_LOCK_KEY): true when this session now holds it. */
	[STMT_BACKUP_LOCK] = { "backup_lock", "SELECT pg_try_advisory_lock($1::bigint) AS locked", 1 },
	/* Under the lock, a row still 'running' belongs to a run that died. $1 the error. */
	[STMT_BACKUP_MARK_STALE] = { "backup_mark_stale",
	    "UPDATE backup_metadata SET status = 'failed', finished_at = now(), error = $1 "
	    "WHERE status = 'running' RETURNING id", 1 },
	/* $1 destination. The start time names the objects. */
	[STMT_BACKUP_START] = { "backup_start",
	    "INSERT INTO backup_metadata (destination) VALUES ($1) RETURNING id, "
	    "to_char(started_at AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"') AS stamp", 1 },
	[STMT_BACKUP_SET_KEYS] = { "backup_set_keys",
	    "UPDATE backup_metadata SET object_key = $2, manifest_key = $3 WHERE id = $1::bigint", 3 },
	/* $2 size, $3 sha256, $4 row counts, $5 manifest, $6 snapshot time, $7 last audit id,
	 * $8 schema version, $9 'ok' when verified by a restoration, else NULL, $10 and $11
	 * the head of the audit hash chain (NULL when the log is empty). */
	[STMT_BACKUP_SUCCEED] = { "backup_succeed",
	    "UPDATE backup_metadata SET status = 'success', finished_at = now(), "
	    "size_bytes = $2::bigint, sha256 = $3, row_counts = $4::jsonb, manifest = $5::jsonb, "
	    "snapshot_at = $6::timestamptz, audit_last_id = $7::bigint, schema_version = $8, "
	    "verification = $9, verified_at = CASE WHEN $9::text IS NULL THEN NULL ELSE now() END, "
	    "audit_chain_seq = $10::bigint, audit_chain_hash = $11, "
	    "error = NULL WHERE id = $1::bigint AND status = 'running' RETURNING id", 11 },
	[STMT_BACKUP_FAIL] = { "backup_fail",
	    "UPDATE backup_metadata SET status = 'failed', finished_at = now(), error = $2 "
	    "WHERE id = $1::bigint AND status = 'running'", 2 },
	[STMT_BACKUP_GET] = { "backup_get",
	    "SELECT id, status, coalesce(destination, '') AS destination, coalesce(object_key, '') "
	    "AS object_key, coalesce(manifest_key, '') AS manifest_key, manifest::text AS manifest, "
	    "deleted_at IS NOT NULL AS deleted FROM backup_metadata WHERE id = $1::bigint", 1 },
	/* $2 'ok' or 'failed', $3 why it failed (NULL when ok). */
	[STMT_BACKUP_VERIFIED] = { "backup_verified",
	    "UPDATE backup_metadata SET verified_at = now(), verification = $2, "
	    "verification_error = $3 WHERE id = $1::bigint", 3 },
	/* $1 how many, newest first. */
	[STMT_BACKUP_LIST] = { "backup_list",
	    "SELECT id, status, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "
	    "started, extract(epoch FROM now() - started_at)::bigint AS age_seconds, size_bytes, "
	    "coalesce(verification, '') AS verification, coalesce(to_char(verified_at AT TIME "
	    "ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '') AS verified, coalesce(object_key, '') AS "
	    "object_key, coalesce(destination, '') AS destination, deleted_at IS NOT NULL AS "
	    "deleted, coalesce(error, verification_error, '') AS error "
	    "FROM backup_metadata ORDER BY started_at DESC, id DESC LIMIT $1::integer", 1 },
	/* $1 jsonb array of object keys found at destination $2: those no row names. */
	[STMT_BACKUP_UNKNOWN_KEYS] = { "backup_unknown_keys",
	    "SELECT k FROM jsonb_array_elements_text($1::jsonb) AS k WHERE NOT EXISTS ("
	    "SELECT 1 FROM backup_metadata b WHERE b.destination = $2 "
	    "AND (b.object_key = k OR b.manifest_key = k)) ORDER BY k", 2 },
	/* The last finished backup of destination $1. */
	[STMT_BACKUP_NEWEST] = { "backup_newest",
	    "SELECT id, status, coalesce(verification, '') AS verification, "
	    "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS started, "
	    "coalesce(error, verification_error, '') AS error FROM backup_metadata "
	    "WHERE destination = $1 AND status <> 'running' ORDER BY started_at DESC, id DESC LIMIT 1", 1 },
	/* The backups of destination $1 the retention policy chooses among, newest first. */
	[STMT_BACKUP_RETAINED] = { "backup_retained",
	    "SELECT id, extract(epoch FROM started_at)::bigint AS started_epoch, "
	    "coalesce(object_key, '') AS object_key, coalesce(manifest_key, '') AS manifest_key, "
	    "coalesce(size_bytes, 0) AS size_bytes, "
	    "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS started "
	    "FROM backup_metadata "
	    "WHERE destination = $1 AND status = 'success' AND deleted_at IS NULL "
	    "ORDER BY started_at DESC, id DESC", 1 },
	[STMT_BACKUP_MARK_DELETED] = { "backup_mark_deleted",
	    "UPDATE backup_metadata SET deleted_at = now() "
	    "WHERE id = $1::bigint AND deleted_at IS NULL RETURNING id", 1 },

	/* The snapshot: first statement of the dump's transaction. */
	[STMT_BACKUP_SNAPSHOT] = { "backup_snapshot",
	    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0 },
	/* $1 statement timeout of this transaction; row_to_json writes times in UTC. */
	[STMT_BACKUP_SESSION] = { "backup_session",
	    "SELECT set_config('statement_timeout', $1, true), set_config('TimeZone', 'UTC', true)", 1 },
	[STMT_BACKUP_SNAPSHOT_INFO] = { "backup_snapshot_info",
	    "SELECT to_char(statement_timestamp() AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS snapshot_at, "
	    "(SELECT coalesce(max(id), 0) FROM audit_logs) AS audit_last_id, "
	    "(SELECT coalesce(max(version), '') FROM schema_migrations) AS schema_version, "
	    "coalesce(h.chain_seq, 0) AS chain_seq, coalesce(h.hash, '') AS chain_hash "
	    "FROM (SELECT 1) AS one LEFT JOIN ("
	    "SELECT chain_seq, hash FROM audit_logs ORDER BY chain_seq DESC LIMIT 1) AS h ON true", 0 },
	/* $1 a table name: its columns and types, in order. */
	[STMT_BACKUP_COLUMNS] = { "backup_columns",
	    "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' "
	    "ORDER BY attnum) FROM pg_attribute "
	    "WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped", 1 },
	/* One cursor at a time, named backup_rows: each row as one JSON line, in key order. */
	[STMT_BACKUP_DECLARE_SLOTS] = { "backup_declare_slots",
	    BACKUP_CURSOR "creneaux AS t ORDER BY t.id", 0 },
	[STMT_BACKUP_DECLARE_SUBMISSIONS] = { "backup_declare_submissions",
	    BACKUP_CURSOR "soumissions_disponibilites AS t ORDER BY t.id", 0 },
	[STMT_BACKUP_DECLARE_AUDIT] = { "backup_declare_audit",
	    BACKUP_CURSOR "audit_logs AS t ORDER BY t.id", 0 },
	[STMT_BACKUP_DECLARE_SCRATCH_SLOTS] = { "backup_declare_scratch_slots",
	    BACKUP_CURSOR "pg_temp.restore_creneaux AS t ORDER BY t.id", 0 },
	[STMT_BACKUP_DECLARE_SCRATCH_SUBMISSIONS] = { "backup_declare_scratch_submissions",
	    BACKUP_CURSOR "pg_temp.restore_soumissions AS t ORDER BY t.id", 0 },
	[STMT_BACKUP_DECLARE_SCRATCH_AUDIT] = { "backup_declare_scratch_audit",
	    BACKUP_CURSOR "pg_temp.restore_audit_logs AS t ORDER BY t.id", 0 },
	[STMT_BACKUP_FETCH] = { "backup_fetch", "FETCH FORWARD 500 FROM backup_rows", 0 },
	[STMT_BACKUP_CLOSE] = { "backup_close", "CLOSE backup_rows", 0 },
	/* Scratch tables of a verification or a restoration: temporary, gone at the end of the
	 * transaction, with the live tables' columns, checks and indexes. */
	[STMT_BACKUP_SCRATCH_SLOTS] = { "backup_scratch_slots",
	    "CREATE TEMP TABLE restore_creneaux (LIKE creneaux " BACKUP_LIKE ") ON COMMIT DROP", 0 },
	[STMT_BACKUP_SCRATCH_SUBMISSIONS] = { "backup_scratch_submissions",
	    "CREATE TEMP TABLE restore_soumissions (LIKE soumissions_disponibilites " BACKUP_LIKE
	    ") ON COMMIT DROP", 0 },
	[STMT_BACKUP_SCRATCH_AUDIT] = { "backup_scratch_audit",
	    "CREATE TEMP TABLE restore_audit_logs (LIKE audit_logs " BACKUP_LIKE ") ON COMMIT DROP", 0 },
	/* $1 a JSON array of rows as the backup holds them. */
	[STMT_BACKUP_LOAD_SLOTS] = { "backup_load_slots",
	    "INSERT INTO pg_temp.restore_creneaux SELECT * FROM "
	    "jsonb_populate_recordset(NULL::pg_temp.restore_creneaux, $1::jsonb)", 1 },
	[STMT_BACKUP_LOAD_SUBMISSIONS] = { "backup_load_submissions",
	    "INSERT INTO pg_temp.restore_soumissions SELECT * FROM "
	    "jsonb_populate_recordset(NULL::pg_temp.restore_soumissions, $1::jsonb)", 1 },
	[STMT_BACKUP_LOAD_AUDIT] = { "backup_load_audit",
	    "INSERT INTO pg_temp.restore_audit_logs SELECT * FROM "
	    "jsonb_populate_recordset(NULL::pg_temp.restore_audit_logs, $1::jsonb)", 1 },

	/* Restoration (--apply), after the load, in the same transaction. $1 is always the
	 * e-mail filter ('' = every submission), $2 the backup id, $3 the audit actor. */
	[STMT_BACKUP_APPLY_LOCK] = { "backup_apply_lock", "SELECT pg_advisory_xact_lock($1::bigint)", 1 },
	[STMT_BACKUP_APPLY_CONSIDERED] = { "backup_apply_considered",
	    "SELECT count(*) FROM pg_temp.restore_soumissions AS r WHERE " APPLY_FILTER, 1 },
	/* Withdrawn in the backup: content back, withdrawn again if it was restored since (an
	 * earlier withdrawal date is kept). Done first, so it frees the e-mails it held. */
	[STMT_BACKUP_APPLY_WITHDRAWN] = { "backup_apply_withdrawn",
	    "WITH changed AS (UPDATE soumissions_disponibilites AS s SET email = r.email, "
	    "nom = r.nom, creneaux = r.creneaux, commentaire = r.commentaire, "
	    "deleted_at = coalesce(s.deleted_at, r.deleted_at) "
	    "FROM pg_temp.restore_soumissions AS r WHERE s.id = r.id AND r.deleted_at IS NOT NULL "
	    "AND " APPLY_FILTER " AND " APPLY_DIFFERS " RETURNING s.id, s.version) "
	    APPLY_AUDIT("changed", "update"), 3 },
	/* Active in the backup: content back and undeleted, unless another submission of its
	 * campaign now holds the e-mail (a conflict, reported). */
	[STMT_BACKUP_APPLY_ACTIVE] = { "backup_apply_active",
	    "WITH changed AS (UPDATE soumissions_disponibilites AS s SET email = r.email, "
	    "nom = r.nom, creneaux = r.creneaux, commentaire = r.commentaire, deleted_at = NULL "
	    "FROM pg_temp.restore_soumissions AS r WHERE s.id = r.id AND r.deleted_at IS NULL "
	    "AND " APPLY_FILTER " AND " APPLY_DIFFERS " AND NOT EXISTS (SELECT 1 "
	    "FROM soumissions_disponibilites AS o WHERE o.id <> r.id AND o.deleted_at IS NULL "
	    "AND o.campagne_id = r.campagne_id AND lower(o.email) = lower(r.email)) "
	    "RETURNING s.id, s.version) "
	    APPLY_AUDIT("changed", "update"), 3 },
	/* Gone from the database: back with its id, versions, history, dates and token. */
	[STMT_BACKUP_APPLY_INSERT] = { "backup_apply_insert",
	    "WITH changed AS (INSERT INTO soumissions_disponibilites OVERRIDING SYSTEM VALUE "
	    "SELECT r.* FROM pg_temp.restore_soumissions AS r WHERE " APPLY_FILTER " "
	    "AND NOT EXISTS (SELECT 1 FROM soumissions_disponibilites AS s WHERE s.id = r.id) "
	    "AND NOT EXISTS (SELECT 1 FROM soumissions_disponibilites AS t "
	    "WHERE t.edit_token_hash = r.edit_token_hash) "
	    "AND (r.deleted_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM soumissions_disponibilites "
	    "AS o WHERE o.deleted_at IS NULL AND o.campagne_id = r.campagne_id "
	    "AND lower(o.email) = lower(r.email))) "
	    "RETURNING id, version) " APPLY_AUDIT("changed", "insert"), 3 },
	/* What still differs from the backup after the three steps above: id, e-mail, and the
	 * submission that holds the e-mail. */
	[STMT_BACKUP_APPLY_CONFLICTS] = { "backup_apply_conflicts",
	    "SELECT r.id, r.email, coalesce((SELECT o.id::text FROM soumissions_disponibilites AS o "
	    "WHERE o.deleted_at IS NULL AND o.campagne_id = r.campagne_id "
	    "AND lower(o.email) = lower(r.email) AND o.id <> r.id "
	    "LIMIT 1), '') AS holder FROM pg_temp.restore_soumissions AS r "
	    "LEFT JOIN soumissions_disponibilites AS s ON s.id = r.id WHERE " APPLY_FILTER " "
	    "AND (s.id IS NULL OR " APPLY_DIFFERS ") ORDER BY r.id", 1 },
	[STMT_BACKUP_APPLY_SLOTS] = { "backup_apply_slots",
	    "WITH added AS (INSERT INTO creneaux SELECT * FROM pg_temp.restore_creneaux "
	    "ON CONFLICT (id) DO NOTHING RETURNING id) SELECT count(*) FROM added", 0 },
	/* The audit log is append-only: rows of the backup missing from it are added back, at
	 * the end of the hash chain (its trigger links them there: a row put back gets a new
	 * link, so only the content columns say whether a row differs from its backup). */
	[STMT_BACKUP_APPLY_AUDIT_ROWS] = { "backup_apply_audit_rows",
	    "WITH added AS (INSERT INTO audit_logs OVERRIDING SYSTEM VALUE "
	    "SELECT * FROM pg_temp.restore_audit_logs ON CONFLICT (id) DO NOTHING RETURNING id) "
	    "SELECT count(*) FROM added", 0 },
	[STMT_BACKUP_APPLY_AUDIT_COLLISIONS] = { "backup_apply_audit_collisions",
	    "SELECT count(*) FROM pg_temp.restore_audit_logs AS r JOIN audit_logs AS a "
	    "ON a.id = r.id WHERE to_jsonb(a) - " AUDIT_CHAIN_COLUMNS " <> "
	    "to_jsonb(r) - " AUDIT_CHAIN_COLUMNS, 0 },
	/* Rows put back with their ids: the identity sequences must go past them. */
	[STMT_BACKUP_APPLY_SEQUENCES] = { "backup_apply_sequences",
	    "SELECT setval(q.seq, q.top) FROM ("
	    "SELECT pg_get_serial_sequence('soumissions_disponibilites', 'id')::regclass AS seq, "
	    "(SELECT max(id) FROM soumissions_disponibilites) AS top UNION ALL "
	    "SELECT pg_get_serial_sequence('audit_logs', 'id')::regclass, "
	    "(SELECT max(id) FROM audit_logs) UNION ALL "
	    "SELECT pg_get_serial_sequence('campagnes', 'id')::regclass, "
	    "(SELECT max(id) FROM campagnes) UNION ALL "
	    "SELECT pg_get_serial_sequence('participants', 'id')::regclass, "
	    "(SELECT max(id) FROM participants)) AS q "
	    "WHERE q.top > coalesce(pg_sequence_last_value(q.seq), 0)", 0 },
	/* audit hash chain (sql/0008): read back by fiable-verify-audit, which recomputes each
	 * link itself. One cursor over the chain in its order, with each row's canonical text. */
	[STMT_AUDIT_CHAIN_DECLARE] = { "audit_chain_declare",
	    "DECLARE audit_chain NO SCROLL CURSOR FOR SELECT a.chain_seq, a.id, a.prev_hash, "
	    "a.hash, audit_logs_canonical(a) AS canonical FROM audit_logs AS a ORDER BY a.chain_seq", 0 },
	[STMT_AUDIT_CHAIN_FETCH] = { "audit_chain_fetch", "FETCH FORWARD 1000 FROM audit_chain", 0 },
	[STMT_AUDIT_CHAIN_CLOSE] = { "audit_chain_close", "CLOSE audit_chain", 0 },
	/* $1 a link's number: the row there now (none: a shorter chain). */
	[STMT_AUDIT_CHAIN_AT] = { "audit_chain_at",
	    "SELECT id, hash FROM audit_logs WHERE chain_seq = $1::bigint", 1 },
	/* The heads recorded with the successful backups, and the row at each now. */
	[STMT_AUDIT_CHAIN_BACKUPS] = { "audit_chain_backups",
	    "SELECT b.id, to_char(b.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS started, "
	    "b.audit_chain_seq, b.audit_chain_hash, coalesce(a.hash, '') AS hash_now, "
	    "coalesce(a.id::text, '') AS id_now "
	    "FROM backup_metadata AS b LEFT JOIN audit_logs AS a ON a.chain_seq = b.audit_chain_seq "
	    "WHERE b.status = 'success' AND b.audit_chain_seq IS NOT NULL ORDER BY b.id", 0 },
	/* metrics and alerts */
	/* $1 endpoint, $2 method, $3 status, $4 duration in microseconds, then what the form
	 * reports (NULL when unknown): $5 from_queue, $6 queued_ms, $7 queue_length, $8 attempt,
	 * $9 autosave_ms; $10 the hex SHA-256 of the Idempotency-Key of a write (to see the
	 * failures never retried; the key itself is a secret). */
	[STMT_METRIC_RECORD_CLIENT] = { "metric_record_client",
	    "INSERT INTO request_metrics (endpoint, method, status, duration_us, from_queue, "
	    "queued_ms, queue_length, attempt, autosave_ms, idempotency_key_sha256) "
	    "VALUES ($1, $2, $3::smallint, $4::integer, $5::boolean, $6::integer, $7::integer, "
	    "$8::integer, $9::real, decode($10, 'hex'))", 10 },
	/* $1: JSON array of checked spool lines. Returns how many were new. */
	[STMT_METRICS_INGEST] = { "metrics_ingest",
	    "SELECT metriques_ingerer($1::jsonb) AS ajoutees", 1 },
	/* $1 window (interval back from now), $2 step of the series, $3 time zone of the days. */
	[STMT_METRICS_SUMMARY] = { "metrics_summary",
	    "SELECT metriques_resume(now() - $1::interval, now(), $2::interval, $3)::text AS resume",
	    3 },
	[STMT_METRICS_BACKUPS] = { "metrics_backups", "SELECT metriques_sauvegardes()::text AS sauvegardes", 0 },
	[STMT_ALERT_STATES_JSON] = { "alert_states_json",
	    "SELECT coalesce(jsonb_agg(jsonb_build_object('regle', rule, 'titre', title, "
	    "'declenchee', firing, 'depuis', since, 'valeur', value, 'seuil', threshold, "
	    "'verifiee_le', checked_at) ORDER BY firing DESC, rule), '[]')::text AS etats "
	    "FROM alert_states", 0 },
	/* $1 how many, newest first. */
	[STMT_ALERT_EVENTS_JSON] = { "alert_events_json",
	    "SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'le', created_at, "
	    "'regle', rule, 'type', kind, 'titre', title, 'valeur', value, 'seuil', threshold, "
	    "'courriel', mail_status) ORDER BY id DESC), '[]')::text AS evenements "
	    "FROM (SELECT * FROM alert_events ORDER BY id DESC LIMIT $1::integer) AS e", 1 },
	/* One fiable-check-alerts at a time (a session lock, released by the unlock or the end
	 * of the connection). */
	[STMT_ALERT_RUN_LOCK] = { "alert_run_lock",
	    "SELECT pg_try_advisory_lock(hashtext('fiable.check-alerts')) AS locked", 0 },
	[STMT_ALERT_RUN_UNLOCK] = { "alert_run_unlock",
	    "SELECT pg_advisory_unlock(hashtext('fiable.check-alerts'))", 0 },
	[STMT_ALERT_STATE_GET] = { "alert_state_get",
	    "SELECT firing FROM alert_states WHERE rule = $1", 1 },
	/* $1 rule, $2 title, $3 firing, $4 value measured, $5 threshold. */
	[STMT_ALERT_STATE_PUT] = { "alert_state_put",
	    "INSERT INTO alert_states (rule, title, firing, value, threshold) "
	    "VALUES ($1, $2, $3::boolean, $4::float8, $5::float8) ON CONFLICT (rule) DO UPDATE "
	    "SET title = EXCLUDED.title, value = EXCLUDED.value, threshold = EXCLUDED.threshold, "
	    "checked_at = now(), firing = EXCLUDED.firing, since = CASE WHEN "
	    "alert_states.firing = EXCLUDED.firing THEN alert_states.since ELSE now() END", 5 },
	/* $1 rule, $2 'firing' or 'resolved', $3 title, $4 value, $5 threshold, $6 message,
	 * $7 mail status ('pending', or 'none' without ALERT_EMAIL). */
	[STMT_ALERT_EVENT_ADD] = { "alert_event_add",
	    "INSERT INTO alert_events (rule, kind, title, value, threshold, message, mail_status) "
	    "VALUES ($1, $2, $3, $4::float8, $5::float8, $6, $7) RETURNING id", 7 },
	[STMT_ALERT_EVENTS_PENDING] = { "alert_events_pending",
	    "SELECT id, kind, title, message, mail_attempts FROM alert_events "
	    "WHERE mail_status = 'pending' ORDER BY id LIMIT 50", 0 },
	/* $1 id, $2 new mail status, $3 error text (NULL once sent). */
	[STMT_ALERT_EVENT_MAILED] = { "alert_event_mailed",
	    "UPDATE alert_events SET mail_status = $2, mail_attempts = mail_attempts + 1, "
	    "mail_error = $3, sent_at = CASE WHEN $2 = 'sent' THEN now() END "
	    "WHERE id = $1::bigint", 3 },
	/* $1 time zone. Every slot of the campaign (removed ones too) with its people available
	 * (active submissions only; the view creneaux_disponibles, sql/0021), and a column title
	 * for spreadsheets: "lundi 24/11/2026 — Matin (9 h – 12 h)". */
	[STMT_ADMIN_SLOTS] = { "admin_slots",
	    "SELECT c.id, c.label AS libelle, "
	    "to_char(c.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS debut, "
	    "to_char(c.ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS fin, "
	    "to_char(c.starts_at AT TIME ZONE $1, 'YYYY-MM-DD') AS jour, "
	    "(ARRAY['lundi','mardi','mercredi','jeudi','vendredi','samedi','dimanche'])"
	    "[extract(isodow FROM c.starts_at AT TIME ZONE $1)::integer] || ' ' || "
	    "to_char(c.starts_at AT TIME ZONE $1, 'DD/MM/YYYY') || ' — ' || c.label AS titre, "
	    "coalesce(d.disponibles, 0) AS disponibles "
	    "FROM creneaux c LEFT JOIN " SLOT_COUNTS(DEFAULT_CAMPAIGN) " AS d "
	    "ON d.creneau_id = c.id WHERE c.campagne_id = " DEFAULT_CAMPAIGN " "
	    "ORDER BY c.position, c.starts_at, c.id", 1 },
	/* Every submission of the campaign (withdrawn ones too), by name: a cursor, fetched by
	 * STMT_ADMIN_SUBMISSIONS_FETCH (memory stays flat). */
	[STMT_ADMIN_SUBMISSIONS] = { "admin_submissions",
	    "DECLARE admin_soumissions NO SCROLL CURSOR FOR " ADMIN_SUBMISSION_COLUMNS " "
	    "FROM soumissions_disponibilites WHERE campagne_id = " DEFAULT_CAMPAIGN " "
	    "ORDER BY deleted_at IS NOT NULL, lower(nom), id", 0 },
	/* $1 the migrations this code knows, comma-separated: how many are applied, how many
	 * applied ones it does not know, and the latest applied. */
	[STMT_HEALTH_MIGRATIONS] = { "health_migrations",
	    "SELECT count(*) FILTER (WHERE version = ANY (string_to_array($1, ','))) AS appliquees, "
	    "count(*) FILTER (WHERE NOT version = ANY (string_to_array($1, ','))) AS inconnues, "
	    "coalesce(max(version), '') AS derniere FROM schema_migrations", 1 },
	/* feature flags */
	/* $1 a flag name: no row means on (flags.h). */
	[STMT_FLAG_ENABLED] = { "flag_enabled",
	    "SELECT enabled FROM feature_flags WHERE name = $1", 1 },
	/* Every flag, when it last changed and who changed it (its last audit row). */
	[STMT_FLAGS_LIST] = { "flags_list",
	    "SELECT f.name, f.enabled, "
	    "to_char(f.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS updated, "
	    "(SELECT a.actor FROM audit_logs a WHERE a.entity = 'feature_flags' "
	    "AND a.entity_id = f.name ORDER BY a.id DESC LIMIT 1) AS updated_by "
	    "FROM feature_flags f ORDER BY f.name", 0 },
	/* $1 name: its state, locked until the end of the transaction (two changes queue). */
	[STMT_FLAG_LOCK] = { "flag_lock",
	    "SELECT enabled FROM feature_flags WHERE name = $1 FOR UPDATE", 1 },
	/* $1 name, $2 new state. */
	[STMT_FLAG_UPDATE] = { "flag_update",
	    "UPDATE feature_flags SET enabled = $2::boolean, updated_at = now() WHERE name = $1", 2 },
	/* slots of campaigns */
	/* $1 jsonb array of local times "YYYY-MM-DD HH:MM", $2 an IANA time zone. For each, in
	 * order (n from 1), its UTC instant in seconds since the epoch, or NULL when the local
	 * time does not exist there (spring-forward gap). A local time that exists twice
	 * (fall-back) is its first occurrence: of the offsets in force a day before and a day
	 * after, the candidates that read back as the same local time, the earliest (slot.h).
	 * An unknown zone fails with 22023. */
	[STMT_SLOT_LOCAL_TO_UTC] = { "slot_local_to_utc",
	    "SELECT x.n, extract(epoch FROM r.u)::bigint AS utc "
	    "FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS x(l, n) "
	    "CROSS JOIN LATERAL (SELECT x.l::timestamp AS l, "
	    "(x.l::timestamp AT TIME ZONE 'UTC') AS lu) AS p "
	    "CROSS JOIN LATERAL (SELECT min(c.u) AS u FROM (VALUES "
	    "(p.lu - (((p.lu - interval '1 day') AT TIME ZONE $2) - "
	    "((p.lu - interval '1 day') AT TIME ZONE 'UTC'))), "
	    "(p.lu - (((p.lu + interval '1 day') AT TIME ZONE $2) - "
	    "((p.lu + interval '1 day') AT TIME ZONE 'UTC')))) AS c(u) "
	    "WHERE (c.u AT TIME ZONE $2) = p.l) AS r "
	    "ORDER BY x.n", 2 },
	/* backups of campaigns: the table campagnes (format 2), and the
	 * backups of format 1 (before sql/0014) read into today's tables. */
	[STMT_BACKUP_DECLARE_CAMPAIGNS] = { "backup_declare_campaigns",
	    BACKUP_CURSOR "campagnes AS t ORDER BY t.id", 0 },
	[STMT_BACKUP_DECLARE_SCRATCH_CAMPAIGNS] = { "backup_declare_scratch_campaigns",
	    BACKUP_CURSOR "pg_temp.restore_campagnes AS t ORDER BY t.id", 0 },
	[STMT_BACKUP_SCRATCH_CAMPAIGNS] = { "backup_scratch_campaigns",
	    "CREATE TEMP TABLE restore_campagnes (LIKE campagnes " BACKUP_LIKE ") ON COMMIT DROP", 0 },
	[STMT_BACKUP_LOAD_CAMPAIGNS] = { "backup_load_campaigns",
	    "INSERT INTO pg_temp.restore_campagnes SELECT * FROM "
	    "jsonb_populate_recordset(NULL::pg_temp.restore_campagnes, $1::jsonb)", 1 },
	/* $1 rows of format 1: the columns they lack take these values (the base record of
	 * jsonb_populate_recordset): the first campaign, the first position, no need stated,
	 * not removed; not late. */
	[STMT_BACKUP_LOAD_SLOTS_V1] = { "backup_load_slots_v1",
	    "INSERT INTO pg_temp.restore_creneaux SELECT * FROM jsonb_populate_recordset("
	    "jsonb_populate_record(NULL::pg_temp.restore_creneaux, jsonb_build_object("
	    "'campagne_id', " DEFAULT_CAMPAIGN ", 'position', 0)), $1::jsonb)", 1 },
	[STMT_BACKUP_LOAD_SUBMISSIONS_V1] = { "backup_load_submissions_v1",
	    "INSERT INTO pg_temp.restore_soumissions SELECT * FROM jsonb_populate_recordset("
	    "jsonb_populate_record(NULL::pg_temp.restore_soumissions, jsonb_build_object("
	    "'campagne_id', " DEFAULT_CAMPAIGN ", 'en_retard', false)), $1::jsonb)", 1 },
	/* Read back in the columns of format 1, in their order: the lines hash as the backup's. */
	[STMT_BACKUP_DECLARE_SCRATCH_SLOTS_V1] = { "backup_declare_scratch_slots_v1",
	    "DECLARE backup_rows NO SCROLL CURSOR FOR SELECT row_to_json(v)::text "
	    "FROM pg_temp.restore_creneaux AS t "
	    "CROSS JOIN LATERAL (SELECT t.id, t.starts_at, t.ends_at, t.label) AS v ORDER BY t.id", 0 },
	[STMT_BACKUP_DECLARE_SCRATCH_SUBMISSIONS_V1] = { "backup_declare_scratch_submissions_v1",
	    "DECLARE backup_rows NO SCROLL CURSOR FOR SELECT row_to_json(v)::text "
	    "FROM pg_temp.restore_soumissions AS t CROSS JOIN LATERAL (SELECT t.id, t.email, "
	    "t.nom, t.creneaux, t.commentaire, t.created_at, t.updated_at, t.deleted_at, "
	    "t.version, t.historique_modifications, t.edit_token_hash) AS v ORDER BY t.id", 0 },
	/* $1 the restoration's actor: the audit rows the triggers of campagnes and creneaux
	 * write for what it puts back (sql/0014) name it. Until the end of the transaction. */
	[STMT_BACKUP_APPLY_ACTOR] = { "backup_apply_actor",
	    "SELECT set_config('fiable.actor', $1, true)", 1 },
	/* Campaigns gone from the database: back with their id, version and dates (before
	 * their slots and answers). One whose slug is now another's is left out (and so are
	 * its slots: the restoration fails on them, nothing is applied). */
	[STMT_BACKUP_APPLY_CAMPAIGNS] = { "backup_apply_campaigns",
	    "WITH added AS (INSERT INTO campagnes OVERRIDING SYSTEM VALUE "
	    "SELECT * FROM pg_temp.restore_campagnes ON CONFLICT DO NOTHING RETURNING id) "
	    "SELECT count(*) FROM added", 0 },
	/* the organiser's API of campaigns (fiable-campaigns) */
	/* $1 actor ("admin:<name>"), $2 client address, $3 user agent, $4 request id: what the
	 * audit triggers of campagnes and creneaux (sql/0014) write, until the end of the
	 * transaction. */
	[STMT_CAMPAIGN_ACTOR] = { "campaign_actor",
	    "SELECT set_config('fiable.actor', $1, true), "
	    "set_config('fiable.client_addr', coalesce($2, ''), true), "
	    "set_config('fiable.user_agent', coalesce($3, ''), true), "
	    "set_config('fiable.request_id', coalesce($4, ''), true)", 4 },
	/* Every campaign with its active and late answers (one pass over the index of the active
	 * answers, sql/0016). */
	[STMT_CAMPAIGN_LIST] = { "campaign_list",
	    "SELECT " CAMPAIGN_COLUMNS ", coalesce(n.reponses, 0) AS reponses, "
	    "coalesce(n.en_retard, 0) AS en_retard "
	    "FROM campagnes c LEFT JOIN (SELECT s.campagne_id, count(*) AS reponses, "
	    "count(*) FILTER (WHERE s.en_retard) AS en_retard FROM soumissions_disponibilites s "
	    "WHERE s.deleted_at IS NULL GROUP BY s.campagne_id) AS n ON n.campagne_id = c.id "
	    "ORDER BY c.id", 0 },
	/* $1 id */
	[STMT_CAMPAIGN_GET] = { "campaign_get",
	    "SELECT " CAMPAIGN_COLUMNS " FROM campagnes c WHERE c.id = $1::bigint", 1 },
	/* $1 id: the campaign, locked until the end of the transaction (two writers queue). */
	[STMT_CAMPAIGN_LOCK] = { "campaign_lock",
	    "SELECT " CAMPAIGN_COLUMNS " FROM campagnes c WHERE c.id = $1::bigint FOR UPDATE", 1 },
	/* $1 slug, $2 titre, $3 introduction, $4 fuseau, $5 ouverture, $6 fermeture (TIME_IN),
	 * $7 grace in minutes, $8 modification_jusqu_a, $9 etat. No row: the slug is taken. */
	[STMT_CAMPAIGN_INSERT] = { "campaign_insert",
	    "INSERT INTO campagnes (slug, titre, introduction, fuseau, ouverture, fermeture, "
	    "delai_grace, modification_jusqu_a, etat) SELECT $1, $2, $3, $4, "
	    TIME_IN("$5", "$4") ", " TIME_IN("$6", "$4") ", make_interval(mins => $7::integer), "
	    TIME_IN("$8", "$4") ", $9 ON CONFLICT (slug) DO NOTHING RETURNING id, version", 9 },
	/* $1 id, then $2..$10 as $1..$9 of campaign_insert. */
	[STMT_CAMPAIGN_UPDATE] = { "campaign_update",
	    "UPDATE campagnes SET slug = $2, titre = $3, introduction = $4, fuseau = $5, "
	    "ouverture = " TIME_IN("$6", "$5") ", fermeture = " TIME_IN("$7", "$5") ", "
	    "delai_grace = make_interval(mins => $8::integer), "
	    "modification_jusqu_a = " TIME_IN("$9", "$5") ", etat = $10 "
	    "WHERE id = $1::bigint RETURNING version", 10 },
	/* $1 campaign: its slots (removed ones too) in the form's order, with the people
	 * available (active answers; the view creneaux_disponibles, sql/0021). */
	[STMT_CAMPAIGN_SLOTS] = { "campaign_slots",
	    "SELECT " SLOT_COLUMNS ", k.retire_at IS NOT NULL AS retire, "
	    "coalesce(d.disponibles, 0) AS disponibles "
	    "FROM creneaux k JOIN campagnes c ON c.id = k.campagne_id "
	    "LEFT JOIN " SLOT_COUNTS("$1::bigint") " AS d ON d.creneau_id = k.id "
	    "WHERE k.campagne_id = $1::bigint ORDER BY k.position, k.starts_at, k.id", 1 },
	/* $1 campaign, $2 jsonb [{"debut": epoch, "fin": epoch, "libelle", "besoin": n|null,
	 * "position": n|null}]: new slots, ids "c<campaign>-<10 hex>" (random), positions after
	 * the last one unless given. The slots created, in order. */
	[STMT_CAMPAIGN_SLOTS_INSERT] = { "campaign_slots_insert",
	    "WITH base AS (SELECT coalesce(max(position), 0) AS p FROM creneaux "
	    "WHERE campagne_id = $1::bigint), "
	    "k AS (INSERT INTO creneaux (id, campagne_id, starts_at, ends_at, label, position, besoin) "
	    "SELECT 'c' || $1::bigint || '-' || substr(md5(random()::text || clock_timestamp()::text "
	    "|| x.n::text), 1, 10), $1::bigint, to_timestamp((x.e->>'debut')::bigint), "
	    "to_timestamp((x.e->>'fin')::bigint), x.e->>'libelle', "
	    "coalesce((x.e->>'position')::integer, base.p + x.n::integer), (x.e->>'besoin')::integer "
	    "FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(e, n) CROSS JOIN base "
	    "RETURNING *) "
	    "SELECT " SLOT_COLUMNS " FROM k JOIN campagnes c ON c.id = k.campagne_id "
	    "ORDER BY k.position, k.starts_at, k.id", 2 },
	/* $1 campaign, $2 slot, $3 start, $4 end (epoch), $5 label, $6 besoin. No row: no such
	 * slot on the campaign's form. */
	[STMT_CAMPAIGN_SLOT_UPDATE] = { "campaign_slot_update",
	    "UPDATE creneaux k SET starts_at = to_timestamp($3::bigint), "
	    "ends_at = to_timestamp($4::bigint), label = $5, besoin = $6::integer "
	    "FROM campagnes c WHERE c.id = k.campagne_id AND k.campagne_id = $1::bigint "
	    "AND k.id = $2 AND k.retire_at IS NULL RETURNING " SLOT_COLUMNS, 6 },
	/* $1 campaign, $2 slot: removed (kept, hidden from the form) when an answer ticked it,
	 * now or in its history (the rule of creneaux_suppression_gardee, sql/0014), else
	 * deleted. */
	[STMT_CAMPAIGN_SLOT_REMOVE] = { "campaign_slot_remove",
	    "WITH t AS (SELECT k.id, EXISTS (SELECT 1 FROM soumissions_disponibilites s "
	    "WHERE s.campagne_id = k.campagne_id AND (s.creneaux ? k.id OR jsonb_path_exists("
	    "s.historique_modifications, '$[*].champs.creneaux.avant[*] ? (@ == $id)', "
	    "jsonb_build_object('id', k.id)))) AS coche "
	    "FROM creneaux k WHERE k.campagne_id = $1::bigint AND k.id = $2), "
	    "r AS (UPDATE creneaux SET retire_at = coalesce(retire_at, now()) "
	    "WHERE id IN (SELECT id FROM t WHERE coche) RETURNING id), "
	    "d AS (DELETE FROM creneaux WHERE id IN (SELECT id FROM t WHERE NOT coche) RETURNING id) "
	    "SELECT (SELECT count(*) FROM t) AS trouves, (SELECT count(*) FROM r) AS retires, "
	    "(SELECT count(*) FROM d) AS supprimes", 2 },
	/* $1 campaign, $2 jsonb array of slot ids: positions 1, 2, ... in that order. The ids
	 * found. */
	[STMT_CAMPAIGN_SLOTS_ORDER] = { "campaign_slots_order",
	    "UPDATE creneaux k SET position = x.n::integer "
	    "FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS x(id, n) "
	    "WHERE k.campagne_id = $1::bigint AND k.id = x.id RETURNING k.id", 2 },
	/* $1 source, $2 slug, $3 titre (NULL: the source's), $4 weeks: a new campaign in
	 * brouillon, its dates shifted. No row: the slug is taken. */
	[STMT_CAMPAIGN_DUPLICATE] = { "campaign_duplicate",
	    "INSERT INTO campagnes (slug, titre, introduction, fuseau, ouverture, fermeture, "
	    "delai_grace, modification_jusqu_a, etat) SELECT $2, coalesce($3, c.titre), "
	    "c.introduction, c.fuseau, " WEEKS_LATER("c.ouverture", "$4") ", "
	    WEEKS_LATER("c.fermeture", "$4") ", c.delai_grace, "
	    WEEKS_LATER("c.modification_jusqu_a", "$4") ", 'brouillon' "
	    "FROM campagnes c WHERE c.id = $1::bigint ON CONFLICT (slug) DO NOTHING "
	    "RETURNING id, version", 4 },
	/* $1 campaign, $2 weeks: its slots still on the form, with their local times and the
	 * instants N weeks later on the local clock. */
	[STMT_CAMPAIGN_SLOTS_SHIFTED] = { "campaign_slots_shifted",
	    "SELECT k.label, k.besoin, k.position, "
	    "to_char(k.starts_at AT TIME ZONE c.fuseau, 'YYYY-MM-DD HH24:MI') AS debut_local, "
	    "to_char(k.ends_at AT TIME ZONE c.fuseau, 'YYYY-MM-DD HH24:MI') AS fin_local, "
	    "extract(epoch FROM " WEEKS_LATER("k.starts_at", "$2") ")::bigint AS debut, "
	    "extract(epoch FROM " WEEKS_LATER("k.ends_at", "$2") ")::bigint AS fin "
	    "FROM creneaux k JOIN campagnes c ON c.id = k.campagne_id "
	    "WHERE k.campagne_id = $1::bigint AND k.retire_at IS NULL "
	    "ORDER BY k.position, k.starts_at, k.id", 2 },
	/* $1 campaign, $2 after this answer id, $3 rows: a page of active answers (keyset). The
	 * page's ids first, from the index of the active answers (sql/0016), then their rows one
	 * by one (OFFSET 0 keeps the nested loop): with a plain ORDER BY id LIMIT the planner
	 * walks the primary key and filters, through every answer of the later campaigns on the
	 * last page (450 ms at 100,000 answers, 1.5 ms so). */
	[STMT_CAMPAIGN_MATRIX_PEOPLE] = { "campaign_matrix_people",
	    "SELECT r.* FROM (SELECT p.id FROM soumissions_disponibilites p "
	    "WHERE p.campagne_id = $1::bigint AND p.deleted_at IS NULL AND p.id > $2::bigint "
	    "ORDER BY p.id LIMIT $3::integer) AS page CROSS JOIN LATERAL ("
	    "SELECT s.id, s.nom, s.email, s.en_retard, s.creneaux::text AS creneaux "
	    "FROM soumissions_disponibilites s WHERE s.id = page.id OFFSET 0) AS r "
	    "ORDER BY page.id", 3 },
	/* The export reads its slots and its answers in one snapshot. */
	[STMT_CAMPAIGN_EXPORT_SNAPSHOT] = { "campaign_export_snapshot",
	    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0 },
	/* $1 campaign: its active answers, fetched 500 at a time (memory stays flat). */
	[STMT_CAMPAIGN_EXPORT_DECLARE] = { "campaign_export_declare",
	    "DECLARE campagne_export NO SCROLL CURSOR FOR "
	    "SELECT s.id, s.nom, s.email, s.en_retard, s.creneaux::text AS creneaux, s.commentaire, "
	    "iso_8601(s.updated_at, c.fuseau) AS modifiee "
	    "FROM soumissions_disponibilites s JOIN campagnes c ON c.id = s.campagne_id "
	    "WHERE s.campagne_id = $1::bigint AND s.deleted_at IS NULL ORDER BY s.id", 1 },
	[STMT_CAMPAIGN_EXPORT_FETCH] = { "campaign_export_fetch",
	    "FETCH FORWARD 500 FROM campagne_export", 0 },
	[STMT_CAMPAIGN_EXPORT_CLOSE] = { "campaign_export_close", "CLOSE campagne_export", 0 },
	/* campaigns on the person's side */
/* A campaign's dates as the API writes them: ISO 8601 in its time zone (sql/0015). */
#define CAMPAIGN_DATES \
	"iso_8601(c.ouverture, c.fuseau) AS ouverture, iso_8601(c.fermeture, c.fuseau) AS fermeture, " \
	"iso_8601(c.fermeture + c.delai_grace, c.fuseau) AS fin_delai_grace, " \
	"iso_8601(c.modification_jusqu_a, c.fuseau) AS modification_jusqu_a"
/* The next instant at which the phase of campaign c changes (seconds since the epoch), or
 * NULL: what a cached form is valid until. */
#define CAMPAIGN_NEXT_CHANGE \
	"(SELECT extract(epoch FROM min(b.t))::bigint FROM (VALUES (c.ouverture), (c.fermeture), " \
	"(c.fermeture + c.delai_grace), (c.modification_jusqu_a)) AS b(t) " \
	"WHERE isfinite(b.t) AND b.t > now())"
/* $1 a slug, or '' for the first campaign. */
#define CAMPAIGN_NAMED "(CASE WHEN $1 = '' THEN c.id = campagne_par_defaut() ELSE c.slug = $1 END)"
	/* $1 slug or ''. The campaign of a form, whatever its state (the caller refuses a
	 * brouillon or archivee one), with its phase now and when the phase next changes. */
	[STMT_FORM_CAMPAIGN] = { "form_campaign",
	    "SELECT c.id, c.slug, c.titre, c.introduction, c.fuseau, c.etat, c.acces, "
	    "campagne_phase(c.id) AS phase, " CAMPAIGN_DATES ", "
	    CAMPAIGN_NEXT_CHANGE " AS prochain_changement "
	    "FROM campagnes AS c WHERE " CAMPAIGN_NAMED, 1 },
	/* $1 campaign id, $2 its time zone. Its slots still on its form, in order, with their
	 * day in its zone. */
	[STMT_FORM_CAMPAIGN_SLOTS] = { "form_campaign_slots",
	    "SELECT id, to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS debut, "
	    "to_char(ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS fin, "
	    "label AS libelle, to_char(starts_at AT TIME ZONE $2, 'YYYY-MM-DD') AS jour, besoin "
	    "FROM creneaux WHERE campagne_id = $1::bigint AND retire_at IS NULL "
	    "ORDER BY position, starts_at, id", 2 },
	/* The campaigns a person can answer now or soon (never brouillon, archivee, close),
	 * with the soonest phase change among them. */
	[STMT_CAMPAIGNS_PUBLIC] = { "campaigns_public",
	    "SELECT c.slug, c.titre, campagne_phase(c.id) AS phase, "
	    "iso_8601(c.ouverture, c.fuseau) AS ouverture, iso_8601(c.fermeture, c.fuseau) AS fermeture, "
	    "min(" CAMPAIGN_NEXT_CHANGE ") OVER () AS prochain_changement "
	    "FROM campagnes AS c WHERE c.etat = 'ouverte' "
	    "AND campagne_phase(c.id) IN ('a_venir', 'ouverte', 'retard') "
	    "ORDER BY c.ouverture NULLS FIRST, c.id", 0 },
	/* $1 slug or ''. The campaign an answer goes into, locked against a concurrent change of
	 * its state or dates until the end of the transaction: its phase is then the one the
	 * insert's trigger will see (now() is the transaction's time). Dates in French, in its
	 * zone, for a refusal's detail. */
	[STMT_CAMPAIGN_FOR_ANSWER] = { "campaign_for_answer",
	    "SELECT c.id, c.slug, c.titre, c.fuseau, c.etat, c.acces, campagne_phase(c.id) AS phase, "
	    "to_char(c.ouverture AT TIME ZONE c.fuseau, 'DD/MM/YYYY \"à\" HH24\" h \"MI') AS ouvre_le, "
	    "to_char(c.fermeture AT TIME ZONE c.fuseau, 'DD/MM/YYYY \"à\" HH24\" h \"MI') AS ferme_le "
	    "FROM campagnes AS c WHERE " CAMPAIGN_NAMED " FOR SHARE", 1 },
	/* $1 slug or ''. Its id (outside a transaction: which catalogue a body's slots are
	 * checked against). */
	[STMT_CAMPAIGN_ID] = { "campaign_id",
	    "SELECT c.id, c.etat FROM campagnes AS c WHERE " CAMPAIGN_NAMED, 1 },
	/* $1 jsonb array of slot ids, $2 campaign id (NULL: the first). The ids absent from the
	 * campaign's form. */
	[STMT_UNKNOWN_SLOTS_IN] = { "unknown_slots_in",
	    "SELECT x FROM jsonb_array_elements_text($1::jsonb) AS x "
	    "WHERE NOT EXISTS (SELECT 1 FROM creneaux c WHERE c.id = x "
	    "AND c.campagne_id = coalesce($2::bigint, " DEFAULT_CAMPAIGN ") AND c.retire_at IS NULL)", 2 },
	/* As STMT_SUBMISSION_INSERT, into campaign $6 (an id). The trigger of sql/0014 refuses
	 * (P0F01) outside the campaign's phase and sets en_retard during its grace period. */
	[STMT_SUBMISSION_INSERT_IN] = { "submission_insert_in",
	    "INSERT INTO soumissions_disponibilites (email, nom, creneaux, commentaire, "
	    "edit_token_hash, campagne_id) "
	    "VALUES ($1, $2, $3::jsonb, $4, decode($5, 'hex'), $6::bigint) "
	    "ON CONFLICT (campagne_id, lower(email)) WHERE deleted_at IS NULL DO NOTHING "
	    "RETURNING id, version, en_retard, "
	    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at",
	    6 },
	/* $1 sha256 of an edit or invitation token (hex, TOKEN_SUBMISSION): the campaign of its
	 * submission (no lock: which catalogue a PUT's slots are checked against, before its
	 * transaction). */
	[STMT_SUBMISSION_CAMPAIGN_BY_TOKEN] = { "submission_campaign_by_token",
	    "SELECT campagne_id FROM soumissions_disponibilites "
	    "JOIN " TOKEN_SUBMISSION("$1") " AS t USING (id)", 1 },
	/* participants and invitations (sql/0018) */
	/* $1 campaign id. No row: no such campaign; one row with a NULL id: no participant.
	 * reponse: as the view participants_reponses (sql/0020) defines it. Sorted by group (none last), then name: a group's rows follow each other. */
	[STMT_PARTICIPANTS_LIST] = { "participants_list",
	    "SELECT c.acces, p.id, p.email, p.nom, p.groupe, p.statut_invitation, p.erreur_smtp, "
	    "to_char(p.invited_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS invited_at, "
	    "p.desinscrit_relances_at IS NOT NULL AS desinscrit, p.reponse "
	    "FROM campagnes c LEFT JOIN participants_reponses p ON p.campagne_id = c.id "
	    "WHERE c.id = $1::bigint ORDER BY p.groupe NULLS LAST, lower(p.nom), p.id", 1 },
	/* $1 campaign, $2 email, $3 nom, $4 groupe (NULL). No row: the e-mail is on the list. */
	[STMT_PARTICIPANT_INSERT] = { "participant_insert",
	    "INSERT INTO participants (campagne_id, email, nom, groupe) "
	    "VALUES ($1::bigint, $2, $3, $4) ON CONFLICT (campagne_id, lower(email)) DO NOTHING "
	    "RETURNING id", 4 },
	/* $1 campaign, $2 jsonb [{ligne, email, nom, groupe}]. The lines that cannot be added:
	 * premiere, the first line with the same e-mail (when not this one); existe, already
	 * on the list. */
	[STMT_PARTICIPANTS_IMPORT_CHECK] = { "participants_import_check",
	    "SELECT ligne, premiere, existe FROM (SELECT x.ligne, "
	    "min(x.ligne) OVER (PARTITION BY lower(x.email)) AS premiere, "
	    "EXISTS (SELECT 1 FROM participants p WHERE p.campagne_id = $1::bigint "
	    "AND lower(p.email) = lower(x.email)) AS existe "
	    "FROM jsonb_to_recordset($2::jsonb) AS x(ligne integer, email text)) AS t "
	    "WHERE premiere <> ligne OR existe ORDER BY ligne", 2 },
	/* $1 campaign, $2 as above, checked: every line inserted; how many. */
	[STMT_PARTICIPANTS_IMPORT] = { "participants_import",
	    "WITH i AS (INSERT INTO participants (campagne_id, email, nom, groupe) "
	    "SELECT $1::bigint, x.email, x.nom, x.groupe "
	    "FROM jsonb_to_recordset($2::jsonb) AS x(ligne integer, email text, nom text, groupe text) "
	    "ORDER BY x.ligne RETURNING id) SELECT count(*) AS n FROM i", 2 },
	/* $1 campaign, $2 participant. No row: not one of the campaign's. */
	[STMT_PARTICIPANT_DELETE] = { "participant_delete",
	    "DELETE FROM participants WHERE campagne_id = $1::bigint AND id = $2::bigint "
	    "RETURNING id", 2 },
	/* $1 campaign: those never invited, locked (under the campaign's lock). */
	[STMT_PARTICIPANTS_TO_INVITE] = { "participants_to_invite",
	    "SELECT id, email, nom FROM participants WHERE campagne_id = $1::bigint "
	    "AND invited_at IS NULL ORDER BY id FOR UPDATE", 1 },
	/* $1 participant, $2 sha256 of the token (hex), $3 its mail, $4 the token's salt (hex,
	 * sql/0022). No row: invited already. */
	[STMT_PARTICIPANT_INVITED] = { "participant_invited",
	    "UPDATE participants SET jeton_invitation_hash = decode($2, 'hex'), invited_at = now(), "
	    "invitation_mail_id = $3::bigint, statut_invitation = 'a_envoyer', erreur_smtp = NULL, "
	    "jeton_sel = decode($4, 'hex') "
	    "WHERE id = $1::bigint AND invited_at IS NULL RETURNING id", 4 },
	/* $1 campaign, $2 sha256 of an invitation token (hex): its participant there, if any. */
	[STMT_PARTICIPANT_BY_TOKEN] = { "participant_by_token",
	    "SELECT id, email, nom FROM participants WHERE campagne_id = $1::bigint "
	    "AND jeton_invitation_hash = decode($2, 'hex')", 2 },
	/* $1 sha256 of an invitation token (hex): who it invites, where (a published campaign),
	 * and whether that person has answered (reponse: as participants_reponses says). */
	[STMT_INVITATION_LOOKUP] = { "invitation_lookup",
	    "SELECT p.nom, p.email, p.reponse, c.slug, c.titre, c.acces FROM participants_reponses p "
	    "JOIN campagnes c ON c.id = p.campagne_id "
	    "WHERE p.jeton_invitation_hash = decode($1, 'hex') "
	    "AND c.etat NOT IN ('brouillon', 'archivee')", 1 },
	/* $1 campaign, $2 'ouvert' or 'invites'. */
	[STMT_CAMPAIGN_ACCESS_SET] = { "campaign_access_set",
	    "UPDATE campagnes SET acces = $2 WHERE id = $1::bigint RETURNING acces", 2 },
	/* $1 participant: no more reminders (once; a second time changes nothing); the title
	 * of the participant's campaign (no row: no such participant any more). */
	[STMT_PARTICIPANT_UNSUBSCRIBE] = { "participant_unsubscribe",
	    "WITH u AS (UPDATE participants SET desinscrit_relances_at = now() "
	    "WHERE id = $1::bigint AND desinscrit_relances_at IS NULL RETURNING id) "
	    "SELECT c.titre, (SELECT count(*) FROM u) AS changes FROM participants p "
	    "JOIN campagnes c ON c.id = p.campagne_id WHERE p.id = $1::bigint", 1 },
	/* the administration's roster, streamed (lib/roster.c) */
	/* The active submissions of the first campaign, by name (the CSV): the cursor of
	 * STMT_ADMIN_SUBMISSIONS, in the order of soumissions_campagne_nom_idx (sql/0016). */
	[STMT_ADMIN_SUBMISSIONS_ACTIVE] = { "admin_submissions_active",
	    "DECLARE admin_soumissions NO SCROLL CURSOR FOR " ADMIN_SUBMISSION_COLUMNS " "
	    "FROM soumissions_disponibilites WHERE campagne_id = " DEFAULT_CAMPAIGN " "
	    "AND deleted_at IS NULL ORDER BY lower(nom), id", 0 },
	[STMT_ADMIN_SUBMISSIONS_FETCH] = { "admin_submissions_fetch",
	    "FETCH FORWARD 500 FROM admin_soumissions", 0 },
	[STMT_ADMIN_SUBMISSIONS_CLOSE] = { "admin_submissions_close",
	    "CLOSE admin_soumissions", 0 },
	/* $1 campaign: its slots as STMT_CAMPAIGN_SLOTS without the people available (a matrix
	 * page read with comptes=non: the page after the first keeps the first one's). */
	[STMT_CAMPAIGN_SLOTS_UNCOUNTED] = { "campaign_slots_uncounted",
	    "SELECT " SLOT_COLUMNS ", k.retire_at IS NOT NULL AS retire "
	    "FROM creneaux k JOIN campagnes c ON c.id = k.campagne_id "
	    "WHERE k.campagne_id = $1::bigint ORDER BY k.position, k.starts_at, k.id", 1 },
	/* $1 submission: every slot of its campaign it ticks now or ticked in a version of its
	 * history (at most 1000), as they are now (retire: removed from the form), each with the
	 * changes of its label or times the audit log holds (creneau.update, the last 50), oldest
	 * first. One row, one jsonb array; times in the campaign's zone like GET /api/form. */
	[STMT_SUBMISSION_KNOWN_SLOTS] = { "submission_known_slots",
	    "WITH s AS (SELECT campagne_id, jsonb_build_object('c', creneaux, "
	    "'h', historique_modifications) AS j FROM soumissions_disponibilites "
	    "WHERE id = $1::bigint), "
	    "ids AS (SELECT DISTINCT v.id FROM s, LATERAL ("
	    "SELECT jsonb_path_query(s.j, '$.c[*]') #>> '{}' AS id UNION "
	    "SELECT jsonb_path_query(s.j, '$.h[*].champs.creneaux.*[*]') #>> '{}') AS v "
	    "WHERE v.id IS NOT NULL LIMIT 1000) "
	    "SELECT coalesce(jsonb_agg(jsonb_build_object('id', k.id, 'libelle', k.label, "
	    "'debut', iso_8601(k.starts_at, c.fuseau), 'fin', iso_8601(k.ends_at, c.fuseau), "
	    "'retire', k.retire_at IS NOT NULL, 'modifications', coalesce(m.liste, '[]'::jsonb)) "
	    "ORDER BY k.position, k.starts_at, k.id), '[]'::jsonb)::text AS creneaux_connus "
	    "FROM s JOIN ids ON true JOIN creneaux k ON k.id = ids.id AND k.campagne_id = s.campagne_id "
	    "JOIN campagnes c ON c.id = k.campagne_id "
	    "LEFT JOIN LATERAL (SELECT jsonb_agg(jsonb_build_object("
	    "'le', to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
	    "'avant', jsonb_strip_nulls(jsonb_build_object("
	    "'libelle', a.f #> '{label,avant}', "
	    "'debut', iso_8601((a.f #>> '{starts_at,avant}')::timestamptz, c.fuseau), "
	    "'fin', iso_8601((a.f #>> '{ends_at,avant}')::timestamptz, c.fuseau))), "
	    "'apres', jsonb_strip_nulls(jsonb_build_object("
	    "'libelle', a.f #> '{label,apres}', "
	    "'debut', iso_8601((a.f #>> '{starts_at,apres}')::timestamptz, c.fuseau), "
	    "'fin', iso_8601((a.f #>> '{ends_at,apres}')::timestamptz, c.fuseau)))) "
	    "ORDER BY a.created_at, a.id) AS liste "
	    "FROM (SELECT l.id, l.created_at, l.details -> 'champs' AS f FROM audit_logs l "
	    "WHERE l.entity = 'creneaux' AND l.entity_id = k.id "
	    "AND l.action = 'creneau.update' "
	    "AND l.details -> 'champs' ?| array['label', 'starts_at', 'ends_at'] "
	    "ORDER BY l.created_at DESC, l.id DESC LIMIT 50) AS a) AS m ON true", 1 },
	/* counts per slot (sql/0021) */
	/* The deltas of the counts per slot moved into creneaux_comptes (-1: another session
	 * is doing it). Outside a REPEATABLE READ transaction. */
	[STMT_SLOT_COUNTS_COMPACT] = { "slot_counts_compact",
	    "SELECT creneaux_comptes_compacter() AS deltas", 0 },
	/* Campaigns with participants (archived ones aside), each with the count of its
	 * participants per answer state as participants_reponses (sql/0020) defines it, the
	 * rate of those who answered (percent), its phase and the hours left before it closes
	 * (NULL without a closing date or once passed). Soonest closing first. */
	[STMT_METRICS_CAMPAIGN_RESPONSES] = { "metrics_campaign_responses",
	    "SELECT coalesce(jsonb_agg(jsonb_build_object('slug', c.slug, 'titre', c.titre, "
	    "'phase', campagne_phase(c.id), 'fermeture', iso_8601(c.fermeture, c.fuseau), "
	    "'heures_avant_fermeture', CASE WHEN c.fermeture > now() THEN "
	    "round(extract(epoch FROM c.fermeture - now()) / 3600, 2) END, "
	    "'participants', r.total, 'repondu', r.repondu, 'sans_reponse', r.sans_reponse, "
	    "'retire', r.retire, 'taux_reponse', round(100.0 * r.repondu / r.total, 2)) "
	    "ORDER BY c.fermeture NULLS LAST, c.slug), '[]')::text AS campagnes "
	    "FROM campagnes c JOIN (SELECT campagne_id, count(*) AS total, "
	    "count(*) FILTER (WHERE reponse = 'repondu') AS repondu, "
	    "count(*) FILTER (WHERE reponse = 'sans_reponse') AS sans_reponse, "
	    "count(*) FILTER (WHERE reponse = 'retire') AS retire "
	    "FROM participants_reponses GROUP BY campagne_id) AS r ON r.campagne_id = c.id "
	    "WHERE c.etat <> 'archivee'", 0 },
	/* backups of the participants (format 3): read, scratch copy, load, as the other tables */
	[STMT_BACKUP_DECLARE_PARTICIPANTS] = { "backup_declare_participants",
	    BACKUP_CURSOR "participants AS t ORDER BY t.id", 0 },
	[STMT_BACKUP_DECLARE_SCRATCH_PARTICIPANTS] = { "backup_declare_scratch_participants",
	    BACKUP_CURSOR "pg_temp.restore_participants AS t ORDER BY t.id", 0 },
	[STMT_BACKUP_SCRATCH_PARTICIPANTS] = { "backup_scratch_participants",
	    "CREATE TEMP TABLE restore_participants (LIKE participants " BACKUP_LIKE
	    ") ON COMMIT DROP", 0 },
	[STMT_BACKUP_LOAD_PARTICIPANTS] = { "backup_load_participants",
	    "INSERT INTO pg_temp.restore_participants SELECT * FROM "
	    "jsonb_populate_recordset(NULL::pg_temp.restore_participants, $1::jsonb)", 1 },
	/* Participants gone from the database: back with their id, token hash, invitation and
	 * unsubscription dates (after their campaigns). The invitation mail they point to is
	 * not in backups: the link goes when that mail is no longer there. One whose e-mail or
	 * token is now another's is left out. */
	[STMT_BACKUP_APPLY_PARTICIPANTS] = { "backup_apply_participants",
	    "WITH added AS (INSERT INTO participants OVERRIDING SYSTEM VALUE SELECT p.* "
	    "FROM pg_temp.restore_participants AS r CROSS JOIN LATERAL jsonb_populate_record(r, "
	    "jsonb_build_object('invitation_mail_id', CASE WHEN EXISTS (SELECT 1 FROM mail_outbox "
	    "AS m WHERE m.id = r.invitation_mail_id) THEN r.invitation_mail_id END)) AS p "
	    "ON CONFLICT DO NOTHING RETURNING id) SELECT count(*) FROM added", 0 },
	/* the person's side of invitations (issue 16) */
	/* $1 participant: the title of the campaign the unsubscribe page names, and whether
	 * the participant already unsubscribed (no row: no such participant any more). */
	[STMT_PARTICIPANT_UNSUBSCRIBE_PAGE] = { "participant_unsubscribe_page",
	    "SELECT c.titre, p.desinscrit_relances_at IS NOT NULL AS desinscrit "
	    "FROM participants p JOIN campagnes c ON c.id = p.campagne_id "
	    "WHERE p.id = $1::bigint", 1 },
	/* $1 submission: the access mode of its campaign ('ouvert', 'invites'). */
	[STMT_SUBMISSION_CAMPAIGN_ACCESS] = { "submission_campaign_access",
	    "SELECT c.acces FROM soumissions_disponibilites s "
	    "JOIN campagnes c ON c.id = s.campagne_id WHERE s.id = $1::bigint", 1 },
	/* reminders (sql/0022, lib/reminders.c) */
	/* $1 campaign: what a reminder's mail says of it, locked (the cron's transaction; under
	 * an admin write the row is locked already). */
	[STMT_REMINDER_CAMPAIGN] = { "reminder_campaign",
	    "SELECT c.slug, c.titre, campagne_phase(c.id) AS phase, "
	    "to_char(c.fermeture AT TIME ZONE c.fuseau, 'DD/MM/YYYY \"à\" HH24\" h \"MI') AS ferme_le "
	    "FROM campagnes c WHERE c.id = $1::bigint FOR UPDATE", 1 },
	/* $1 campaign, $2 the administrator: a manual reminder. */
	[STMT_REMINDER_RUN_MANUAL] = { "reminder_run_manual",
	    "INSERT INTO relances (campagne_id, genre, admin) VALUES ($1::bigint, 'manuelle', $2) "
	    "RETURNING id", 2 },
	/* $1 campaign, $2 hours before its closing: that automatic reminder, counted from the
	 * closing as it is now. No row: it was done already (the unique index). */
	[STMT_REMINDER_RUN_AUTO] = { "reminder_run_auto",
	    "INSERT INTO relances (campagne_id, genre, heures_avant, fermeture) "
	    "SELECT c.id, 'automatique', $2::integer, c.fermeture FROM campagnes c "
	    "WHERE c.id = $1::bigint AND c.fermeture IS NOT NULL "
	    "ON CONFLICT (campagne_id, heures_avant, fermeture) WHERE genre = 'automatique' "
	    "DO NOTHING RETURNING id", 2 },
	/* $1 campaign, $2 true for a manual reminder: how many it would write to now. */
	[STMT_REMINDER_TARGETS_COUNT] = { "reminder_targets_count",
	    "SELECT count(*) AS n " REMINDER_TARGETS("$1", "$2"), 2 },
	/* $1 campaign, $2 the reminder, $3 as above: each person to remind claimed for this
	 * reminder (a second claim of the same one gets nobody, even concurrent), with what
	 * their mail needs. */
	[STMT_REMINDER_CLAIM] = { "reminder_claim",
	    "WITH claimed AS (INSERT INTO relances_envois (relance_id, participant_id) "
	    "SELECT $2::bigint, p.id " REMINDER_TARGETS("$1", "$3") " ORDER BY p.id "
	    "ON CONFLICT DO NOTHING RETURNING participant_id) "
	    "SELECT p.id, p.email, p.nom, encode(p.jeton_sel, 'hex') AS sel, "
	    "encode(p.jeton_invitation_hash, 'hex') AS hash "
	    "FROM claimed JOIN participants p ON p.id = claimed.participant_id ORDER BY p.id", 3 },
	/* $1 reminder, $2 participant, $3 the mail queued. */
	[STMT_REMINDER_MAIL] = { "reminder_mail",
	    "UPDATE relances_envois SET mail_id = $3::bigint "
	    "WHERE relance_id = $1::bigint AND participant_id = $2::bigint", 3 },
	/* $1 reminder, $2 how many more were written to. */
	[STMT_REMINDER_COUNT_ADD] = { "reminder_count_add",
	    "UPDATE relances SET envoyes = envoyes + $2::integer WHERE id = $1::bigint", 2 },
	/* $1 participant, $2 a new salt, $3 its token's sha256 (hex): a token that replaces the
	 * invitation's (one that cannot be derived again: another secret, before sql/0022). */
	[STMT_PARTICIPANT_TOKEN_RENEW] = { "participant_token_renew",
	    "UPDATE participants SET jeton_sel = decode($2, 'hex'), "
	    "jeton_invitation_hash = decode($3, 'hex') WHERE id = $1::bigint RETURNING id", 3 },
	/* The automatic reminders due now: per open campaign, the nearest of its times before
	 * the closing that has passed, unless done (for this closing). */
	[STMT_REMINDERS_DUE] = { "reminders_due",
	    "SELECT c.id, d.h AS heures_avant FROM campagnes c CROSS JOIN LATERAL "
	    "(SELECT min(x) AS h FROM unnest(c.relances_heures) AS x "
	    "WHERE now() >= c.fermeture - make_interval(hours => x)) AS d "
	    "WHERE campagne_phase(c.id) = 'ouverte' AND c.fermeture IS NOT NULL AND d.h IS NOT NULL "
	    "AND NOT EXISTS (SELECT 1 FROM relances r WHERE r.campagne_id = c.id "
	    "AND r.genre = 'automatique' AND r.heures_avant = d.h AND r.fermeture = c.fermeture) "
	    "ORDER BY c.id LIMIT 1000", 0 },
	/* $1 campaign: its schedule, how many a manual reminder would write to, and the last
	 * reminders. No row: no such campaign. */
	[STMT_REMINDERS_LIST] = { "reminders_list",
	    "SELECT array_to_json(c.relances_heures)::text AS heures, "
	    "(SELECT count(*) " REMINDER_TARGETS("c.id", "true") ") AS a_relancer, "
	    "(SELECT coalesce(json_agg(json_build_object('id', r.id, 'genre', r.genre, "
	    "'admin', r.admin, 'heures_avant', r.heures_avant, 'envoyes', r.envoyes, "
	    "'le', to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) "
	    "ORDER BY r.created_at DESC, r.id DESC), '[]') FROM (SELECT * FROM relances "
	    "WHERE campagne_id = c.id ORDER BY created_at DESC, id DESC LIMIT 100) r)::text "
	    "AS relances FROM campagnes c WHERE c.id = $1::bigint", 1 },
	/* $1 campaign, $2 jsonb array of hours (checked): its automatic reminders. */
	[STMT_REMINDERS_SCHEDULE_SET] = { "reminders_schedule_set",
	    "UPDATE campagnes SET relances_heures = ARRAY(SELECT x::integer FROM "
	    "jsonb_array_elements_text($2::jsonb) AS x ORDER BY x::integer DESC) "
	    "WHERE id = $1::bigint RETURNING array_to_json(relances_heures)::text AS heures", 2 },
	/* $1 campaign: those who have not answered, for the CSV (bounded). */
	[STMT_PARTICIPANTS_NO_ANSWER] = { "participants_no_answer",
	    "SELECT p.email, p.nom, p.groupe, CASE WHEN p.invited_at IS NULL THEN 'a_inviter' "
	    "ELSE p.statut_invitation END AS invitation, p.erreur_smtp, "
	    "p.desinscrit_relances_at IS NOT NULL AS desinscrit "
	    "FROM participants_reponses p WHERE p.campagne_id = $1::bigint "
	    "AND p.reponse = 'sans_reponse' ORDER BY p.groupe NULLS LAST, lower(p.nom), p.id "
	    "LIMIT 100000", 1 },
};

const struct stmt_def *
stmt_get(enum stmt s)
{
	return &stmts[s];
}
