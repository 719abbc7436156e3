#include "submission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
submission_check_slots(struct db *db, struct submission *s)
{
	cJSON *ids;
	char *json, msg[FIELD_ERROR_LEN];
	const char *params[1];
	PGresult *res;
	int rc = 0;

	if (s->errors[FIELD_CRENEAUX][0] != '\0' || s->ncreneaux == 0)
		return 0;
	if ((ids = submission_creneaux_json(s)) == NULL)
		return -1;
	json = cJSON_PrintUnformatted(ids);
	cJSON_Delete(ids);
	if (json == NULL)
		return -1;
	params[0] = json;
	res = db_query(db, STMT_UNKNOWN_SLOTS, params);
	if (!db_ok(res)) {
		rc = -1;
	} else if (PQntuples(res) > 0) {
		snprintf(msg, sizeof(msg), "Ce créneau n'existe pas (ou plus) : %s.",
		    PQgetvalue(res, 0, 0));
		submission_set_error(s, FIELD_CRENEAUX, msg);
	}
	PQclear(res);
	cJSON_free(json);
	return rc;
}

enum store_result
submission_insert(struct db *db, const struct submission *s,
    const unsigned char token_hash[SHA256_LEN], struct stored_submission *out)
{
	char hash_hex[2 * SHA256_LEN + 1], *slots;
	cJSON *arr;
	const char *params[5];
	PGresult *res;
	enum store_result r;

	if ((arr = submission_creneaux_json(s)) == NULL)
		return STORE_FAILED;
	slots = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	if (slots == NULL)
		return STORE_FAILED;
	hex_encode(token_hash, SHA256_LEN, hash_hex);
	params[0] = s->email;
	params[1] = s->nom;
	params[2] = slots;
	params[3] = s->commentaire;
	params[4] = hash_hex;
	res = db_exec(db, STMT_SUBMISSION_INSERT, params);
	if (db_ok(res) && PQntuples(res) == 1) {
		snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 0));
		out->version = strtol(PQgetvalue(res, 0, 1), NULL, 10);
		snprintf(out->created_at, sizeof(out->created_at), "%s", PQgetvalue(res, 0, 2));
		r = STORE_OK;
	} else if (strcmp(db_sqlstate(res), "23505") == 0) {
		r = STORE_DUPLICATE_EMAIL;
	} else {
		r = STORE_FAILED;
	}
	PQclear(res);
	cJSON_free(slots);
	return r;
}

cJSON *
submission_to_json(const struct submission *s, const struct stored_submission *st)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	/* ids are bigint: stay exact in JavaScript only below 2^53, which is ample. */
	cJSON_AddNumberToObject(o, "id", strtod(st->id, NULL));
	cJSON_AddStringToObject(o, "email", s->email);
	cJSON_AddStringToObject(o, "nom", s->nom);
	cJSON_AddItemToObject(o, "creneaux", submission_creneaux_json(s));
	cJSON_AddStringToObject(o, "commentaire", s->commentaire);
	cJSON_AddNumberToObject(o, "version", (double)st->version);
	cJSON_AddStringToObject(o, "created_at", st->created_at);
	return o;
}

void
edit_token_for_key(const unsigned char *secret, size_t secretlen, const char *idem_key,
    char token[TOKEN_STR_LEN], unsigned char hash[SHA256_LEN])
{
	static const char label[] = "fiable edit token v1 ";
	unsigned char mac[SHA256_LEN];
	char msg[sizeof(label) + 40];

	snprintf(msg, sizeof(msg), "%s%s", label, idem_key);
	hmac_sha256(secret, secretlen, msg, strlen(msg), mac);
	base64url_encode(mac, sizeof(mac), token);
	sha256(token, strlen(token), hash);
}
