#include "submission.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "num.h"

/* What the triggers of sql/0014 raise when a campaign refuses a write now. */
#define CAMPAIGN_REFUSED_SQLSTATE "P0F01"

int
submission_check_slots(struct db *db, struct submission *s, const char *campaign_id)
{
	cJSON *ids;
	char *json, msg[FIELD_ERROR_LEN];
	const char *params[2];
	PGresult *res;
	int rc = 0;

	if (s->errors[FIELD_SLOTS][0] != '\0' || s->nslots == 0)
		return 0;
	if ((ids = submission_slots_json(s)) == NULL)
		return -1;
	json = cJSON_PrintUnformatted(ids);
	cJSON_Delete(ids);
	if (json == NULL)
		return -1;
	params[0] = json;
	params[1] = campaign_id;
	res = db_query(db, STMT_UNKNOWN_SLOTS_IN, params);
	if (!db_ok(res)) {
		rc = -1;
	} else if (PQntuples(res) > 0) {
		snprintf(msg, sizeof(msg), "Ce créneau n’existe pas (ou plus) : %s.",
		    db_text(res, 0, "x"));
		submission_set_error(s, FIELD_SLOTS, msg);
	}
	PQclear(res);
	cJSON_free(json);
	return rc;
}

/* The e-mail's transaction lock (STMT_SUBMISSION_EMAIL_LOCK). */
static bool
email_lock(struct db *db, const char *email)
{
	const char *params[1] = { email };
	PGresult *res = db_exec(db, STMT_SUBMISSION_EMAIL_LOCK, params);
	bool ok = db_ok(res);

	PQclear(res);
	return ok;
}

enum store_result
submission_insert(struct db *db, const struct submission *s, const char *campaign_id,
    const unsigned char token_hash[SHA256_LEN], struct stored_submission *out)
{
	char hash_hex[2 * SHA256_LEN + 1], *slots;
	cJSON *arr;
	const char *params[6];
	PGresult *res;
	enum store_result r;

	if ((arr = submission_slots_json(s)) == NULL)
		return STORE_FAILED;
	slots = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	if (slots == NULL)
		return STORE_FAILED;
	hex_encode(token_hash, SHA256_LEN, hash_hex);
	if (!email_lock(db, s->email)) {
		cJSON_free(slots);
		return STORE_FAILED;
	}
	params[0] = s->email;
	params[1] = s->name;
	params[2] = slots;
	params[3] = s->comment;
	params[4] = hash_hex;
	params[5] = campaign_id;
	res = db_exec(db, STMT_SUBMISSION_INSERT_IN, params);
	if (db_ok(res) && PQntuples(res) == 1) {
		long long version;

		snprintf(out->id, sizeof(out->id), "%s", db_text(res, 0, "id"));
		snprintf(out->created_at, sizeof(out->created_at), "%s",
		    db_text(res, 0, "created_at"));
		r = db_int(res, 0, "version", 1, INT_MAX, &version) ? STORE_OK : STORE_FAILED;
		out->version = (long)version;
		out->late = db_bool(res, 0, "en_retard");
	} else if (!db_ok(res) && strcmp(db_sqlstate(res), CAMPAIGN_REFUSED_SQLSTATE) == 0) {
		r = STORE_CAMPAIGN_REFUSED;
	} else if (db_ok(res) || strcmp(db_sqlstate(res), "23505") == 0) {
		/* ON CONFLICT ... DO NOTHING: no row means the e-mail is taken. */
		r = STORE_DUPLICATE_EMAIL;
	} else {
		r = STORE_FAILED;
	}
	PQclear(res);
	cJSON_free(slots);
	return r;
}

enum store_result
submission_write(struct db *db, enum stmt s, const char *const *params)
{
	PGresult *res = db_exec(db, s, params);
	enum store_result r;

	if (db_ok(res))
		r = STORE_OK;
	else if (strcmp(db_sqlstate(res), "23505") == 0)
		r = STORE_DUPLICATE_EMAIL;
	else if (strcmp(db_sqlstate(res), CAMPAIGN_REFUSED_SQLSTATE) == 0)
		r = STORE_CAMPAIGN_REFUSED;
	else
		r = STORE_FAILED;
	PQclear(res);
	return r;
}

