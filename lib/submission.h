/* submission.h — storing a validated submission and describing it in JSON. */
#ifndef FIABLE_SUBMISSION_H
#define FIABLE_SUBMISSION_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "crypto.h"
#include "db.h"
#include "validate.h"

struct stored_submission {
	char id[24];
	long version;
	char created_at[40];
	bool late;                   /* en_retard: arrived during the campaign's grace period */
	const char *campagne;        /* the campaign's slug (kept by the caller), or NULL: then
	                              * the representation has neither campagne nor en_retard */
};

enum store_result {
	STORE_OK,
	STORE_DUPLICATE_EMAIL,   /* an active submission has this e-mail */
	STORE_CAMPAIGN_REFUSED,  /* the campaign refuses it now (SQLSTATE P0F01, sql/0014) */
	STORE_FAILED             /* database error; see db_lost() */
};

/* Checks the chosen slots against the catalogue of a campaign (its id; NULL = the first)
 * and records "unknown slot" on the field. Returns 0, or -1 when the database could not
 * answer. */
int submission_check_slots(struct db *db, struct submission *s, const char *campaign_id);

/* Inserts s into a campaign (its id) with the hash of its edit token, in the current
 * transaction, under the lock of its e-mail (the address in every campaign: wider than the
 * per-campaign uniqueness, so still exact): STORE_DUPLICATE_EMAIL when an active submission
 * of the campaign has it (no error raised), STORE_CAMPAIGN_REFUSED outside its phase. */
enum store_result submission_insert(struct db *db, const struct submission *s,
    const char *campaign_id, const unsigned char token_hash[SHA256_LEN],
    struct stored_submission *out);

/* Runs a statement that writes one submission (withdraw, new token) in the current
 * transaction: STORE_OK, STORE_DUPLICATE_EMAIL when the e-mail would then be active twice
 * (a unique violation), or STORE_FAILED. */
enum store_result submission_write(struct db *db, enum stmt s, const char *const *params);

/* Runs a statement that leaves one submission active with email (STMT_SUBMISSION_UPDATE,
 * STMT_SUBMISSION_UNDELETE) after taking the e-mail's lock: STORE_DUPLICATE_EMAIL when it
 * wrote no row because another active submission has the e-mail. The unique index is then
 * never what refuses, so no error naming the address reaches the server's log. */
enum store_result submission_write_active(struct db *db, enum stmt s, const char *email,
    const char *const *params);

/* The public description of a stored submission (no token). */
cJSON *submission_to_json(const struct submission *s, const struct stored_submission *st);

/* The edit token of the submission created with an idempotency key: HMAC(secret, key), so a
 * replayed response can carry it again while the database only ever holds its SHA-256. The
 * key must therefore stay as secret as the token (idempotency.h). */
void edit_token_for_key(const unsigned char *secret, size_t secretlen, const char *idem_key,
    char token[TOKEN_STR_LEN], unsigned char hash[SHA256_LEN]);

/* A fresh random edit token (256 bits) and its SHA-256 (issued by a link request). */
int edit_token_random(char token[TOKEN_STR_LEN], unsigned char hash[SHA256_LEN]);

/* Checks the shape of a presented token (43 base64url characters) and writes the hex SHA-256
 * used to find it. False for anything else, which is answered like a wrong token. */
bool edit_token_lookup_hash(const char *token, char hex[2 * SHA256_LEN + 1]);

/* What a writer knows of the row it locked (FOR UPDATE) for the rest of its transaction. */
struct locked_submission {
	char id[24];
	long version;
	bool withdrawn;
	char token_hash[2 * SHA256_LEN + 1];
	char email[256];
	char nom[512];
};

enum lock_result {
	LOCK_OK,
	LOCK_NOT_FOUND,
	LOCK_FAILED          /* database error; see db_lost() */
};

/* Locks the submission of a token (by the hex SHA-256 of the token, compared again in
 * constant time) or of an id, in the current transaction. */
enum lock_result submission_lock_by_token(struct db *db, const char *token_hash_hex,
    struct locked_submission *out);
enum lock_result submission_lock_by_id(struct db *db, const char *id,
    struct locked_submission *out);

/* The public representation of a stored submission, with its history (no token):
 * {id, email, nom, creneaux, commentaire, version, created_at, updated_at, deleted_at,
 * historique, en_retard, campagne (its slug)}. NULL when absent or on error (see db_lost()). */
cJSON *submission_load(struct db *db, const char *id);

/* ETag header line ("ETag: \"vN\"\r\n") of a representation's version. */
void submission_etag(const cJSON *representation, char *buf, size_t len);

#endif
