/* fiable-submit — POST /api/submit: a first answer, stored exactly once.
 *
 * Recipe: check method, origin, media type and Idempotency-Key; read the bounded body;
 * validate every field (slots against the catalogue); then in ONE transaction claim the
 * key, insert the submission, append the audit row, record the metric and store the
 * response. A replay of the key with the same body gets the stored response again, with the
 * edit token recomputed from the key (HMAC), unless the key was once written in clear.
 * The key is a secret like the token: past this recipe's first step only its SHA-256 is
 * used (lookups, audit row, metrics). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "flags.h"
#include "http.h"
#include "idempotency.h"
#include "json.h"
#include "log.h"
#include "mail.h"
#include "metrics.h"
#include "outbox.h"
#include "respond.h"
#include "server.h"
#include "submission.h"
#include "validate.h"

#define ENDPOINT "/api/submit"

struct app {
	struct config cfg;
	struct db *db;
};

enum outcome {
	OUT_CREATED,
	OUT_REPLAY,
	OUT_KEY_REUSED,
	OUT_ALREADY_SUBMITTED,
	OUT_UNAVAILABLE,
	OUT_FAILED
};

/* An error answer, counted in the metrics. */
static void
fail_request(FCGX_Request *r, struct app *app, const struct http_request *req,
    enum api_error e)
{
	respond_error(r, app->db, req, ENDPOINT, e, NULL, "POST");
}

/* After a lost claim: the key's committed response, or 422 when the payload differs.
 * *exposed: the key was written in clear before sql/0010, its replay carries no token. */
static enum outcome
replay(struct app *app, const char *key_hash, const char *payload_hex, char **body,
    int *status, bool *exposed)
{
	switch (idempotency_replay(app->db, key_hash, "POST " ENDPOINT, payload_hex, body, status,
	    exposed)) {
	case IDEM_REPLAY:
		return OUT_REPLAY;
	case IDEM_REUSED:
		return OUT_KEY_REUSED;
	case IDEM_GONE:
		return OUT_UNAVAILABLE;
	case IDEM_ERROR:
		break;
	}
	return db_lost(app->db) ? OUT_UNAVAILABLE : OUT_FAILED;
}

/* Queues the receipt with the edit link, in the submission's transaction; the mail sender
 * (fiable-mail-outbox --watch) is notified at commit, so nobody waits for the mail server.
 * With the feature flag "email_links" off, the receipt carries no link. */
static bool
queue_receipt(struct app *app, const struct submission *s, const char *id, const char *token)
{
	char *subject = NULL, *text = NULL;
	bool ok;
	int links;

	if (!mail_configured(&app->cfg))
		return true;
	if ((links = flag_enabled_in_tx(app->db, "email_links")) < 0)
		return false;
	ok = message_receipt(&app->cfg, s->nom, (const char *const *)s->creneaux, s->ncreneaux,
	    links ? token : NULL, &subject, &text) == 0 &&
	    outbox_enqueue(app->db, MAIL_RECEIPT, s->email, subject, text, id, NULL);
	free(subject);
	free(text);
	return ok;
}

static enum outcome
store(struct app *app, const struct http_request *req, const struct submission *s,
    const char *key_hash, const char *payload_hex, const char *token,
    const unsigned char token_hash[SHA256_LEN], char **body, int *status, bool *exposed)
{
	struct db *db = app->db;
	struct stored_submission st;
	struct audit_entry entry;
	cJSON *json = NULL, *details = NULL;
	bool lost;

	*body = NULL;
	if (!db_begin(db))
		return db_lost(db) ? OUT_UNAVAILABLE : OUT_FAILED;

	switch (idempotency_claim(db, key_hash, "POST " ENDPOINT, payload_hex)) {
	case IDEM_CLAIMED:
		break;
	case IDEM_TAKEN:
		db_rollback(db);
		return replay(app, key_hash, payload_hex, body, status, exposed);
	case IDEM_FAILED:
		goto fail;
	}

	switch (submission_insert(db, s, token_hash, &st)) {
	case STORE_OK:
		break;
	case STORE_DUPLICATE_EMAIL:
		db_rollback(db);
		return OUT_ALREADY_SUBMITTED;
	case STORE_FAILED:
		goto fail;
	}

	if ((json = submission_to_json(s, &st)) == NULL ||
	    (*body = cJSON_PrintUnformatted(json)) == NULL)
		goto fail;

	details = cJSON_CreateObject();
	cJSON_AddNumberToObject(details, "version", (double)st.version);
	cJSON_AddStringToObject(details, "idempotency_key_sha256", key_hash);
	cJSON_AddNumberToObject(details, "creneaux", (double)s->ncreneaux);
	entry.action = "submission.create";
	entry.entity = "soumissions_disponibilites";
	entry.entity_id = st.id;
	entry.actor = s->email;
	entry.details = details;

	if (!queue_receipt(app, s, st.id, token) ||
	    !metrics_record(db, req, ENDPOINT, 201) ||
	    !idempotency_store(db, key_hash, 201, *body, st.id) ||
	    !audit_append_commit(db, req, &entry))
		goto fail;

	cJSON_Delete(details);
	cJSON_Delete(json);
	*status = 201;
	return OUT_CREATED;

fail:
	/* A lost connection (even during COMMIT) is answered 503: the client retries with
	 * the same key, which either replays the committed answer or stores it now. */
	lost = db_lost(db);
	db_rollback(db);
	cJSON_Delete(details);
	cJSON_Delete(json);
	cJSON_free(*body);
	*body = NULL;
	return lost ? OUT_UNAVAILABLE : OUT_FAILED;
}

