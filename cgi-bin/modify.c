/* fiable-modify — coming back to one's answer, with the edit token:
 *   GET    /api/modify       the submission, its version (ETag) and its history
 *   PUT    /api/modify       a new version (If-Match required; Idempotency-Key accepted)
 *   DELETE /api/modify       withdraw it (soft delete; the e-mail becomes free)
 *   POST   /api/modify/link  a new edit link by e-mail (always 202: reveals nothing)
 * The token travels in "Authorization: Bearer"; only its SHA-256 is stored. The feature
 * flags "modification" and "email_links" off refuse the first three or the last (403). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "change.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "idempotency.h"
#include "log.h"
#include "mail.h"
#include "metrics.h"
#include "outbox.h"
#include "respond.h"
#include "server.h"
#include "submission.h"
#include "validate.h"

#define EP_MODIFY "/api/modify"
#define EP_LINK "/api/modify/link"

/* Link requests allowed per hour, per e-mail and per client address. */
#define LINK_PER_EMAIL 3
#define LINK_PER_ADDRESS 20

struct app {
	struct config cfg;
	struct db *db;
};

/* Same words whether or not the e-mail has an answer. */
static const char link_accepted[] =
    "{\"detail\":\"Si une réponse est enregistrée pour cette adresse, un lien de modification "
    "vient d'y être envoyé. Il remplace les liens précédents.\"}";

static enum api_error
apply_update(struct db *db, const struct locked_submission *row, struct change *c,
    cJSON *details)
{
	const struct submission *s = c->arg;
	cJSON *slots = submission_creneaux_json(s);
	char *json = slots ? cJSON_PrintUnformatted(slots) : NULL;
	const char *params[5] = { row->id, s->email, s->nom, json, s->commentaire };
	enum store_result r = json ? submission_write(db, STMT_SUBMISSION_UPDATE, params) :
	    STORE_FAILED;

	(void)details;
	cJSON_Delete(slots);
	cJSON_free(json);
	if (r == STORE_DUPLICATE_EMAIL)
		return ERR_ALREADY_SUBMITTED;
	return r == STORE_OK ? ERR__MAX : ERR_INTERNAL;
}

static enum api_error
apply_withdraw(struct db *db, const struct locked_submission *row, struct change *c,
    cJSON *details)
{
	const char *params[1] = { row->id };

	(void)c;
	(void)details;
	return submission_write(db, STMT_SUBMISSION_WITHDRAW, params) == STORE_OK ?
	    ERR__MAX : ERR_INTERNAL;
}

/* Sends the outcome of a change (success, replay or refusal). */
static void
answer_change(FCGX_Request *r, struct app *app, const struct http_request *req,
    struct change *c, enum api_error e)
{
	if (e == ERR__MAX) {
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

/* Queues the new link for the active submission of email, if there is one. Returns false
 * on a database failure. */
static bool
issue_link(struct app *app, const struct http_request *req, const char *email)
{
	const char *params[2] = { email, NULL };
	unsigned char hash[SHA256_LEN];
	char token[TOKEN_STR_LEN], hex[2 * SHA256_LEN + 1], *subject = NULL, *text = NULL;
	struct audit_entry entry;
	PGresult *res;
	char id[24], nom[512];
	bool ok;

	res = db_exec(app->db, STMT_SUBMISSION_ACTIVE_BY_EMAIL, params);
	if (!db_ok(res)) {
		PQclear(res);
		return false;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		return true;	/* nobody: nothing to send, and the answer is the same */
	}
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	snprintf(nom, sizeof(nom), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);

	if (edit_token_random(token, hash) != 0)
		return false;
	hex_encode(hash, SHA256_LEN, hex);
	params[0] = id;
	params[1] = hex;
	entry.action = "submission.link_sent";
	entry.entity = "soumissions_disponibilites";
	entry.entity_id = id;
	entry.actor = email;
	entry.details = NULL;
	ok = submission_write(app->db, STMT_SUBMISSION_SET_TOKEN, params) == STORE_OK &&
	    message_edit_link(&app->cfg, nom, token, &subject, &text) == 0 &&
	    outbox_enqueue(app->db, MAIL_EDIT_LINK, email, subject, text, id, NULL) &&
	    audit_append(app->db, req, &entry);
	free(subject);
	free(text);
	return ok;
}

static void
handle_link(FCGX_Request *r, struct app *app, struct http_request *req)
{
	char email[EMAIL_MAX_LEN + 1], addr[64], *trimmed = NULL;
	const char *params[2];
	const cJSON *item;
	cJSON *root, *errors;
	PGresult *res;
	size_t i;
	bool lost;

	if ((root = respond_read_json(r, app->db, req, EP_LINK, &app->cfg)) == NULL)
		return;
	item = cJSON_GetObjectItemCaseSensitive(root, "email");
	if (cJSON_IsString(item))
		trimmed = trim_dup(item->valuestring);
	cJSON_Delete(root);
	if (trimmed == NULL || strlen(trimmed) > EMAIL_MAX_LEN || !valid_email(trimmed)) {
		errors = cJSON_CreateObject();
		cJSON_AddStringToObject(errors, "email",
		    "L'adresse e-mail n'est pas valide (exemple : prenom.nom@institution.be).");
		respond_error(r, app->db, req, EP_LINK, ERR_VALIDATION, errors, NULL);
		cJSON_Delete(errors);
		free(trimmed);
		return;
	}
	/* Addresses are ASCII once valid; the limit counts them case-insensitively. */
	for (i = 0; trimmed[i] != '\0'; i++)
		email[i] = (char)tolower((unsigned char)trimmed[i]);
	email[i] = '\0';
	free(trimmed);
	http_sanitize(addr, sizeof(addr), req->remote_addr);

	if (!mail_configured(&app->cfg))
		log_error("lien de modification demandé mais aucun envoi de courriel n'est configuré "
		    "(SMTP_URL ou FIABLE_MAIL_DIR)");
	if (!db_begin(app->db))
		goto fail;
	params[0] = email;
	params[1] = addr;
	res = db_exec(app->db, STMT_LINK_RECENT, params);
	if (!db_ok(res)) {
		PQclear(res);
		goto fail;
	}
	if (strtol(PQgetvalue(res, 0, 0), NULL, 10) >= LINK_PER_EMAIL ||
	    strtol(PQgetvalue(res, 0, 1), NULL, 10) >= LINK_PER_ADDRESS) {
		PQclear(res);
		db_rollback(app->db);
		respond_error(r, app->db, req, EP_LINK, ERR_RATE_LIMITED, NULL, NULL);
		return;
	}
	PQclear(res);
	res = db_exec(app->db, STMT_LINK_RECORD, params);
	if (!db_ok(res)) {
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	/* Without a way to send it, a new token would only lock the person out. */
	if ((mail_configured(&app->cfg) && !issue_link(app, req, email)) ||
	    !metrics_record(app->db, req, EP_LINK, 202) || !db_commit(app->db))
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
