/* fiable-modify — coming back to one's answer, with the edit token:
 *   GET    /api/modify       the submission, its version (ETag) and its history
 *   PUT    /api/modify       a new version (If-Match required; Idempotency-Key accepted)
 *   DELETE /api/modify       withdraw it (soft delete; the e-mail becomes free)
 *   POST   /api/modify/link  a new edit link by e-mail, for the answer to the campaign
 *                            named by "campagne" (absent: the first); always 202: reveals
 *                            nothing; the mail sender decides later whether a link is sent
 * The token travels in "Authorization: Bearer"; only its SHA-256 is stored. The invitation
 * token of a participant is accepted as well, for that participant's answer in its campaign
 * only (TOKEN_SUBMISSION in lib/statements.c): the personal link is also the edit link.
 * The feature flags "modification" and "email_links" off refuse the first three or the
 * last (403). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_lookup.h"
#include "change.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "idempotency.h"
#include "json.h"
#include "link_request.h"
#include "log.h"
#include "metrics.h"
#include "participants.h"
#include "respond.h"
#include "server.h"
#include "submission.h"
#include "validate.h"

/* Same words whether or not the e-mail has an answer. */
static const char link_accepted[] =
    "{\"detail\":\"Si une réponse est enregistrée pour cette adresse, un lien de modification "
    "y sera envoyé dans quelques instants. Il remplacera les liens précédents.\"}";

static enum api_error
apply_update(struct db *db, const struct locked_submission *row, struct change *c,
    cJSON *details)
{
	const struct submission *s = c->arg;
	bool kept = false;
	enum api_error e = participant_identity_kept(db, row, s->email, &kept);
	cJSON *slots = e == ERR_NONE ? submission_slots_json(s) : NULL;
	char *json = slots ? cJSON_PrintUnformatted(slots) : NULL;
	/* Invited-only: the e-mail and name stay the participant's (participants.h). */
	const char *params[5] = { row->id, kept ? row->email : s->email,
	    kept ? row->nom : s->name, json, s->comment };
	enum store_result r = json ?
	    submission_write_active(db, STMT_SUBMISSION_UPDATE, params[1], params) :
	    STORE_FAILED;

	(void)details;
	cJSON_Delete(slots);
	cJSON_free(json);
	return e != ERR_NONE ? e : change_store_error(r);
}

static enum api_error
apply_withdraw(struct db *db, const struct locked_submission *row, struct change *c,
    cJSON *details)
{
	const char *params[1] = { row->id };

	(void)c;
	(void)details;
	return change_store_error(submission_write(db, STMT_SUBMISSION_WITHDRAW, params));
}

/* Sends the outcome of a change (success, replay or refusal). */
static void
answer_change(struct call *call, struct change *c, enum api_error e)
{
	if (e == ERR_NONE) {
		respond_representation(call, c->status, c->body, NULL);
		if (c->replayed)
			respond_record(call, c->status);
	} else if (e == ERR_VERSION_MISMATCH) {
		respond_problem(call, e, "current", c->current);
	} else {
		if (e == ERR_INTERNAL)
			log_error("modification non enregistrée : %s", db_error(call->db));
		respond_problem(call, e, "errors", c->errors);
	}
}

/* What GET, PUT and DELETE check first: the feature is on and the token well formed (a
 * malformed token is answered exactly like an unknown one). False after answering. */
static bool
modify_admitted(struct call *call, char token_hash[2 * SHA256_LEN + 1])
{
	if (!respond_feature_allowed(call, "modification", ERR_MODIFICATION_DISABLED))
		return false;
	if (!edit_token_lookup_hash(http_bearer_token(call->req), token_hash)) {
		respond_error(call, ERR_INVALID_TOKEN);
		return false;
	}
	return true;
}

static void
handle_get(struct call *call)
{
	char token_hash[2 * SHA256_LEN + 1];
	struct locked_submission row;
	enum lock_result lr;
	cJSON *rep = NULL;
	char *body;

	if (!modify_admitted(call, token_hash))
		return;
	/* A short read-only transaction: a dead idle connection is replaced at BEGIN. */
	if (!db_begin(call->db)) {
		respond_error(call, ERR_DATABASE_UNAVAILABLE);
		return;
	}
	lr = submission_lock_by_token(call->db, token_hash, &row);
	if (lr == LOCK_OK)
		rep = submission_load(call->db, row.id);
	if (lr == LOCK_FAILED || (lr == LOCK_OK && rep == NULL) || !db_commit(call->db)) {
		bool lost = db_lost(call->db);
		db_rollback(call->db);
		cJSON_Delete(rep);
		respond_error(call, lost ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL);
		return;
	}
	if (lr == LOCK_NOT_FOUND) {
		respond_error(call, ERR_INVALID_TOKEN);
		return;
	}
	body = cJSON_PrintUnformatted(rep);
	cJSON_Delete(rep);
	if (body == NULL) {
		respond_error(call, ERR_INTERNAL);
		return;
	}
	respond_representation(call, 200, body, NULL);
	cJSON_free(body);
	respond_record(call, 200);
}

