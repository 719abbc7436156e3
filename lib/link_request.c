#include "link_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ctype.h>

#include "audit.h"
#include "crypto.h"
#include "flags.h"
#include "log.h"
#include "mail.h"
#include "outbox.h"
#include "json.h"
#include "submission.h"
#include "validate.h"

/* The key the limit counts: HMAC-SHA-256 of the lower-cased address under FIABLE_SECRET,
 * with a label of its own (the secret also derives edit tokens). Without the secret, the
 * stored keys do not say which addresses asked. */
static void
email_key(const struct config *cfg, const char *email, char hex[2 * SHA256_LEN + 1])
{
	static const char label[] = "fiable modify link v1 ";
	unsigned char mac[SHA256_LEN];
	char msg[sizeof(label) + 256];

	snprintf(msg, sizeof(msg), "%s%s", label, email);
	hmac_sha256(cfg->secret, sizeof(cfg->secret), msg, strlen(msg), mac);
	hex_encode(mac, sizeof(mac), hex);
}

/* The members of a request's body. */
static const char *const link_members[] = { "email", "campagne" };

enum link_body
link_request_read(struct db *db, const cJSON *root, char email[EMAIL_MAX_LEN + 1],
    char campaign_id[24], cJSON *errors)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "email");
	char *trimmed = cJSON_IsString(item) ? trim_dup(item->valuestring) : NULL;
	const char *slug = "";
	size_t i;

	if ((cJSON_IsString(item) && trimmed == NULL) ||
	    json_unknown_members(root, link_members, 2, errors) < 0) {
		free(trimmed);
		return LINK_BODY_FAILED;
	}
	if (trimmed == NULL || strlen(trimmed) > EMAIL_MAX_LEN || !valid_email(trimmed)) {
		cJSON_AddStringToObject(errors, "email", field_message(FIELD_EMAIL, FAULT_INVALID));
	} else {
		/* Addresses are ASCII once valid; the limit counts them case-insensitively. */
		for (i = 0; trimmed[i] != '\0'; i++)
			email[i] = (char)tolower((unsigned char)trimmed[i]);
		email[i] = '\0';
	}
	free(trimmed);
	item = cJSON_GetObjectItemCaseSensitive(root, "campagne");
	if (item != NULL && !cJSON_IsString(item))
		cJSON_AddStringToObject(errors, "campagne", LINK_CAMPAIGN_UNKNOWN);
	if (cJSON_GetArraySize(errors) > 0)
		return LINK_BODY_INVALID;
	if (item != NULL)
		slug = item->valuestring;
	/* A string without a slug's shape names no campaign: no query for it. */
	switch (item != NULL && !campaign_slug_valid(slug) ? CAMPAIGN_ABSENT :
	    campaign_id_of(db, slug, campaign_id)) {
	case CAMPAIGN_FOUND:
		return LINK_BODY_OK;
	case CAMPAIGN_ABSENT:
		cJSON_AddStringToObject(errors, "campagne", LINK_CAMPAIGN_UNKNOWN);
		return LINK_BODY_NO_CAMPAIGN;
	case CAMPAIGN_FAILED:
		break;
	}
	return LINK_BODY_DB_FAILED;
}

enum link_record_result
link_request_record(struct db *db, const struct config *cfg, const struct http_request *req,
    const char *email, const char *campaign_id)
{
	char key[2 * SHA256_LEN + 1], addr[AUDIT_ADDR_MAX + 1], ua[AUDIT_UA_MAX + 1];
	char rid[AUDIT_ID_MAX + 1], per_email[16], per_address[16];
	const char *params[8];
	enum link_record_result r;
	PGresult *res;

	email_key(cfg, email, key);
	http_sanitize(addr, sizeof(addr), req->remote_addr);
	http_sanitize(ua, sizeof(ua), req->user_agent);
	http_sanitize(rid, sizeof(rid), req->request_id);
	snprintf(per_email, sizeof(per_email), "%d", LINK_PER_EMAIL);
	snprintf(per_address, sizeof(per_address), "%d", LINK_PER_ADDRESS);

	params[0] = key;
	params[1] = addr;
	res = db_exec(db, STMT_LINK_LOCK, params);
	r = db_ok(res) ? LINK_RECORDED : LINK_FAILED;
	PQclear(res);
	if (r != LINK_RECORDED)
		return r;
	params[2] = email;
	params[3] = ua[0] ? ua : NULL;
	params[4] = rid[0] ? rid : NULL;
	params[5] = per_email;
	params[6] = per_address;
	params[7] = campaign_id;
	res = db_exec(db, STMT_LINK_RECORD, params);
	if (!db_ok(res))
		r = LINK_FAILED;
	else
		r = PQntuples(res) == 1 ? LINK_RECORDED : LINK_RATE_LIMITED;
	PQclear(res);
	return r;
}

/* For the active answer sub (id, nom, titre, slug, premiere): a new token and the link to
 * its campaign's page queued, in the current transaction. False on a failure (database,
 * random source, message). */
