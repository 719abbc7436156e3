/* idempotency.h — Idempotency-Key handling (IETF httpapi draft): a key is claimed inside the
 * writing transaction, so the stored response commits or vanishes with the data.
 *
 * A key is a secret, like an edit token: whoever holds it and the body gets the submission's
 * token back on a replay. So it is never stored, logged or measured in clear: past
 * idempotency_key_hash, the functions here take its SHA-256, under which the database finds
 * it. */
#ifndef FIABLE_IDEMPOTENCY_H
#define FIABLE_IDEMPOTENCY_H

#include <stdbool.h>

#include "crypto.h"
#include "db.h"

/* Hex SHA-256 of a key, NUL included. */
#define IDEM_KEY_HASH_LEN (2 * SHA256_LEN + 1)

/* The hex SHA-256 of a normalised key (lowercase UUID, see http_parse_uuid): the only form
 * in which a key leaves the request. sql/0010 computes the same from the uuid's text. */
void idempotency_key_hash(const char *key, char hex[IDEM_KEY_HASH_LEN]);

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
	bool exposed;   /* the key was written in clear before sql/0010: no token on replay */
};

/* Claims the key whose hash is key_hash for endpoint in the current transaction. Blocks
 * while another transaction holds the same key, then reports it taken if that one
 * committed. */
enum idem_claim idempotency_claim(struct db *db, const char *key_hash, const char *endpoint,
    const char *payload_sha256_hex);
/* Reads a committed key by its hash: 1 found, 0 absent, -1 error. Free rec->body. */
int idempotency_lookup(struct db *db, const char *key_hash, struct idem_record *rec);
enum idem_replay {
	IDEM_REPLAY,    /* same request: *body and *status hold its committed response */
	IDEM_REUSED,    /* the key served another request: 422 */
	IDEM_GONE,      /* no longer there (expired meanwhile): the client's retry settles it */
	IDEM_ERROR      /* database error; see db_lost() */
};

/* After a lost claim: the committed response of the key, if scope and fingerprint are those
 * of the request that stored it. *body is malloc'd; *exposed (may be NULL) tells a key that
 * was once written in clear, whose replay must not carry the edit token again. */
enum idem_replay idempotency_replay(struct db *db, const char *key_hash, const char *scope,
    const char *fingerprint, char **body, int *status, bool *exposed);

/* Stores the response of the claimed key (in the same transaction). */
bool idempotency_store(struct db *db, const char *key_hash, int status, const char *body,
    const char *submission_id);

#endif
