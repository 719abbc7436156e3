/* metrics.h — one row per request in request_metrics. */
#ifndef FIABLE_METRICS_H
#define FIABLE_METRICS_H

#include <stdbool.h>

#include "db.h"
#include "http.h"

/* Records the request with its status and the time since it arrived, on the current
 * connection (inside the caller's transaction when there is one). */
bool metrics_record(struct db *db, const struct http_request *req, const char *endpoint,
    int status);

/* Records a request that was answered without a transaction of its own (errors, reads):
 * best effort, a failure is logged and never changes the answer. */
void metrics_record_outside(struct db *db, const struct http_request *req,
    const char *endpoint, int status);

#endif
