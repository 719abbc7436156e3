/* fiable-submit — POST /api/submit: a first answer, stored exactly once.
 *
 * Recipe: check method, origin, media type and Idempotency-Key; read the bounded body;
 * validate every field (slots against the catalogue); then in ONE transaction claim the
 * key, insert the submission, append the audit row, record the metric and store the
 * response. A replay of the key with the same body gets the stored response again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "idempotency.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "submission.h"
#include "validate.h"

#define ENDPOINT "/api/submit"
#define RETRY_AFTER "Retry-After: 2\r\n"

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
    enum api_error e, const cJSON *errors)
{
	const char *headers = NULL;

	if (e == ERR_METHOD_NOT_ALLOWED)
		headers = "Allow: POST\r\n";
	else if (e == ERR_DATABASE_UNAVAILABLE)
		headers = RETRY_AFTER;
	http_send_error(r->out, e, NULL, errors, headers);
	metrics_record_outside(app->db, req, ENDPOINT, api_error_status(e));
}

/* Sends a stored response body with the edit token added: the first answer and every
 * replay go through here, so they are byte-identical. */
static void
send_stored(FCGX_Request *r, int status, const char *body, const char *token)
{
	cJSON *o = cJSON_Parse(body);
	const cJSON *version;
	char etag[48];

	if (o == NULL) {
		http_send_error(r->out, ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	version = cJSON_GetObjectItemCaseSensitive(o, "version");
	snprintf(etag, sizeof(etag), "ETag: \"v%ld\"\r\n",
	    cJSON_IsNumber(version) ? (long)version->valuedouble : 0L);
	cJSON_AddStringToObject(o, "edit_token", token);
	http_send_json(r->out, status, etag, o);
	cJSON_Delete(o);
}

/* After a lost claim: the key's committed response, or 422 when the payload differs. */
static enum outcome
replay(struct app *app, const char *key, const char *payload_hex, char **body, int *status)
{
	struct idem_record rec;
	int found = idempotency_lookup(app->db, key, &rec);

	if (found < 0)
		return db_lost(app->db) ? OUT_UNAVAILABLE : OUT_FAILED;
	if (found == 0)
		return OUT_UNAVAILABLE;	/* vanished meanwhile: the client's retry settles it */
	if (strcmp(rec.endpoint, ENDPOINT) != 0 || strcmp(rec.payload_sha256, payload_hex) != 0 ||
	    rec.body == NULL) {
		free(rec.body);
		return OUT_KEY_REUSED;
	}
	*body = rec.body;
	*status = rec.status;
	return OUT_REPLAY;
}

static enum outcome
store(struct app *app, const struct http_request *req, const struct submission *s,
    const char *key, const char *payload_hex, const unsigned char token_hash[SHA256_LEN],
    char **body, int *status)
{
	struct db *db = app->db;
	struct stored_submission st;
	struct audit_entry entry;
	cJSON *json = NULL, *details = NULL;
	bool lost;

	*body = NULL;
	if (!db_begin(db))
		return db_lost(db) ? OUT_UNAVAILABLE : OUT_FAILED;

	switch (idempotency_claim(db, key, ENDPOINT, payload_hex)) {
	case IDEM_CLAIMED:
		break;
	case IDEM_TAKEN:
		db_rollback(db);
		return replay(app, key, payload_hex, body, status);
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
	cJSON_AddStringToObject(details, "idempotency_key", key);
	cJSON_AddNumberToObject(details, "creneaux", (double)s->ncreneaux);
	entry.action = "submission.create";
	entry.entity = "soumissions_disponibilites";
	entry.entity_id = st.id;
	entry.actor = s->email;
	entry.details = details;

	if (!audit_append(db, req, &entry) ||
	    !metrics_record(db, req, ENDPOINT, 201) ||
	    !idempotency_store(db, key, 201, *body, st.id) ||
	    !db_commit(db))
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
	char key[37], payload_hex[2 * SHA256_LEN + 1], token[TOKEN_STR_LEN];
	char *body = NULL;
	enum api_error err;
	cJSON *root, *errors;
	int status = 0;

	if (strcmp(req->method, "POST") != 0) {
		fail_request(r, app, req, ERR_METHOD_NOT_ALLOWED, NULL);
		return;
	}
	if (!http_origin_allowed(req, app->cfg.origins, app->cfg.norigins)) {
		fail_request(r, app, req, ERR_FORBIDDEN_ORIGIN, NULL);
		return;
	}
	if (!http_is_json(req->content_type)) {
		fail_request(r, app, req, ERR_UNSUPPORTED_MEDIA_TYPE, NULL);
		return;
	}
	if (req->idempotency_key == NULL || req->idempotency_key[0] == '\0') {
		fail_request(r, app, req, ERR_IDEMPOTENCY_KEY_MISSING, NULL);
		return;
	}
	if (!http_parse_uuid(req->idempotency_key, key)) {
		fail_request(r, app, req, ERR_IDEMPOTENCY_KEY_INVALID, NULL);
		return;
	}
	if (http_read_body(req, r->in, app->cfg.max_body_bytes, &err) != 0) {
		fail_request(r, app, req, err, NULL);
		return;
	}
	if ((root = json_parse_object(req->body, req->body_len)) == NULL) {
		fail_request(r, app, req, ERR_INVALID_JSON, NULL);
		return;
	}
	submission_parse(root, &s);
	cJSON_Delete(root);

	if (submission_check_slots(app->db, &s) != 0) {
		fail_request(r, app, req,
		    db_lost(app->db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL, NULL);
		goto done;
	}
	if ((errors = submission_errors_json(&s)) != NULL) {
		fail_request(r, app, req, ERR_VALIDATION, errors);
		cJSON_Delete(errors);
		goto done;
	}

	sha256(req->body, req->body_len, payload_hash);
	hex_encode(payload_hash, SHA256_LEN, payload_hex);
	edit_token_for_key(app->cfg.secret, sizeof(app->cfg.secret), key, token, token_hash);

	switch (store(app, req, &s, key, payload_hex, token_hash, &body, &status)) {
	case OUT_CREATED:
		send_stored(r, status, body, token);
		break;
	case OUT_REPLAY:
		send_stored(r, status, body, token);
		metrics_record_outside(app->db, req, ENDPOINT, status);
		break;
	case OUT_KEY_REUSED:
		fail_request(r, app, req, ERR_IDEMPOTENCY_KEY_REUSED, NULL);
		break;
	case OUT_ALREADY_SUBMITTED:
		fail_request(r, app, req, ERR_ALREADY_SUBMITTED, NULL);
		break;
	case OUT_UNAVAILABLE:
		fail_request(r, app, req, ERR_DATABASE_UNAVAILABLE, NULL);
		break;
	case OUT_FAILED:
		log_error("soumission non enregistrée : %s", db_error(app->db));
		fail_request(r, app, req, ERR_INTERNAL, NULL);
		break;
	}
	cJSON_free(body);
done:
	submission_free(&s);
}

int
main(int argc, char **argv)
{
	struct app app;
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