static bool
queue_link(struct db *db, const struct config *cfg, const PGresult *sub, const char *email)
{
	char token[TOKEN_STR_LEN], hex[2 * SHA256_LEN + 1], *subject = NULL, *text = NULL;
	unsigned char hash[SHA256_LEN];
	const char *params[2], *name, *slug;
	bool ok;

	if (edit_token_random(token, hash) != 0)
		return false;
	hex_encode(hash, SHA256_LEN, hex);
	if ((params[0] = db_text(sub, 0, "id")) == NULL || (name = db_text(sub, 0, "nom")) == NULL)
		return false;
	params[1] = hex;
	/* The first campaign keeps the links of before campaigns: /#edit=. */
	slug = db_bool(sub, 0, "premiere") ? NULL : db_text(sub, 0, "slug");
	ok = submission_write(db, STMT_SUBMISSION_SET_TOKEN, params) == STORE_OK &&
	    message_edit_link(cfg, db_text(sub, 0, "titre"), slug, name, token, &subject,
	    &text) == 0 &&
	    outbox_enqueue(db, MAIL_EDIT_LINK, email, subject, text, params[0], NULL);
	free(subject);
	free(text);
	return ok;
}

/* Appends the audit row of a link, last in the transaction, and commits: the request's own
 * facts say who asked and from where. */
static bool
audit_link_commit(struct db *db, const PGresult *claim, const PGresult *sub)
{
	struct http_request origin;
	struct audit_entry entry;

	memset(&origin, 0, sizeof(origin));
	origin.remote_addr = db_text(claim, 0, "client_addr");
	origin.user_agent = db_text(claim, 0, "user_agent");
	origin.request_id = db_text(claim, 0, "request_id");
	entry.action = "submission.link_sent";
	entry.entity = "soumissions_disponibilites";
	entry.entity_id = db_text(sub, 0, "id");
	entry.actor = db_text(claim, 0, "email");
	entry.details = NULL;
	return audit_append_commit(db, &origin, &entry);
}

/* Resolves the oldest pending request in its own transaction. Returns 1 when one was
 * resolved, 0 when none is pending, -1 on a failure (the request stays pending). */
static int
resolve_one(struct db *db, const struct config *cfg, struct link_counts *counts)
{
	PGresult *claim = NULL, *sub = NULL, *res = NULL;
	const char *params[2];
	int *count, on;
	bool linked = false, ok;

	if (!db_begin(db))
		return -1;
	claim = db_exec(db, STMT_LINK_CLAIM, NULL);
	if (!db_ok(claim))
		goto fail;
	if (PQntuples(claim) == 0) {
		PQclear(claim);
		db_rollback(db);
		return 0;
	}
	if ((params[0] = db_text(claim, 0, "id")) == NULL)
		goto fail;
	if (db_bool(claim, 0, "expired")) {
		params[1] = "expired";
		count = &counts->expired;
	} else if ((on = flag_enabled_in_tx(db, "email_links")) < 0) {
		goto fail;
	} else if (on == 0) {
		params[1] = "disabled";
		count = &counts->disabled;
	} else {
		/* campagne_id NULL: the first campaign (requests of before sql/0017). */
		const char *email[2] = { db_text(claim, 0, "email"),
		    db_text(claim, 0, "campagne_id") };

		sub = db_exec(db, STMT_SUBMISSION_ACTIVE_BY_EMAIL, email);
		if (!db_ok(sub))
			goto fail;
		linked = PQntuples(sub) == 1;
		if (linked && !queue_link(db, cfg, sub, email[0]))
			goto fail;
		params[1] = linked ? "link_queued" : "no_answer";
		count = linked ? &counts->queued : &counts->no_answer;
	}

	if (!linked) {
		ok = db_exec_commit(db, STMT_LINK_RESOLVE, params);
	} else {
		res = db_exec(db, STMT_LINK_RESOLVE, params);
		ok = db_ok(res) && audit_link_commit(db, claim, sub);
	}
	if (!ok)
		goto fail;
	(*count)++;
	PQclear(res);
	PQclear(sub);
	PQclear(claim);
	return 1;
fail:
	log_warn("%s: demande de lien non traitée : %s", __func__, db_error(db));
	db_rollback(db);
	PQclear(res);
	PQclear(sub);
	PQclear(claim);
	return -1;
}

int
link_requests_resolve(struct db *db, const struct config *cfg, int max,
    struct link_counts *counts)
{
	PGresult *res;
	int i, r, done = 0;

	/* Without a way to send, a new token would only lock the person out. */
	for (i = 0; mail_configured(cfg) && i < max; i++) {
		if ((r = resolve_one(db, cfg, counts)) < 0)
			return -1;
		if (r == 0)
			break;
		done++;
	}
	res = db_exec(db, STMT_LINK_PURGE, NULL);
	r = db_ok(res) ? done : -1;
	if (r < 0)
		log_warn("%s: demandes de lien anciennes non effacées : %s", __func__, db_error(db));
	PQclear(res);
	return r;
}

int
link_requests_pending(struct db *db, int max)
{
	return db_count_at_most(db, STMT_LINK_PENDING_COUNT, "pending_count", max);
}
