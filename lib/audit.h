/* audit.h — appends to the audit log (audit_logs is append-only: no update, no delete). */
#ifndef FIABLE_AUDIT_H
#define FIABLE_AUDIT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "http.h"

/* Longest user agent, request id and client address kept in a row (longer ones are cut). */
#define AUDIT_UA_MAX 512
#define AUDIT_ID_MAX 64
#define AUDIT_ADDR_MAX 64

struct audit_entry {
	const char *action;     /* "submission.create", ... */
	const char *entity;     /* table name */
	const char *entity_id;
	const char *actor;      /* who: the submitter's e-mail, "admin:<user>", "cron" */
	const cJSON *details;   /* may be NULL */
};

/* Appends one row in the current transaction, with the client address, user agent and
 * request id of req (sanitised and bounded). */
bool audit_append(struct db *db, const struct http_request *req, const struct audit_entry *e);

/* Appends the row and commits the transaction, in one round trip: the writes' last step.
 * The hash chain's trigger (sql/0008) makes audit writers wait for one another from their
 * row until their COMMIT; written last, the row holds that turn the shortest time. False
 * when either failed (the transaction is then left for db_rollback). */
bool audit_append_commit(struct db *db, const struct http_request *req,
    const struct audit_entry *e);

#endif
