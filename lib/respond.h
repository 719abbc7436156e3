/* respond.h — what every endpoint does at its edges: refuse a request with the right
 * problem+json and headers (counted in the metrics), read a JSON body with all the checks
 * of a write, and send a submission's representation with its ETag. */
#ifndef FIABLE_RESPOND_H
#define FIABLE_RESPOND_H

#include <stdbool.h>

#include <cjson/cJSON.h>
#include <fcgiapp.h>

#include "config.h"
#include "db.h"
#include "http.h"

/* Sends error e (with its Allow, WWW-Authenticate or Retry-After header as it needs) and
 * records the request's metric. allow is the method list for a 405 (or NULL); errors
 * (field -> message) may be NULL. */
void respond_error(FCGX_Request *r, struct db *db, const struct http_request *req,
    const char *endpoint, enum api_error e, const cJSON *errors, const char *allow);

/* Rollback scenario 2 of the plan: a feature switched off refuses before anything is read or
 * stored. Returns true when flag is on, else false after answering refusal (or 503/500 when
 * the flag cannot be read). */
bool respond_feature_allowed(FCGX_Request *r, struct db *db, const struct http_request *req,
    const char *endpoint, const char *flag, enum api_error refusal);

/* Checks origin and media type, reads the bounded body and parses it as a JSON object.
 * Returns the object, or NULL after answering the error. */
cJSON *respond_read_json(FCGX_Request *r, struct db *db, struct http_request *req,
    const char *endpoint, const struct config *cfg);

/* Validates a submission body (every field, slots against the catalogue) into s and frees
 * root. Returns true, or false after answering the error; call submission_free either way. */
struct submission;
bool respond_validate_submission(FCGX_Request *r, struct db *db, const struct http_request *req,
    const char *endpoint, cJSON *root, struct submission *s);

/* Sends a representation (a JSON text) with status and the ETag of its version; with an
 * edit token, the token is added as "edit_token" (the stored text never holds it). */
void respond_representation(FCGX_Request *r, int status, const char *body, const char *token);

#endif
