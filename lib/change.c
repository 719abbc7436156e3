#include "change.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "idempotency.h"
#include "metrics.h"

void
change_fingerprint(const char *token_hash, const struct http_request *req,
    char hex[2 * SHA256_LEN + 1])
{
	unsigned char digest[SHA256_LEN];
	size_t tlen = token_hash ? strlen(token_hash) : 0;
	size_t mlen = req->if_match ? strlen(req->if_match) : 0;
	size_t len = tlen + 1 + mlen + 1 + req->body_len;
	char *buf = malloc(len + 1);

	if (buf == NULL) {
		memset(hex, '0', 2 * SHA256_LEN);
		hex[2 * SHA256_LEN] = '\0';
		return;
	}
	/* Separators keep "ab"+"c" and "a"+"bc" apart. */
	snprintf(buf, len + 1, "%s\n%s\n", token_hash ? token_hash : "",
	    req->if_match ? req->if_match : "");
	if (req->body_len > 0)
		memcpy(buf + tlen + 1 + mlen + 1, req->body, req->body_len);
	sha256(buf, len, digest);
	hex_encode(digest, SHA256_LEN, hex);
	free(buf);
}

/* A key already used: its stored response if the request is the same, else 422. */
static enum api_error
change_replay(struct db *db, const char *scope, struct change *c)
{
	switch (idempotency_replay(db, c->idem_key_hash, scope, c->fingerprint, &c->body,
	    &c->status, NULL)) {
	case IDEM_REPLAY:
		c->replayed = true;
		return ERR_NONE;
	case IDEM_REUSED:
		return ERR_IDEMPOTENCY_KEY_REUSED;
	case IDEM_GONE:
		return ERR_DATABASE_UNAVAILABLE;
	case IDEM_ERROR:
		break;
	}
	return db_lost(db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL;
}

enum api_error
change_run(struct db *db, const struct http_request *req, struct change *c)
{
	struct locked_submission row;
	struct audit_entry entry;
	enum lock_result lr;
	enum api_error e;
	cJSON *details = NULL, *rep = NULL;
	const cJSON *version;
	char scope[64];
	bool lost;

	snprintf(scope, sizeof(scope), "%s %s", req->method, c->endpoint);
	if (!db_begin(db))
		return db_lost(db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL;

	if (c->idem_key_hash != NULL) {
		switch (idempotency_claim(db, c->idem_key_hash, scope, c->fingerprint)) {
		case IDEM_CLAIMED:
			break;
		case IDEM_TAKEN:
			db_rollback(db);
			return change_replay(db, scope, c);
		case IDEM_FAILED:
			goto fail;
		}
	}

	lr = c->token_hash != NULL ? submission_lock_by_token(db, c->token_hash, &row) :
	    submission_lock_by_id(db, c->id, &row);
	if (lr == LOCK_FAILED)
		goto fail;
	if (lr == LOCK_NOT_FOUND) {
		e = c->token_hash != NULL ? ERR_INVALID_TOKEN : ERR_NOT_FOUND;
		goto refuse;
	}
	if (row.withdrawn && !c->on_withdrawn) {
		e = ERR_SUBMISSION_WITHDRAWN;
		goto refuse;
	}
	if (c->if_match > 0 && c->if_match != row.version) {
		if ((c->current = submission_load(db, row.id)) == NULL)
			goto fail;
		e = ERR_VERSION_MISMATCH;
		goto refuse;
	}

	if ((details = cJSON_CreateObject()) == NULL)
		goto fail;
	cJSON_AddNumberToObject(details, "version_precedente", (double)row.version);
	e = c->apply(db, &row, c, details);
	if (e == ERR_INTERNAL)
		goto fail;
	if (e != ERR_NONE)
		goto refuse;

	if ((rep = submission_load(db, row.id)) == NULL)
		goto fail;
	version = cJSON_GetObjectItemCaseSensitive(rep, "version");
	cJSON_AddNumberToObject(details, "version", cJSON_IsNumber(version) ? version->valuedouble : 0);
	if (c->idem_key_hash != NULL)
		cJSON_AddStringToObject(details, "idempotency_key_sha256", c->idem_key_hash);
	entry.action = c->action;
	entry.entity = "soumissions_disponibilites";
	entry.entity_id = row.id;
	entry.actor = c->actor != NULL ? c->actor : row.email;
	entry.details = details;
	if ((c->body = cJSON_PrintUnformatted(rep)) == NULL ||
	    !metrics_record(db, req, c->endpoint, 200) ||
	    (c->idem_key_hash != NULL &&
	    !idempotency_store(db, c->idem_key_hash, 200, c->body, row.id)) ||
	    !audit_append_commit(db, req, &entry))
		goto fail;
	cJSON_Delete(details);
	cJSON_Delete(rep);
	c->status = 200;
	return ERR_NONE;

refuse:
	/* An answer that changes nothing: the whole transaction goes, key claim included. */
	db_rollback(db);
	cJSON_Delete(details);
	return e;

fail:
	lost = db_lost(db);
	db_rollback(db);
	cJSON_Delete(details);
	cJSON_Delete(rep);
	cJSON_free(c->body);
	c->body = NULL;
	return lost ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL;
}

void
change_free(struct change *c)
{
	cJSON_free(c->body);
	cJSON_Delete(c->errors);
	cJSON_Delete(c->current);
	c->body = NULL;
	c->errors = NULL;
	c->current = NULL;
}
