/* fiable-modify — coming back to one's answer, with the edit token:
 *   GET    /api/modify       the submission, its version (ETag) and its history
 *   PUT    /api/modify       a new version (If-Match required; Idempotency-Key accepted)
 *   DELETE /api/modify       withdraw it (soft delete; the e-mail becomes free)
 *   POST   /api/modify/link  a new edit link by e-mail (always 202: reveals nothing; the
 *                            mail sender decides later whether a link is sent)
 * The token travels in "Authorization: Bearer"; only its SHA-256 is stored. The feature
 * flags "modification" and "email_links" off refuse the first three or the last (403). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#include "respond.h"
#include "server.h"
#include "submission.h"
#include "validate.h"

#define EP_MODIFY "/api/modify"
#define EP_LINK "/api/modify/link"

struct app {
	struct config cfg;
	struct db *db;
};

/* The one member of a link request. */
static const char *const link_members[] = { "email" };

/* Same words whether or not the e-mail has an answer. */
static const char link_accepted[] =
    "{\"detail\":\"Si une réponse est enregistrée pour cette adresse, un lien de modification "
    "y sera envoyé dans quelques instants. Il remplacera les liens précédents.\"}";

static enum api_error
apply_update(struct db *db, const struct locked_submission *row, struct change *c,
    cJSON *details)
{
	const struct submission *s = c->arg;
	cJSON *slots = submission_creneaux_json(s);
	char *json = slots ? cJSON_PrintUnformatted(slots) : NULL;
	const char *params[5] = { row->id, s->email, s->nom, json, s->commentaire };
	enum store_result r = json ?
	    submission_write_active(db, STMT_SUBMISSION_UPDATE, s->email, params) :
	    STORE_FAILED;

	(void)details;
	cJSON_Delete(slots);
	cJSON_free(json);
	if (r == STORE_DUPLICATE_EMAIL)
		return ERR_ALREADY_SUBMITTED;
	return r == STORE_OK ? ERR_NONE : ERR_INTERNAL;
}

static enum api_error
apply_withdraw(struct db *db, const struct locked_submission *row, struct change *c,
    cJSON *details)
{
	const char *params[1] = { row->id };

	(void)c;
	(void)details;
	return submission_write(db, STMT_SUBMISSION_WITHDRAW, params) == STORE_OK ?
	    ERR_NONE : ERR_INTERNAL;
}

/* Sends the outcome of a change (success, replay or refusal). */
static void
answer_change(FCGX_Request *r, struct app *app, const struct http_request *req,
    struct change *c, enum api_error e)
{
	if (e == ERR_NONE) {
		respond_representation(r, c->status, c->body, NULL);
		if (c->replayed)
			metrics_record_outside(app->db, req, EP_MODIFY, c->status);
	} else if (e == ERR_VERSION_MISMATCH) {
		http_send_error_member(r->out, e, NULL, "current", c->current, NULL);
		metrics_record_outside(app->db, req, EP_MODIFY, api_error_status(e));
	} else {
		if (e == ERR_INTERNAL)
			log_error("modification non enregistrée : %s", db_error(app->db));
		respond_error(r, app->db, req, EP_MODIFY, e, c->errors, NULL);
	}
}

