#include "change.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "write_tx.h"

bool
change_fingerprint(const char *token_hash, const struct http_request *req,
    char hex[2 * SHA256_LEN + 1])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok;

	/* Separators keep "ab"+"c" and "a"+"bc" apart. The same bytes as always: token hash,
	 * '\n', If-Match, '\n', body; fed in pieces, so no copy of the body is made. */
	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, token_hash ? token_hash : "", token_hash ? strlen(token_hash) : 0)
	    == 1 && EVP_DigestUpdate(md, "\n", 1) == 1 &&
	    EVP_DigestUpdate(md, req->if_match ? req->if_match : "",
	    req->if_match ? strlen(req->if_match) : 0) == 1 &&
	    EVP_DigestUpdate(md, "\n", 1) == 1 &&
	    (req->body_len == 0 || EVP_DigestUpdate(md, req->body, req->body_len) == 1);
	if (ok)
		digest_final_hex(md, hex);
	EVP_MD_CTX_free(md);
	return ok;
}

enum api_error
change_run(struct db *db, const struct http_request *req, struct change *c)
{
	struct write_tx tx = { .db = db, .req = req, .endpoint = c->endpoint,
	    .key_hash = c->idem_key_hash, .fingerprint = c->fingerprint };
	struct locked_submission row;
	struct audit_entry entry;
	enum lock_result lr;
	enum api_error e;
	cJSON *details = NULL, *rep = NULL;
	const cJSON *version;

	if ((e = write_tx_begin(&tx)) != ERR_NONE)
		return e;
	if (tx.replayed) {
		c->replayed = true;
		c->status = tx.status;
		c->body = tx.body;
		return ERR_NONE;
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
	/* If-Match (when sent) against the version now locked: RFC 9110 §13.1.1. */
	if (http_if_match(req, row.version) < 0) {
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
	if ((c->body = cJSON_PrintUnformatted(rep)) == NULL)
		goto fail;
	if ((e = write_tx_commit(&tx, 200, c->body, &entry)) != ERR_NONE)
		goto failed;
	cJSON_Delete(details);
	cJSON_Delete(rep);
	c->status = 200;
	return ERR_NONE;

refuse:
	/* An answer that changes nothing: the whole transaction goes, key claim included. */
	write_tx_abort(&tx);
	cJSON_Delete(details);
	return e;

fail:
	e = write_tx_fail(&tx);
failed:
	cJSON_Delete(details);
	cJSON_Delete(rep);
	cJSON_free(c->body);
	c->body = NULL;
	return e;
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

enum api_error
change_store_error(enum store_result r)
{
	switch (r) {
	case STORE_OK:
		return ERR_NONE;
	case STORE_DUPLICATE_EMAIL:
		return ERR_ALREADY_SUBMITTED;
	case STORE_CAMPAIGN_REFUSED:
		return ERR_MODIFICATION_CLOSED;
	default:
		return ERR_INTERNAL;
	}
}
