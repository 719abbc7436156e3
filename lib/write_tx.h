/* write_tx.h — the one exactly-once write path: every write that answers a person (a first
 * submission, a change) is ONE transaction
 *   BEGIN, claim the Idempotency-Key  (write_tx_begin)
 *   the write itself, then what must happen with it (a mail queued...)   (the caller)
 *   the request's metric, the response stored for replays, the audit row and COMMIT in one
 *   round trip  (write_tx_commit)
 * so the response is stored if and only if the data is. A key already used replays its
 * stored response (same scope and fingerprint) or is refused (422). */
#ifndef FIABLE_WRITE_TX_H
#define FIABLE_WRITE_TX_H

#include <stdbool.h>

#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "http.h"

struct write_tx {
	/* given */
	struct db *db;
	const struct http_request *req;
	const char *endpoint;        /* metrics label; with the method, the key's scope */
	const char *key_hash;        /* hex SHA-256 of the Idempotency-Key, or NULL (no key) */
	const char *fingerprint;     /* hex SHA-256 identifying the request under the key */
	/* a replay (write_tx_begin returned ERR_NONE with replayed): */
	bool replayed;
	int status;
	char *body;                  /* malloc'd; the caller frees it (free) */
	bool exposed;                /* the key was written in clear before sql/0010 */
};

/* BEGIN and, with a key, claim it. ERR_NONE with the transaction open (tx->replayed false)
 * or, when the key was already used by the same request, closed with its stored response in
 * tx (tx->replayed). Any other value is the error to answer; the transaction is closed. */
enum api_error write_tx_begin(struct write_tx *tx);

/* The last steps: metric (status), stored response (with a key), audit row and COMMIT.
 * ERR_NONE, or the error to answer after the rollback (503 when the connection was lost,
 * even during COMMIT: the client retries with its key, which replays or writes now). */
enum api_error write_tx_commit(struct write_tx *tx, int status, const char *body,
    const struct audit_entry *entry);
/* Same, for a response that names no submission (a refusal stored for replays, such as a
 * campaign's 403): the key is stored without a submission id. */
enum api_error write_tx_commit_refusal(struct write_tx *tx, int status, const char *body,
    const struct audit_entry *entry);

/* Gives up after a failed step: rollback; ERR_DATABASE_UNAVAILABLE when the connection was
 * lost, else ERR_INTERNAL. */
enum api_error write_tx_fail(struct write_tx *tx);

/* Gives up for an answer that changes nothing (a refusal): rollback, key claim included. */
void write_tx_abort(struct write_tx *tx);

#endif
