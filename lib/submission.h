/* submission.h — storing a validated submission and describing it in JSON. */
#ifndef FIABLE_SUBMISSION_H
#define FIABLE_SUBMISSION_H

#include <cjson/cJSON.h>

#include "crypto.h"
#include "db.h"
#include "validate.h"

struct stored_submission {
	char id[24];
	long version;
	char created_at[40];
};

enum store_result {
	STORE_OK,
	STORE_DUPLICATE_EMAIL,   /* an active submission has this e-mail */
	STORE_FAILED             /* database error; see db_lost() */
};

/* Checks the chosen slots against the catalogue and records "unknown slot" on the field.
 * Returns 0, or -1 when the database could not answer. */
int submission_check_slots(struct db *db, struct submission *s);

/* Inserts s with the hash of its edit token, in the current transaction. */
enum store_result submission_insert(struct db *db, const struct submission *s,
    const unsigned char token_hash[SHA256_LEN], struct stored_submission *out);

/* The public description of a stored submission (no token). */
cJSON *submission_to_json(const struct submission *s, const struct stored_submission *st);

/* The edit token of the submission created with an idempotency key: HMAC(secret, key), so a
 * replayed response can carry it again while the database only ever holds its SHA-256. */
void edit_token_for_key(const unsigned char *secret, size_t secretlen, const char *idem_key,
    char token[TOKEN_STR_LEN], unsigned char hash[SHA256_LEN]);

#endif
