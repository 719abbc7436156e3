/* change.h — one change to an existing submission (modify, withdraw, restore, undelete), in
 * ONE transaction (write_tx.h): claim the optional Idempotency-Key, lock the row (by edit token or, for
 * the administration, by id), check it is not withdrawn and that If-Match names its version,
 * apply the change (the triggers bump the version and record the history), append the audit
 * row, record the metric and store the response for replays. */
#ifndef FIABLE_CHANGE_H
#define FIABLE_CHANGE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "http.h"
#include "submission.h"

struct change;

/* Applies the change to the locked row. Returns ERR_NONE on success, ERR_INTERNAL on a
 * database failure, or the error to answer (with c->errors for ERR_VALIDATION). details is
 * the audit row's details, to complete. */
typedef enum api_error (*change_apply)(struct db *db, const struct locked_submission *row,
    struct change *c, cJSON *details);

struct change {
	/* what to do */
	const char *endpoint;        /* "/api/modify": metrics, and with the method the key scope */
	const char *action;          /* audit action, "submission.update" */
	const char *token_hash;      /* hex SHA-256 of the edit token, or NULL with id */
	const char *id;              /* administration: the submission id */
	const char *actor;           /* audit actor; NULL = the submission's e-mail */
	const char *idem_key_hash;   /* hex SHA-256 of the Idempotency-Key (idempotency.h), or NULL */
	const char *fingerprint;     /* hex SHA-256 identifying the request, with idem_key_hash */
	bool on_withdrawn;           /* the change applies to a withdrawn submission */
	change_apply apply;
	void *arg;
	/* what came of it */
	int status;                  /* 200 */
	char *body;                  /* the representation sent (free with cJSON_free) */
	bool replayed;
	cJSON *errors;               /* ERR_VALIDATION: field -> message */
	cJSON *current;              /* ERR_VERSION_MISMATCH: the current representation */
};

/* Runs the change; ERR_NONE on success (c->status, c->body), else the error to answer.
 * Always call change_free. */
enum api_error change_run(struct db *db, const struct http_request *req, struct change *c);
void change_free(struct change *c);

/* The fingerprint of a change request: SHA-256 over the token hash, If-Match and body.
 * False when it could not be computed (no memory): the request must fail, never go on with
 * a made-up fingerprint that another body could share. */
bool change_fingerprint(const char *token_hash, const struct http_request *req,
    char hex[2 * SHA256_LEN + 1]);

/* What a change answers for the result of its write: ERR_NONE, ERR_ALREADY_SUBMITTED (another
 * active answer has the e-mail), ERR_MODIFICATION_CLOSED (the campaign refuses changes now),
 * else ERR_INTERNAL. */
enum api_error change_store_error(enum store_result r);

#endif
