/* idempotency.h — Idempotency-Key handling (IETF httpapi draft): a key is claimed inside the
 * writing transaction, so the stored response commits or vanishes with the data. */
#ifndef FIABLE_IDEMPOTENCY_H
#define FIABLE_IDEMPOTENCY_H

#include <stdbool.h>

#include "crypto.h"
#include "db.h"

enum idem_claim {
	IDEM_CLAIMED,   /* the key is ours for this transaction */
	IDEM_TAKEN,     /* an earlier request with this key committed: replay or 422 */
	IDEM_FAILED     /* database error; see db_lost() */
};

struct idem_record {
	char endpoint[64];
	char payload_sha256[2 * SHA256_LEN + 1];
	int status;
	char *body;     /* malloc'd, NULL when none was stored */
};

/* Claims key for endpoint in the current transaction. Blocks while another transaction
 * holds the same key, then reports it taken if that one committed. */
enum idem_claim idempotency_claim(struct db *db, const char *key, const char *endpoint,
    const char *payload_sha256_hex);
/* Reads a committed key: 1 found, 0 absent, -1 error. Free rec->body. */
int idempotency_lookup(struct db *db, const char *key, struct idem_record *rec);
enum idem_replay {
	IDEM_REPLAY,    /* same request: *body and *status hold its committed response */
	IDEM_REUSED,    /* the key served another request: 422 */
	IDEM_GONE,      /* no longer there (expired meanwhile): the client's retry settles it */
	IDEM_ERROR      /* database error; see db_lost() */
};

/* After a lost claim: the committed response of key, if scope and fingerprint are those of
 * the request that stored it. *body is malloc'd. */
enum idem_replay idempotency_replay(struct db *db, const char *key, const char *scope,
    const char *fingerprint, char **body, int *status);

/* Stores the response of the claimed key (in the same transaction). */
bool idempotency_store(struct db *db, const char *key, int status, const char *body,
    const char *submission_id);

#endif
