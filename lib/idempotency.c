#include "idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
idempotency_key_hash(const char *key, char hex[IDEM_KEY_HASH_LEN])
{
	unsigned char digest[SHA256_LEN];

	sha256(key, strlen(key), digest);
	hex_encode(digest, SHA256_LEN, hex);
}

enum idem_claim
idempotency_claim(struct db *db, const char *key_hash, const char *endpoint,
    const char *payload_sha256_hex)
{
	const char *params[3] = { key_hash, endpoint, payload_sha256_hex };
	PGresult *res = db_exec(db, STMT_IDEMPOTENCY_CLAIM, params);
	enum idem_claim r;

	if (!db_ok(res))
		r = IDEM_FAILED;
	else
		r = PQntuples(res) == 1 ? IDEM_CLAIMED : IDEM_TAKEN;
	PQclear(res);
	return r;
}

int
idempotency_lookup(struct db *db, const char *key_hash, struct idem_record *rec)
{
	const char *params[1] = { key_hash };
	PGresult *res = db_query(db, STMT_IDEMPOTENCY_LOOKUP, params);
	int found;

	memset(rec, 0, sizeof(*rec));
	if (!db_ok(res)) {
		PQclear(res);
		return -1;
	}
	found = PQntuples(res) == 1;
	if (found) {
		long long status = 0;
		const char *exposed = db_text(res, 0, "key_exposed");

		snprintf(rec->endpoint, sizeof(rec->endpoint), "%s", db_text(res, 0, "endpoint"));
		snprintf(rec->payload_sha256, sizeof(rec->payload_sha256), "%s",
		    db_text(res, 0, "payload_sha256"));
		/* No status yet: a claim whose transaction is still open (never committed). */
		if (!db_is_null(res, 0, "status_code") &&
		    !db_int(res, 0, "status_code", 100, 599, &status))
			found = -1;
		rec->status = (int)status;
		rec->exposed = exposed != NULL && strcmp(exposed, "t") == 0;
		if (found == 1 && !db_is_null(res, 0, "response_body") &&
		    (rec->body = strdup(db_text(res, 0, "response_body"))) == NULL)
			found = -1;
	}
	PQclear(res);
	return found;
}

enum idem_replay
idempotency_replay(struct db *db, const char *key_hash, const char *scope,
    const char *fingerprint, char **body, int *status, bool *exposed)
{
	struct idem_record rec;
	int found = idempotency_lookup(db, key_hash, &rec);

	if (found < 0)
		return IDEM_ERROR;
	if (found == 0)
		return IDEM_GONE;
	if (strcmp(rec.endpoint, scope) != 0 || strcmp(rec.payload_sha256, fingerprint) != 0 ||
	    rec.body == NULL) {
		free(rec.body);
		return IDEM_REUSED;
	}
	*body = rec.body;
	*status = rec.status;
	if (exposed != NULL)
		*exposed = rec.exposed;
	return IDEM_REPLAY;
}

bool
idempotency_store(struct db *db, const char *key_hash, int status, const char *body,
    const char *submission_id)
{
	char st[8];
	const char *params[4] = { key_hash, st, body, submission_id };
	PGresult *res;
	bool ok;

	snprintf(st, sizeof(st), "%d", status);
	res = db_exec(db, STMT_IDEMPOTENCY_STORE, params);
	ok = db_ok(res) && strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	return ok;
}