static void
handle_submit(FCGX_Request *r, struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct submission s;
	unsigned char payload_hash[SHA256_LEN], token_hash[SHA256_LEN];
	char key[37], key_hash[IDEM_KEY_HASH_LEN], payload_hex[2 * SHA256_LEN + 1];
	char token[TOKEN_STR_LEN];
	char *body = NULL;
	cJSON *root;
	int status = 0;
	bool exposed = false;

	if (strcmp(req->method, "POST") != 0) {
		fail_request(r, app, req, ERR_METHOD_NOT_ALLOWED);
		return;
	}
	if ((root = respond_read_json(r, app->db, req, ENDPOINT, &app->cfg)) == NULL)
		return;
	if (req->idempotency_key == NULL || req->idempotency_key[0] == '\0') {
		cJSON_Delete(root);
		fail_request(r, app, req, ERR_IDEMPOTENCY_KEY_MISSING);
		return;
	}
	if (!http_parse_uuid(req->idempotency_key, key)) {
		cJSON_Delete(root);
		fail_request(r, app, req, ERR_IDEMPOTENCY_KEY_INVALID);
		return;
	}
	if (!respond_validate_submission(r, app->db, req, ENDPOINT, root, &s))
		goto done;

	sha256(req->body, req->body_len, payload_hash);
	hex_encode(payload_hash, SHA256_LEN, payload_hex);
	idempotency_key_hash(key, key_hash);
	edit_token_for_key(app->cfg.secret, sizeof(app->cfg.secret), key, token, token_hash);

	switch (store(app, req, &s, key_hash, payload_hex, token, token_hash, &body, &status,
	    &exposed)) {
	case OUT_CREATED:
		/* The first answer and every replay go through the same printing of the stored
		 * text, so they are byte-identical. */
		respond_representation(r, status, body, token);
		break;
	case OUT_REPLAY:
		/* A key written in clear before sql/0010 may be anyone's: its stored answer, but
		 * no token (the person keeps the link of the receipt, or asks for a new one). */
		respond_representation(r, status, body, exposed ? NULL : token);
		metrics_record_outside(app->db, req, ENDPOINT, status);
		break;
	case OUT_KEY_REUSED:
		fail_request(r, app, req, ERR_IDEMPOTENCY_KEY_REUSED);
		break;
	case OUT_ALREADY_SUBMITTED:
		fail_request(r, app, req, ERR_ALREADY_SUBMITTED);
		break;
	case OUT_UNAVAILABLE:
		fail_request(r, app, req, ERR_DATABASE_UNAVAILABLE);
		break;
	case OUT_FAILED:
		log_error("soumission non enregistrée : %s", db_error(app->db));
		fail_request(r, app, req, ERR_INTERNAL);
		break;
	}
	cJSON_free(body);
done:
	submission_free(&s);
}

int
main(int argc, char **argv)
{
	struct app app = { 0 };
	int rc;

	if ((rc = server_setup(argc, argv, "fiable-submit",
	    "enregistre une réponse (POST /api/submit)", &app.cfg)) != 0)
		return rc == 2 ? 0 : rc;
	if ((app.db = db_open(app.cfg.database_url)) == NULL)
		return 1;
	rc = server_run(handle_submit, &app);
	db_close(app.db);
	return rc;
}
