/* prometheus.h — GET /api/admin/metrics/prometheus: Fiable in Prometheus's text format
 * (version 0.0.4), the Prometheus way: counters since the first request (_total), the
 * response time and the browsers' facts as histograms (_bucket{le}, _sum, _count) on the
 * bounds of metriques_bornes(), base units (seconds, ratios 0–1), no window: rate() and
 * histogram_quantile() make the windows (cron/prometheus-rules.example.yml). */
#ifndef FIABLE_PROMETHEUS_H
#define FIABLE_PROMETHEUS_H

#include <stdbool.h>

#include "buf.h"
#include "db.h"

/* Appends the whole exposition to t. It only reads, in a read-only transaction (a scrape
 * never changes the database: the spool is left to the programs that measure, to
 * fiable-health and fiable-check-alerts). False on a database error or a failed
 * allocation. */
bool prometheus_text(struct db *db, struct buf *t);

#endif