/* PUT and DELETE: If-Match, then the change; PUT also validates a body like submit's. */
static void
handle_write(struct call *call, bool withdraw)
{
	struct http_request *req = call->req;
	struct change c = { 0 };
	struct submission s = { 0 };
	char token_hash[2 * SHA256_LEN + 1];
	char key[37], key_hash[IDEM_KEY_HASH_LEN], fingerprint[2 * SHA256_LEN + 1];
	char campaign_id[24];
	cJSON *root;
	int m;

	if (!modify_admitted(call, token_hash))
		return;
	if ((m = http_if_match_version(req, &c.if_match)) <= 0) {
		respond_error(call, m == 0 ? ERR_IF_MATCH_REQUIRED : ERR_VERSION_MISMATCH);
		return;
	}
	if (!http_origin_allowed(req, call->cfg->origins, call->cfg->norigins)) {
		respond_error(call, ERR_FORBIDDEN_ORIGIN);
		return;
	}
	if (req->idempotency_key != NULL && req->idempotency_key[0] != '\0') {
		if (!http_parse_uuid(req->idempotency_key, key)) {
			respond_error(call, ERR_IDEMPOTENCY_KEY_INVALID);
			return;
		}
		idempotency_key_hash(key, key_hash);
		c.idem_key_hash = key_hash;
	}
	if (!withdraw) {
		if ((root = respond_read_json(call)) == NULL)
			return;
		/* The slots are those of the answer's campaign (an unknown token: the first;
		 * the change then answers 401 anyway). */
		if (!respond_validate_submission_in(call, root, &s,
		    campaign_of_token(call->db, token_hash, campaign_id) ? campaign_id : NULL))
			goto done;
	}
	if (!change_fingerprint(token_hash, req, fingerprint)) {
		respond_error(call, ERR_INTERNAL);
		goto done;
	}
	c.endpoint = call->endpoint;
	c.action = withdraw ? "submission.withdraw" : "submission.update";
	c.token_hash = token_hash;
	c.fingerprint = fingerprint;
	c.apply = withdraw ? apply_withdraw : apply_update;
	c.arg = &s;
	answer_change(call, &c, change_run(call->db, req, &c));
	change_free(&c);
done:
	submission_free(&s);
}

static void
handle_put(struct call *call)
{
	handle_write(call, false);
}

static void
handle_delete(struct call *call)
{
	handle_write(call, true);
}

/* The same work whatever the address, so that neither the answer nor its time tells whether
 * it has an answer: the request is recorded under its limits and the mail sender decides,
 * later, whether a link is sent (lib/link_request.c). */
static void
handle_link(struct call *call)
{
	char email[EMAIL_MAX_LEN + 1], campaign_id[24];
	enum link_body body = LINK_BODY_FAILED;
	cJSON *root, *errors;

	if (!respond_feature_allowed(call, "email_links", ERR_EMAIL_LINKS_DISABLED))
		return;
	if ((root = respond_read_json(call)) == NULL)
		return;
	if ((errors = cJSON_CreateObject()) != NULL)
		body = link_request_read(call->db, root, email, campaign_id, errors);
	cJSON_Delete(root);
	switch (body) {
	case LINK_BODY_OK:
		break;
	case LINK_BODY_INVALID:
	case LINK_BODY_NO_CAMPAIGN:
		respond_problem(call, body == LINK_BODY_INVALID ? ERR_VALIDATION :
		    ERR_CAMPAIGN_UNKNOWN, "errors", errors);
		break;
	case LINK_BODY_FAILED:
		respond_error(call, ERR_INTERNAL);
		break;
	case LINK_BODY_DB_FAILED:
		respond_db_failure(call);
		break;
	}
	cJSON_Delete(errors);
	if (body != LINK_BODY_OK)
		return;

	if (!db_begin(call->db))
		goto fail;
	switch (link_request_record(call->db, call->cfg, call->req, email, campaign_id)) {
	case LINK_RECORDED:
		break;
	case LINK_RATE_LIMITED:
		db_rollback(call->db);
		respond_error(call, ERR_RATE_LIMITED);
		return;
	case LINK_FAILED:
		goto fail;
	}
	if (!metrics_record(call->db, call->req, call->endpoint, 202) || !db_commit(call->db))
		goto fail;
	http_send(call->fcgi->out, 202, "application/json; charset=utf-8", NULL, link_accepted,
	    sizeof(link_accepted) - 1);
	return;
fail:
	{
		bool lost = db_lost(call->db);
		db_rollback(call->db);
		respond_error(call, lost ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL);
	}
}

static const struct route routes[] = {
	{ "/api/modify", "GET", handle_get },
	{ "/api/modify", "PUT", handle_put },
	{ "/api/modify", "DELETE", handle_delete },
	{ "/api/modify/link", "POST", handle_link },
};

int
main(int argc, char **argv)
{
	static const struct program p = {
		.name = "fiable-modify",
		.summary = "modification, retrait et liens de modification (/api/modify)",
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
	};

	return server_main(argc, argv, &p);
}