static void
handle_get(FCGX_Request *r, struct app *app, const struct http_request *req,
    const char *token_hash)
{
	struct locked_submission row;
	enum lock_result lr;
	cJSON *rep = NULL;
	char *body;

	/* A short read-only transaction: a dead idle connection is replaced at BEGIN. */
	if (!db_begin(app->db)) {
		respond_error(r, app->db, req, EP_MODIFY, ERR_DATABASE_UNAVAILABLE, NULL, NULL);
		return;
	}
	lr = submission_lock_by_token(app->db, token_hash, &row);
	if (lr == LOCK_OK)
		rep = submission_load(app->db, row.id);
	if (lr == LOCK_FAILED || (lr == LOCK_OK && rep == NULL) || !db_commit(app->db)) {
		bool lost = db_lost(app->db);
		db_rollback(app->db);
		cJSON_Delete(rep);
		respond_error(r, app->db, req, EP_MODIFY,
		    lost ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL, NULL, NULL);
		return;
	}
	if (lr == LOCK_NOT_FOUND) {
		respond_error(r, app->db, req, EP_MODIFY, ERR_INVALID_TOKEN, NULL, NULL);
		return;
	}
	body = cJSON_PrintUnformatted(rep);
	cJSON_Delete(rep);
	if (body == NULL) {
		respond_error(r, app->db, req, EP_MODIFY, ERR_INTERNAL, NULL, NULL);
		return;
	}
	respond_representation(r, 200, body, NULL);
	cJSON_free(body);
	metrics_record_outside(app->db, req, EP_MODIFY, 200);
}

/* PUT and DELETE: If-Match, then the change; PUT also validates a body like submit's. */
static void
handle_write(FCGX_Request *r, struct app *app, struct http_request *req,
    const char *token_hash, bool withdraw)
{
	struct change c = { 0 };
	struct submission s = { 0 };
	char key[37], key_hash[IDEM_KEY_HASH_LEN], fingerprint[2 * SHA256_LEN + 1];
	enum api_error e;
	cJSON *root;
	int m;

	if ((m = http_if_match_version(req, &c.if_match)) <= 0) {
		respond_error(r, app->db, req, EP_MODIFY,
		    m == 0 ? ERR_IF_MATCH_REQUIRED : ERR_VERSION_MISMATCH, NULL, NULL);
		return;
	}
	if (!http_origin_allowed(req, app->cfg.origins, app->cfg.norigins)) {
		respond_error(r, app->db, req, EP_MODIFY, ERR_FORBIDDEN_ORIGIN, NULL, NULL);
		return;
	}
	if (req->idempotency_key != NULL && req->idempotency_key[0] != '\0') {
		if (!http_parse_uuid(req->idempotency_key, key)) {
			respond_error(r, app->db, req, EP_MODIFY, ERR_IDEMPOTENCY_KEY_INVALID,
			    NULL, NULL);
			return;
		}
		idempotency_key_hash(key, key_hash);
		c.idem_key_hash = key_hash;
	}
	if (!withdraw) {
		if ((root = respond_read_json(r, app->db, req, EP_MODIFY, &app->cfg)) == NULL)
			return;
		if (!respond_validate_submission(r, app->db, req, EP_MODIFY, root, &s))
			goto done;
	}
	change_fingerprint(token_hash, req, fingerprint);
	c.endpoint = EP_MODIFY;
	c.action = withdraw ? "submission.withdraw" : "submission.update";
	c.token_hash = token_hash;
	c.fingerprint = fingerprint;
	c.apply = withdraw ? apply_withdraw : apply_update;
	c.arg = &s;
	e = change_run(app->db, req, &c);
	answer_change(r, app, req, &c, e);
	change_free(&c);
done:
	submission_free(&s);
}

/* The same work whatever the address, so that neither the answer nor its time tells whether
 * it has an answer: the request is recorded under its limits and the mail sender decides,
 * later, whether a link is sent (lib/link_request.c). */