enum store_result
submission_write_active(struct db *db, enum stmt s, const char *email,
    const char *const *params)
{
	PGresult *res;
	enum store_result r;

	if (!email_lock(db, email))
		return STORE_FAILED;
	res = db_exec(db, s, params);
	if (db_ok(res))
		r = PQntuples(res) == 1 ? STORE_OK : STORE_DUPLICATE_EMAIL;
	else if (strcmp(db_sqlstate(res), "23505") == 0)
		r = STORE_DUPLICATE_EMAIL;
	else if (strcmp(db_sqlstate(res), CAMPAIGN_REFUSED_SQLSTATE) == 0)
		r = STORE_CAMPAIGN_REFUSED;
	else
		r = STORE_FAILED;
	PQclear(res);
	return r;
}

cJSON *
submission_to_json(const struct submission *s, const struct stored_submission *st)
{
	cJSON *o = cJSON_CreateObject();
	long long id;

	if (o == NULL)
		return NULL;
	/* ids are bigint: stay exact in JavaScript only below 2^53, which is ample. */
	if (!num_parse(st->id, 1, 9007199254740992LL, &id)) {
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "email", s->email);
	cJSON_AddStringToObject(o, "nom", s->name);
	cJSON_AddItemToObject(o, "creneaux", submission_slots_json(s));
	cJSON_AddStringToObject(o, "commentaire", s->comment);
	cJSON_AddNumberToObject(o, "version", (double)st->version);
	cJSON_AddStringToObject(o, "created_at", st->created_at);
	/* The answers of older pages (no campaign named, in time) keep their shape. */
	if (st->campagne != NULL) {
		cJSON_AddBoolToObject(o, "en_retard", st->late);
		cJSON_AddStringToObject(o, "campagne", st->campagne);
	}
	return o;
}

void
edit_token_for_key(const unsigned char *secret, size_t secretlen, const char *idem_key,
    char token[TOKEN_STR_LEN], unsigned char hash[SHA256_LEN])
{
	/* v2 since sql/0010: a key written in clear before (v1) no longer derives the token of
	 * its submission, even claimed afresh once its row is gone. */
	static const char label[] = "fiable edit token v2 ";
	unsigned char mac[SHA256_LEN];
	char msg[sizeof(label) + 40];

	snprintf(msg, sizeof(msg), "%s%s", label, idem_key);
	hmac_sha256(secret, secretlen, msg, strlen(msg), mac);
	base64url_encode(mac, sizeof(mac), token);
	sha256(token, strlen(token), hash);
}

int
edit_token_random(char token[TOKEN_STR_LEN], unsigned char hash[SHA256_LEN])
{
	unsigned char raw[32];

	if (random_bytes(raw, sizeof(raw)) != 0)
		return -1;
	base64url_encode(raw, sizeof(raw), token);
	sha256(token, strlen(token), hash);
	return 0;
}

