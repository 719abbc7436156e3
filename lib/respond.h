/* respond.h — what every endpoint does at its edges, on its request context (server.h):
 * refuse a request with the right problem+json and headers (counted in the metrics), read a
 * JSON body with all the checks of a write, and send a representation with its ETag. */
#ifndef FIABLE_RESPOND_H
#define FIABLE_RESPOND_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "server.h"

/* Sends error e, with the headers its entry of api_errors asks for (Allow from
 * call->allow, WWW-Authenticate, Retry-After), and records the request's metric. */
void respond_error(struct call *call, enum api_error e);
/* Same, with one more member (name: member) in the problem: "errors" (field -> message) of
 * a 400, "current" of a 412. member NULL adds nothing. */
void respond_problem(struct call *call, enum api_error e, const char *name,
    const cJSON *member);
/* A statement failed: 503 when the connection is gone, else 500. */
void respond_db_failure(struct call *call);
/* Records the metric of a request answered outside a transaction of its own (best effort;
 * nothing for a program that is not measured). */
void respond_record(struct call *call, int status);

/* Sends json with status (extra_headers: whole lines, or NULL) and records the metric. */
void respond_json(struct call *call, int status, const char *extra_headers, const cJSON *json);

/* Rollback scenario 2 of the plan: a feature switched off refuses before anything is read or
 * stored. Returns true when flag is on, else false after answering refusal (or 503/500 when
 * the flag cannot be read). */
bool respond_feature_allowed(struct call *call, const char *flag, enum api_error refusal);

/* Checks origin and media type, reads the bounded body and parses it as a JSON object.
 * Returns the object, or NULL after answering the error. */
cJSON *respond_read_json(struct call *call);

/* Validates a submission body (every field, slots against the catalogue) into s and frees
 * root. Returns true, or false after answering the error; call submission_free either way. */
struct submission;
bool respond_validate_submission(struct call *call, cJSON *root, struct submission *s);
/* Same, with the slots checked against the catalogue of a campaign (its id; NULL = the
 * first). */
bool respond_validate_submission_in(struct call *call, cJSON *root, struct submission *s,
    const char *campaign_id);

/* Sends a representation (a JSON text) with status and the ETag of its version; with an
 * edit token, the token is added as "edit_token" (the stored text never holds it). Records
 * no metric: a write's metric is in its transaction. */
void respond_representation(struct call *call, int status, const char *body,
    const char *token);

#endif
