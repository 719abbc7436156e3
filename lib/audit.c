#include "audit.h"

#include <stdlib.h>

/* The statement's parameters from e and req (sanitised and bounded); *details is malloc'd
 * (free with cJSON_free). */
static bool
audit_params(const struct http_request *req, const struct audit_entry *e,
    char ua[AUDIT_UA_MAX + 1], char rid[AUDIT_ID_MAX + 1], char addr[AUDIT_ADDR_MAX + 1],
    char **details, const char *params[8])
{
	http_sanitize(ua, AUDIT_UA_MAX + 1, req ? req->user_agent : NULL);
	http_sanitize(rid, AUDIT_ID_MAX + 1, req ? req->request_id : NULL);
	http_sanitize(addr, AUDIT_ADDR_MAX + 1, req ? req->remote_addr : NULL);
	*details = NULL;
	if (e->details != NULL && (*details = cJSON_PrintUnformatted(e->details)) == NULL)
		return false;
	params[0] = e->action;
	params[1] = e->entity;
	params[2] = e->entity_id;
	params[3] = e->actor;
	params[4] = addr[0] ? addr : NULL;
	params[5] = ua[0] ? ua : NULL;
	params[6] = rid[0] ? rid : NULL;
	params[7] = *details ? *details : "{}";
	return true;
}

bool
audit_append(struct db *db, const struct http_request *req, const struct audit_entry *e)
{
	char ua[AUDIT_UA_MAX + 1], rid[AUDIT_ID_MAX + 1], addr[AUDIT_ADDR_MAX + 1];
	char *details;
	const char *params[8];
	PGresult *res;
	bool ok;

	if (!audit_params(req, e, ua, rid, addr, &details, params))
		return false;
	res = db_exec(db, STMT_AUDIT_APPEND, params);
	ok = db_ok(res);
	PQclear(res);
	cJSON_free(details);
	return ok;
}

bool
audit_append_commit(struct db *db, const struct http_request *req,
    const struct audit_entry *e)
{
	char ua[AUDIT_UA_MAX + 1], rid[AUDIT_ID_MAX + 1], addr[AUDIT_ADDR_MAX + 1];
	char *details;
	const char *params[8];
	bool ok;

	if (!audit_params(req, e, ua, rid, addr, &details, params))
		return false;
	ok = db_exec_commit(db, STMT_AUDIT_APPEND, params);
	cJSON_free(details);
	return ok;
}
