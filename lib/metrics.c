#include "metrics.h"

#include <stdio.h>

#include "log.h"

bool
metrics_record(struct db *db, const struct http_request *req, const char *endpoint, int status)
{
	char st[8], dur[24], method[16];
	const char *params[4];
	uint64_t us = http_now_us() - req->start_us;
	PGresult *res;
	bool ok;

	if (us > 2147483647u)
		us = 2147483647u;
	snprintf(st, sizeof(st), "%d", status);
	snprintf(dur, sizeof(dur), "%llu", (unsigned long long)us);
	http_sanitize(method, sizeof(method), req->method);
	params[0] = endpoint;
	params[1] = method;
	params[2] = st;
	params[3] = dur;
	res = db_exec(db, STMT_METRIC_RECORD, params);
	ok = db_ok(res);
	PQclear(res);
	return ok;
}

void
metrics_record_outside(struct db *db, const struct http_request *req, const char *endpoint,
    int status)
{
	if (db_lost(db) || !db_ensure(db)) {
		/* The metrics issue adds a durable spool for this case. */
		log_warn("métrique non enregistrée (base indisponible) : %s %s %d",
		    req->method, endpoint, status);
		return;
	}
	if (!metrics_record(db, req, endpoint, status))
		log_warn("métrique non enregistrée : %s %s %d", req->method, endpoint, status);
}
