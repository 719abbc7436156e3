/* admin_metrics.h — what GET /api/admin/metrics answers: the targets of docs/plan-de-deploiement.md ("Métriques de
 * succès") and how far the indicators of a window are from them, with the series, alerts,
 * backups and the durable spool. prometheus.c exports the same figures. */
#ifndef FIABLE_ADMIN_METRICS_H
#define FIABLE_ADMIN_METRICS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "db.h"

/* A window one can ask for (?window=), with the step of its series. */
struct admin_window {
	const char *name;       /* "24h" */
	const char *interval;   /* "24 hours", a PostgreSQL interval */
	const char *step;       /* "1 hour" */
};

/* The windows, in the order 15m, 1h, 24h, 7d, 30d; ADMIN_WINDOW_DEFAULT is 24h. */
extern const struct admin_window admin_windows[];
extern const size_t admin_nwindows;
#define ADMIN_WINDOW_SHORT 0     /* 15m */
#define ADMIN_WINDOW_DEFAULT 2   /* 24h */

/* The window named name, or NULL. */
const struct admin_window *admin_window_find(const char *name);

/* A target of docs/plan-de-deploiement.md, read from a summary by its dotted path. */
struct admin_kpi {
	const char *id;
	const char *path;
	const char *label;
	const char *unit;
	char op;            /* '>' above, '<' below, '=' equal to the target */
	double target;
};
extern const struct admin_kpi admin_kpis[];
extern const size_t admin_nkpis;

/* Whether value meets the target: 1, 0, or -1 when there is no value (no traffic). */
int admin_kpi_met(const struct admin_kpi *k, const cJSON *value);

/* The JSON text of a one-row result's column, parsed (NULL when the statement failed, the
 * value is NULL or not JSON). */
cJSON *admin_query_json(struct db *db, enum stmt s, const char *const *params,
    const char *column);

/* Everything the metrics page shows, for window w, days in time zone tz; NULL on a database
 * error. Ingests the spool first. */
cJSON *admin_metrics_json(struct db *db, const struct admin_window *w, const char *tz);

#endif