static void
handle_link(FCGX_Request *r, struct app *app, struct http_request *req)
{
	char email[EMAIL_MAX_LEN + 1], *trimmed = NULL;
	const cJSON *item;
	cJSON *root, *errors;
	size_t i;
	bool lost;

	if ((root = respond_read_json(r, app->db, req, EP_LINK, &app->cfg)) == NULL)
		return;
	item = cJSON_GetObjectItemCaseSensitive(root, "email");
	if (cJSON_IsString(item))
		trimmed = trim_dup(item->valuestring);
	if ((errors = cJSON_CreateObject()) == NULL ||
	    json_unknown_members(root, link_members, 1, errors) < 0) {
		cJSON_Delete(root);
		cJSON_Delete(errors);
		free(trimmed);
		respond_error(r, app->db, req, EP_LINK, ERR_INTERNAL, NULL, NULL);
		return;
	}
	cJSON_Delete(root);
	if (trimmed == NULL || strlen(trimmed) > EMAIL_MAX_LEN || !valid_email(trimmed))
		cJSON_AddStringToObject(errors, "email",
		    "L'adresse e-mail n'est pas valide (exemple : prenom.nom@institution.be).");
	if (cJSON_GetArraySize(errors) > 0) {
		respond_error(r, app->db, req, EP_LINK, ERR_VALIDATION, errors, NULL);
		cJSON_Delete(errors);
		free(trimmed);
		return;
	}
	cJSON_Delete(errors);
	/* Addresses are ASCII once valid; the limit counts them case-insensitively. */
	for (i = 0; trimmed[i] != '\0'; i++)
		email[i] = (char)tolower((unsigned char)trimmed[i]);
	email[i] = '\0';
	free(trimmed);

	if (!db_begin(app->db))
		goto fail;
	switch (link_request_record(app->db, &app->cfg, req, email)) {
	case LINK_RECORDED:
		break;
	case LINK_RATE_LIMITED:
		db_rollback(app->db);
		respond_error(r, app->db, req, EP_LINK, ERR_RATE_LIMITED, NULL, NULL);
		return;
	case LINK_FAILED:
		goto fail;
	}
	if (!metrics_record(app->db, req, EP_LINK, 202) || !db_commit(app->db))
		goto fail;
	http_send(r->out, 202, "application/json; charset=utf-8", NULL, link_accepted,
	    sizeof(link_accepted) - 1);
	return;
fail:
	lost = db_lost(app->db);
	db_rollback(app->db);
	respond_error(r, app->db, req, EP_LINK, lost ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL,
	    NULL, NULL);
}

static void
handle_modify(FCGX_Request *r, struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	char token_hash[2 * SHA256_LEN + 1];

	if (strcmp(req->uri, EP_LINK) == 0) {
		if (strcmp(req->method, "POST") != 0)
			respond_error(r, app->db, req, EP_LINK, ERR_METHOD_NOT_ALLOWED, NULL, "POST");
		else if (respond_feature_allowed(r, app->db, req, EP_LINK, "email_links",
		    ERR_EMAIL_LINKS_DISABLED))
			handle_link(r, app, req);
		return;
	}
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "PUT") != 0 &&
	    strcmp(req->method, "DELETE") != 0) {
		respond_error(r, app->db, req, EP_MODIFY, ERR_METHOD_NOT_ALLOWED, NULL,
		    "GET, PUT, DELETE");
		return;
	}
	if (!respond_feature_allowed(r, app->db, req, EP_MODIFY, "modification",
	    ERR_MODIFICATION_DISABLED))
		return;
	/* A malformed token is answered exactly like an unknown one. */
	if (!edit_token_lookup_hash(http_bearer_token(req), token_hash)) {
		respond_error(r, app->db, req, EP_MODIFY, ERR_INVALID_TOKEN, NULL, NULL);
		return;
	}
	if (strcmp(req->method, "GET") == 0)
		handle_get(r, app, req, token_hash);
	else
		handle_write(r, app, req, token_hash, strcmp(req->method, "DELETE") == 0);
}

int
main(int argc, char **argv)
{
	struct app app = { 0 };
	int rc;

	if ((rc = server_setup(argc, argv, "fiable-modify",
	    "modification, retrait et liens de modification (/api/modify)", &app.cfg)) != 0)
		return rc == 2 ? 0 : rc;
	if ((app.db = db_open(app.cfg.database_url)) == NULL)
		return 1;
	rc = server_run(handle_modify, &app);
	db_close(app.db);
	return rc;
}
