#include "write_tx.h"

#include <stdio.h>
#include <stdlib.h>

#include "idempotency.h"
#include "metrics.h"

/* "POST /api/submit": a key serves one method of one address. */
static void
scope_of(const struct write_tx *tx, char *scope, size_t cap)
{
	snprintf(scope, cap, "%s %s", tx->req->method, tx->endpoint);
}

/* A key already used: its stored response if the request is the same, else 422. */
static enum api_error
replay(struct write_tx *tx, const char *scope)
{
	switch (idempotency_replay(tx->db, tx->key_hash, scope, tx->fingerprint, &tx->body,
	    &tx->status, &tx->exposed)) {
	case IDEM_REPLAY:
		/* The first attempt may have committed on the primary alone (its wait for the
		 * synchronous standby cut short): its response is replayed once on two disks. */
		if (!db_sync_barrier(tx->db)) {
			free(tx->body);
			tx->body = NULL;
			return db_lost(tx->db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL;
		}
		tx->replayed = true;
		return ERR_NONE;
	case IDEM_REUSED:
		return ERR_IDEMPOTENCY_KEY_REUSED;
	case IDEM_GONE:
		return ERR_DATABASE_UNAVAILABLE;
	case IDEM_ERROR:
		break;
	}
	return db_lost(tx->db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL;
}

enum api_error
write_tx_begin(struct write_tx *tx)
{
	char scope[64];

	tx->replayed = false;
	tx->body = NULL;
	tx->status = 0;
	tx->exposed = false;
	if (!db_begin(tx->db))
		return db_lost(tx->db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL;
	if (tx->key_hash == NULL)
		return ERR_NONE;
	scope_of(tx, scope, sizeof(scope));
	switch (idempotency_claim(tx->db, tx->key_hash, scope, tx->fingerprint)) {
	case IDEM_CLAIMED:
		return ERR_NONE;
	case IDEM_TAKEN:
		db_rollback(tx->db);
		return replay(tx, scope);
	case IDEM_FAILED:
		break;
	}
	return write_tx_fail(tx);
}

static enum api_error
commit_with(struct write_tx *tx, int status, const char *body,
    const struct audit_entry *entry, const char *submission_id)
{
	if (!metrics_record(tx->db, tx->req, tx->endpoint, status) ||
	    (tx->key_hash != NULL &&
	    !idempotency_store(tx->db, tx->key_hash, status, body, submission_id)) ||
	    !audit_append_commit(tx->db, tx->req, entry))
		return write_tx_fail(tx);
	return ERR_NONE;
}

enum api_error
write_tx_commit(struct write_tx *tx, int status, const char *body,
    const struct audit_entry *entry)
{
	return commit_with(tx, status, body, entry, entry->entity_id);
}

enum api_error
write_tx_commit_refusal(struct write_tx *tx, int status, const char *body,
    const struct audit_entry *entry)
{
	return commit_with(tx, status, body, entry, NULL);
}

enum api_error
write_tx_fail(struct write_tx *tx)
{
	bool lost = db_lost(tx->db);

	db_rollback(tx->db);
	return lost ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL;
}

void
write_tx_abort(struct write_tx *tx)
{
	db_rollback(tx->db);
}
