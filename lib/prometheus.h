/* prometheus.h — GET /api/admin/metrics/prometheus: the figures of the metrics page in
 * Prometheus's text format (version 0.0.4), for the windows 15m (alerting) and 24h (the
 * plan's targets). */
#ifndef FIABLE_PROMETHEUS_H
#define FIABLE_PROMETHEUS_H

#include <stdbool.h>

#include "buf.h"
#include "db.h"

/* Appends the whole exposition to t (days in time zone tz). False on a database error or a
 * failed allocation. Ingests the spool first. */
bool prometheus_text(struct db *db, const char *tz, struct buf *t);

#endif
