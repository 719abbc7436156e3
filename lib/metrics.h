/* metrics.h — one row per request in request_metrics, with what the form reports about the
 * request (header Fiable-Client), and a durable spool for the requests that could not be
 * recorded while the database was down: they are appended to a local file and ingested
 * later (by the next worker that records a metric, fiable-metrics, fiable-health or
 * fiable-check-alerts), so an outage shows up as failures afterwards, not as a gap. */
#ifndef FIABLE_METRICS_H
#define FIABLE_METRICS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "http.h"

/* Bounds of the client facts; a value outside them is dropped (recorded as unknown). */
#define CLIENT_HEADER_MAX 512           /* longer headers are ignored whole */
#define CLIENT_QUEUED_MS_MAX 2147483647LL  /* about 24 days: an integer column */
#define CLIENT_QUEUE_LENGTH_MAX 100000L
#define CLIENT_ATTEMPT_MAX 100000L
#define CLIENT_AUTOSAVE_MS_MAX 600000.0 /* 10 minutes */

/* What the form reports with a write, from
 *   Fiable-Client: from_queue=0|1; queued_ms=N; queue_length=N; attempt=N; autosave_ms=D
 * Each member is negative when the key was absent or its value invalid or out of range. */
struct client_facts {
	int from_queue;        /* 0 or 1 */
	long long queued_ms;   /* time spent in the browser's queue */
	long queue_length;     /* items in the queue when this one was sent */
	long attempt;          /* 1 for the first try */
	double autosave_ms;    /* duration of the last local save, in milliseconds */
};

/* Parses a Fiable-Client value (NULL gives all unknown). Unknown keys are ignored; a key
 * given twice keeps its first valid value. */
void metrics_parse_client(const char *value, struct client_facts *out);

/* Where the spool lives (FIABLE_SPOOL_DIR; NULL or "" turns it off). server_setup calls it. */
void metrics_configure(const char *spool_dir);

/* Records the request with its status and the time since it arrived, on the current
 * connection (inside the caller's transaction when there is one). */
bool metrics_record(struct db *db, const struct http_request *req, const char *endpoint,
    int status);

/* Records a request that was answered without a transaction of its own (errors, reads):
 * best effort, never changes the answer. Outside any transaction, the metric's own COMMIT
 * does not wait for a WAL flush (synchronous_commit off: a crash may lose the last fraction
 * of a second of them); inside the caller's transaction, it commits with it. While the
 * database is unreachable the metric goes to the spool; once it answers again, the spool is
 * ingested (durably: its files are removed afterwards). */
void metrics_record_outside(struct db *db, const struct http_request *req,
    const char *endpoint, int status);

/* Appends one metric to the spool (flushed to disk before returning). 0, or -1 (logged). */
int metrics_spool_append(const struct http_request *req, const char *endpoint, int status);

/* Moves every spooled metric into request_metrics, each exactly once (a replay after a crash
 * adds nothing). Returns how many were added, or -1 when the database failed (what was not
 * ingested stays in the spool). Malformed lines are logged and dropped. */
long metrics_spool_ingest(struct db *db);

/* Spooled metrics waiting to be ingested: lines and bytes. -1 when the spool cannot be read. */
int metrics_spool_backlog(long long *lines, long long *bytes);

/* Read metrics in batches. A program that only reads (fiable-form, whose GET /api/form
 * everyone opens at once) keeps its request metrics in memory instead of committing one
 * row per request, and sends them in one metriques_ingerer() call, as spool lines with
 * their ids (a batch sent again after a lost connection counts once). server_main() sends
 * the batch when it holds METRICS_BATCH_MAX metrics, when its oldest is METRICS_BATCH_MS
 * old, when no connection is waiting, and at exit, committed without waiting for a WAL
 * flush (as metrics_record_outside). If the database is unreachable, the batch goes to the
 * spool. A worker killed with SIGKILL loses its unsent batch. */
#define METRICS_BATCH_MAX 64
#define METRICS_BATCH_MS 1000

/* Turns batching on for this process (before serving): metrics_record_outside() then keeps
 * the metric in the batch. */
void metrics_batch_enable(void);
bool metrics_batch_enabled(void);

/* Milliseconds before the batch is due (0: due now), or -1 when it is empty. */
int metrics_batch_wait_ms(void);

/* Sends the batch (or spools it when the database is unreachable) and empties it. */
void metrics_batch_flush(struct db *db);

/* The summary of the last `window` (a PostgreSQL interval, "24 hours"), with a series in
 * steps of `step` ("1 hour") and days in time zone tz: the JSON of metriques_resume(), whose
 * member names the alert rules use, plus "echecs_authentification_admin". NULL on a database
 * error. */
cJSON *metrics_summary(struct db *db, const char *window, const char *step, const char *tz);

/* Refused administration logins (nginx auth_basic, credentials sent but wrong) are recorded
 * as 401s of this pseudo-endpoint; metrics_summary() adds their count to every summary as
 * "echecs_authentification_admin", which the metrics page, Prometheus and the alert rules
 * read. */
#define METRICS_ADMIN_AUTH_ENDPOINT "/admin/authentification"

/* The refused administration logins in a summary: its 401s of METRICS_ADMIN_AUTH_ENDPOINT,
 * read from its errors by status and endpoint (0 when there are none). */
double metrics_admin_auth_failures(const cJSON *summary);

/* A member of a summary by its dotted path ("temps_reponse_ms.p95"), or NULL. */
const cJSON *metrics_json_path(const cJSON *root, const char *path);

#endif