bool
edit_token_lookup_hash(const char *token, char hex[2 * SHA256_LEN + 1])
{
	unsigned char hash[SHA256_LEN];
	size_t i;

	if (token == NULL || strlen(token) != TOKEN_STR_LEN - 1)
		return false;
	for (i = 0; i < TOKEN_STR_LEN - 1; i++) {
		char c = token[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return false;
	}
	sha256(token, TOKEN_STR_LEN - 1, hash);
	hex_encode(hash, SHA256_LEN, hex);
	return true;
}

static enum lock_result
lock_row(struct db *db, enum stmt s, const char *param, struct locked_submission *out)
{
	const char *params[1] = { param };
	PGresult *res = db_exec(db, s, params);
	enum lock_result r;

	if (!db_ok(res)) {
		r = LOCK_FAILED;
	} else if (PQntuples(res) != 1) {
		r = LOCK_NOT_FOUND;
	} else {
		const char *withdrawn = db_text(res, 0, "withdrawn");
		long long version;

		snprintf(out->id, sizeof(out->id), "%s", db_text(res, 0, "id"));
		out->withdrawn = withdrawn != NULL && strcmp(withdrawn, "t") == 0;
		snprintf(out->token_hash, sizeof(out->token_hash), "%s",
		    db_text(res, 0, "token_hash"));
		snprintf(out->email, sizeof(out->email), "%s", db_text(res, 0, "email"));
		snprintf(out->nom, sizeof(out->nom), "%s", db_text(res, 0, "nom"));
		r = db_int(res, 0, "version", 1, INT_MAX, &version) ? LOCK_OK : LOCK_FAILED;
		out->version = (long)version;
	}
	PQclear(res);
	return r;
}

enum lock_result
submission_lock_by_token(struct db *db, const char *token_hash_hex, struct locked_submission *out)
{
	enum lock_result r = lock_row(db, STMT_SUBMISSION_LOCK_BY_TOKEN, token_hash_hex, out);

	/* The index found the row by equality; compare again without an early exit. */
	if (r == LOCK_OK && (strlen(out->token_hash) != 2 * SHA256_LEN ||
	    !equal_ct((const unsigned char *)out->token_hash,
	    (const unsigned char *)token_hash_hex, 2 * SHA256_LEN)))
		r = LOCK_NOT_FOUND;
	return r;
}

enum lock_result
submission_lock_by_id(struct db *db, const char *id, struct locked_submission *out)
{
	return lock_row(db, STMT_SUBMISSION_LOCK_BY_ID, id, out);
}

/* "creneaux_connus": the slots the answer names now or in its history, as they are now,
 * with the organisation's changes of their label and times (STMT_SUBMISSION_KNOWN_SLOTS). */
static bool
add_known_slots(struct db *db, const char *id, cJSON *o)
{
	const char *params[1] = { id };
	PGresult *res = db_exec(db, STMT_SUBMISSION_KNOWN_SLOTS, params);
	cJSON *slots = NULL;

	if (db_ok(res) && PQntuples(res) == 1)
		slots = cJSON_Parse(db_text(res, 0, "creneaux_connus"));
	PQclear(res);
	if (slots == NULL)
		return false;
	cJSON_AddItemToObject(o, "creneaux_connus", slots);
	return true;
}

cJSON *
submission_load(struct db *db, const char *id)
{
	const char *params[1] = { id };
	PGresult *res = db_exec(db, STMT_SUBMISSION_BY_ID, params);
	cJSON *o = NULL;

	if (db_ok(res) && PQntuples(res) == 1 && (o = cJSON_CreateObject()) != NULL) {
		cJSON_AddNumberToObject(o, "id", db_number(res, 0, "id"));
		cJSON_AddStringToObject(o, "email", db_text(res, 0, "email"));
		cJSON_AddStringToObject(o, "nom", db_text(res, 0, "nom"));
		cJSON_AddItemToObject(o, "creneaux", cJSON_Parse(db_text(res, 0, "creneaux")));
		cJSON_AddStringToObject(o, "commentaire", db_text(res, 0, "commentaire"));
		cJSON_AddNumberToObject(o, "version", db_number(res, 0, "version"));
		cJSON_AddStringToObject(o, "created_at", db_text(res, 0, "created_at"));
		cJSON_AddStringToObject(o, "updated_at", db_text(res, 0, "updated_at"));
		if (db_is_null(res, 0, "deleted_at"))
			cJSON_AddNullToObject(o, "deleted_at");
		else
			cJSON_AddStringToObject(o, "deleted_at", db_text(res, 0, "deleted_at"));
		cJSON_AddItemToObject(o, "historique", cJSON_Parse(db_text(res, 0, "historique")));
		cJSON_AddBoolToObject(o, "en_retard", db_bool(res, 0, "en_retard"));
		cJSON_AddStringToObject(o, "campagne", db_text_or(res, 0, "campagne", ""));
	}
	PQclear(res);
	if (o != NULL && !add_known_slots(db, id, o)) {
		cJSON_Delete(o);
		o = NULL;
	}
	return o;
}

void
submission_etag(const cJSON *representation, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(representation, "version");

	snprintf(buf, len, "ETag: \"v%ld\"\r\n", cJSON_IsNumber(v) ? (long)v->valuedouble : 0L);
}
