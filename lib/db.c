#include "db.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "num.h"

struct db {
	char *conninfo;
	PGconn *conn;
	bool prepared[STMT__MAX];
	bool lost;
	unsigned long connections;   /* successful connections so far */
	const char *denied_hint;     /* db_set_denied_hint */
	bool warned;                 /* a WARNING (SQLSTATE 01000) arrived: see db_notice */
};

struct db *
db_open(const char *conninfo)
{
	struct db *db = calloc(1, sizeof(*db));

	if (db == NULL || (db->conninfo = strdup(conninfo)) == NULL) {
		free(db);
		return NULL;
	}
	return db;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db->conninfo);
	free(db);
}

static void
db_forget_prepared(struct db *db)
{
	memset(db->prepared, 0, sizeof(db->prepared));
}

/* Notices are logged (first line, SQLSTATE), as libpq's default printed them on stderr. A
 * plain WARNING (01000) is remembered: in answer to COMMIT it is the one a server gives when
 * the wait for the synchronous standby was cancelled (db_wait_result) — the transaction
 * committed on the primary's disk only (see db_commit_replicated). */
static void
db_notice(void *arg, const PGresult *res)
{
	struct db *db = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorMessage(res);

	if (sev != NULL && strcmp(sev, "WARNING") == 0 && state != NULL &&
	    strcmp(state, "01000") == 0)
		db->warned = true;
	log_warn("db: %s%.*s (SQLSTATE %s)", sev != NULL ? "" : "avis : ",
	    (int)strcspn(msg, "\n"), msg, state != NULL ? state : "?");
}

/* After a COMMIT that succeeded: false if the server warned that it stopped waiting for the
 * synchronous standby. Nothing may then be acknowledged: the session is closed (noted lost,
 * so the caller answers 503) and the client's retry, with its Idempotency-Key, is answered
 * only once the standby has the transaction (db_sync_barrier). */
static bool
db_commit_replicated(struct db *db, const char *what)
{
	if (!db->warned)
		return true;
	log_warn("db: %s : validé sur le primaire seul (attente du standby synchrone "
	    "interrompue) : rien n'est confirmé", what);
	db->lost = true;
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	return false;
}

bool
db_ensure(struct db *db)
{
	/* Defaults first: the conninfo given by the administrator overrides them. */
	static const char *const keys[] = { "connect_timeout", "options",
	    "application_name", "dbname", NULL };
	const char *values[] = { "3", "-c timezone=UTC -c statement_timeout=10000",
	    "fiable", db->conninfo, NULL };

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return true;
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db_forget_prepared(db);
	db->conn = PQconnectdbParams(keys, values, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		log_warn("%s: connexion à la base impossible : %s", __func__,
		    db->conn ? PQerrorMessage(db->conn) : "mémoire insuffisante");
		db->lost = true;
		return false;
	}
	/* Error messages without DETAIL, HINT or CONTEXT: those quote values (a duplicate key,
	 * a failing row) that may be personal data, and every message ends up in a log. The
	 * SQLSTATE, logged with them, says the rest. */
	PQsetErrorVerbosity(db->conn, PQERRORS_TERSE);
	PQsetNoticeReceiver(db->conn, db_notice, db);
	db->lost = false;
	db->connections++;
	return true;
}

unsigned long
db_connections(const struct db *db)
{
	return db->connections;
}

bool
db_lost(const struct db *db)
{
	return db->lost;
}

const char *
db_error(const struct db *db)
{
	return db->conn ? PQerrorMessage(db->conn) : "pas de connexion";
}

static int
db_column(const PGresult *res, int row, const char *column)
{
	int c = PQfnumber(res, column);

	if (c < 0 || row < 0 || row >= PQntuples(res)) {
		log_error("résultat : pas de colonne « %s » à la ligne %d", column, row);
		return -1;
	}
	return c;
}

const char *
db_text(const PGresult *res, int row, const char *column)
{
	int c = db_column(res, row, column);

	if (c < 0 || PQgetisnull(res, row, c))
		return NULL;
	return PQgetvalue(res, row, c);
}

bool
db_is_null(const PGresult *res, int row, const char *column)
{
	return db_text(res, row, column) == NULL;
}

bool
db_int(const PGresult *res, int row, const char *column, long long min, long long max,
    long long *out)
{
	const char *v = db_text(res, row, column);

	if (v == NULL || !num_parse(v, min, max, out)) {
		log_error("résultat : « %s » n'est pas un entier entre %lld et %lld", column, min,
		    max);
		return false;
	}
	return true;
}

double
db_number(const PGresult *res, int row, const char *column)
{
	long long n = 0;

	/* 2^53: beyond it a JSON number no longer holds every integer. */
	if (!db_int(res, row, column, -9007199254740992LL, 9007199254740992LL, &n))
		return 0;
	return (double)n;
}

bool
db_bool(const PGresult *res, int row, const char *column)
{
	const char *v = db_text(res, row, column);

	return v != NULL && strcmp(v, "t") == 0;
}

const char *
db_text_or(const PGresult *res, int row, const char *column, const char *fallback)
{
	const char *v = db_text(res, row, column);

	return v != NULL ? v : fallback;
}

bool
db_ok(const PGresult *res)
{
	ExecStatusType st;

	if (res == NULL)
		return false;
	st = PQresultStatus(res);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

const char *
db_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s ? s : "";
}

/* True when a failed result means the session is gone, even if PQstatus has not seen the
 * end of the socket yet: a FATAL sent by a server shutting down (57P01..57P03), a connection
 * error (class 08), or an error made by libpq itself (no SQLSTATE). Also a write refused by a
 * server in recovery (25006): with a multi-host conninfo this session is on a standby (a
 * primary demoted under it), and a fresh connection (target_session_attrs=read-write) finds
 * the new primary. */
static bool
db_session_gone(const PGresult *res)
{
	const char *state = db_sqlstate(res);

	return state[0] == '\0' || strncmp(state, "08", 2) == 0 ||
	    strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	    strcmp(state, "57P03") == 0 || strcmp(state, "25006") == 0;
}

/* Notes a failure: connection loss or an SQL error, logged either way (its first line and
 * its SQLSTATE). A lost connection is closed at once, so the next db_ensure opens a fresh one. */
static void
db_note_failure(struct db *db, const char *what, const PGresult *res)
{
	const char *msg = res ? PQresultErrorMessage(res) : db_error(db);
	const char *state = db_sqlstate(res);

	db->lost = db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK ||
	    db_session_gone(res);
	log_warn("db: %s : %s%.*s%s%s%s", what, db->lost ? "connexion perdue : " : "",
	    (int)strcspn(msg, "\n"), msg, state[0] ? " (SQLSTATE " : "", state,
	    state[0] ? ")" : "");
	if (db->lost && db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
}

/* How long the client waits for a commit (COMMIT, or a statement outside a transaction)
 * before asking the server to cancel, then as long again before giving the session up. A
 * COMMIT waiting for a missing synchronous standby (synchronous_mode_strict) ignores
 * statement_timeout — the server stops that timer before it commits — and would hold the
 * worker until the standby is back: after the cancel it ends with the warning that
 * db_commit_replicated turns into a failure (503). A little longer than the statement_timeout
 * of db_ensure, which ends such statements first. Statements inside a transaction are left
 * to the server's statement_timeout (a backup sets its own, of 30 minutes). */
#define DB_WAIT_MS 12000

static long long
db_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until a result can be read without blocking (bounded: cancelling once after
 * DB_WAIT_MS); false when the connection failed or the server did not answer the cancel. */
static bool
db_wait_result(struct db *db, bool bounded)
{
	long long deadline = db_now_ms() + DB_WAIT_MS;
	bool cancelled = false;

	while (PQisBusy(db->conn)) {
		struct pollfd p = { .fd = PQsocket(db->conn), .events = POLLIN };
		long long left = deadline - db_now_ms();
		int r;

		if (p.fd < 0)
			return false;
		r = !bounded ? poll(&p, 1, -1) : left > 0 ? poll(&p, 1, (int)left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return false;
		if (r == 0) {
			PGcancel *c;
			char err[256];

			if (cancelled)
				return false;
			log_warn("db: pas de réponse après %d ms : demande d’annulation", DB_WAIT_MS);
			if ((c = PQgetCancel(db->conn)) == NULL || !PQcancel(c, err, sizeof(err)))
				log_warn("db: annulation impossible : %s", c ? err : "mémoire insuffisante");
			PQfreeCancel(c);
			cancelled = true;
			deadline = db_now_ms() + DB_WAIT_MS;
			continue;
		}
		if (!PQconsumeInput(db->conn))
			return false;
	}
	return true;
}

/* The results of what was just sent, as PQexec gives them: the first failure, else the
 * last result; NULL when the connection failed (or nothing could be sent). */
static PGresult *
db_collect(struct db *db, bool sent, bool bounded)
{
	PGresult *res, *kept = NULL;

	if (!sent)
		return NULL;
	for (;;) {
		if (!db_wait_result(db, bounded)) {
			PQclear(kept);
			return NULL;
		}
		if ((res = PQgetResult(db->conn)) == NULL)
			return kept;
		if (kept == NULL || db_ok(kept)) {
			PQclear(kept);
			kept = res;
		} else {
			PQclear(res);
		}
	}
}

/* Makes sure statement s is prepared on the current connection (once per connection). */
static bool
db_prepare(struct db *db, enum stmt s)
{
	const struct stmt_def *def = stmt_get(s);
	PGresult *res;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db->lost = true;
		return false;
	}
	if (db->prepared[s])
		return true;
	res = db_collect(db, PQsendPrepare(db->conn, def->name, def->sql, def->nparams, NULL) == 1,
	    false);
	if (!db_ok(res)) {
		db_note_failure(db, def->name, res);
		PQclear(res);
		return false;
	}
	PQclear(res);
	db->prepared[s] = true;
	return true;
}

PGresult *
db_exec(struct db *db, enum stmt s, const char *const *params)
{
	const struct stmt_def *def = stmt_get(s);
	PGresult *res;
	bool autocommit;

	if (!db_prepare(db, s))
		return NULL;
	/* Outside a transaction the statement commits on its own: a bounded wait. */
	autocommit = PQtransactionStatus(db->conn) == PQTRANS_IDLE;
	res = db_collect(db, PQsendQueryPrepared(db->conn, def->name, def->nparams, params, NULL,
	    NULL, 0) == 1, autocommit);
	if (!db_ok(res))
		db_note_failure(db, def->name, res);
	return res;
}

PGresult *
db_query(struct db *db, enum stmt s, const char *const *params)
{
	PGresult *res;

	if (!db_ensure(db))
		return NULL;
	res = db_exec(db, s, params);
	if (db_ok(res) || !db->lost)
		return res;
	PQclear(res);
	/* The connection died while idle (database restarted): one fresh try. */
	if (!db_ensure(db))
		return NULL;
	return db_exec(db, s, params);
}

/* Runs a fixed transaction-control command (no parameters, no user data). */
static bool
db_command(struct db *db, const char *sql)
{
	PGresult *res;
	bool ok;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db->lost = true;
		return false;
	}
	res = db_collect(db, PQsendQuery(db->conn, sql) == 1,
	    PQtransactionStatus(db->conn) == PQTRANS_IDLE || strcmp(sql, "COMMIT") == 0);
	ok = db_ok(res);
	if (!ok)
		db_note_failure(db, sql, res);
	PQclear(res);
	return ok;
}

static bool
db_begin_with(struct db *db, const char *begin)
{
	if (!db_ensure(db))
		return false;
	if (db_command(db, begin))
		return true;
	if (!db->lost || !db_ensure(db))
		return false;
	return db_command(db, begin);
}

bool
db_begin(struct db *db)
{
	return db_begin_with(db, "BEGIN");
}

bool
db_begin_read_only(struct db *db)
{
	return db_begin_with(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

bool
db_commit(struct db *db)
{
	db->warned = false;
	return db_command(db, "COMMIT") && db_commit_replicated(db, "COMMIT");
}

bool
db_sync_barrier(struct db *db)
{
	PGresult *res;

	if (!db_begin(db))
		return false;
	res = db_exec(db, STMT_SYNC_BARRIER, NULL);
	if (!db_ok(res)) {
		PQclear(res);
		db_rollback(db);
		return false;
	}
	PQclear(res);
	return db_commit(db);
}

bool
db_exec_commit(struct db *db, enum stmt s, const char *const *params)
{
	const struct stmt_def *def = stmt_get(s);
	PGresult *res, *failed = NULL;
	int nulls = 0, results = 0;
	bool sent;

	if (!db_prepare(db, s))
		return false;
	db->warned = false;
	/* One round trip: the statement and COMMIT in a pipeline, closed by a sync. */
	sent = PQenterPipelineMode(db->conn) == 1 &&
	    PQsendQueryPrepared(db->conn, def->name, def->nparams, params, NULL, NULL, 0) == 1 &&
	    PQsendQueryParams(db->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1 &&
	    PQpipelineSync(db->conn) == 1;
	/* Each query's results end with a NULL; the sync's result closes the pipeline. A NULL
	 * more than the two queries give means the connection broke: nothing more will come.
	 * (Two queries give at most four results; more is a libpq state never expected.) */
	while (sent && nulls <= 2 && results++ < 8) {
		ExecStatusType st;

		if (!db_wait_result(db, true)) {
			sent = false;
			break;
		}
		if ((res = PQgetResult(db->conn)) == NULL) {
			nulls++;
			continue;
		}
		st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		/* After a failure the rest of the pipeline is skipped (PGRES_PIPELINE_ABORTED):
		 * the first failure is the one to report. */
		if (!db_ok(res) && failed == NULL)
			failed = res;
		else
			PQclear(res);
	}
	if (!sent || nulls > 2 || results > 8) {
		/* The connection is in an unknown state: closed, noted lost. */
		PQclear(failed);
		db_note_failure(db, def->name, NULL);
		return false;
	}
	(void)PQexitPipelineMode(db->conn);
	if (failed == NULL)
		return db_commit_replicated(db, def->name);
	db_note_failure(db, def->name, failed);
	PQclear(failed);
	return false;
}

void
db_rollback(struct db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		(void)db_command(db, "ROLLBACK");
}

bool
db_in_transaction(const struct db *db)
{
	return db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) != PQTRANS_IDLE;
}

bool
db_listen(struct db *db, const char *channel)
{
	char *ident, sql[128];
	bool ok;

	if (!db_ensure(db))
		return false;
	if ((ident = PQescapeIdentifier(db->conn, channel, strlen(channel))) == NULL)
		return false;
	snprintf(sql, sizeof(sql), "LISTEN %s", ident);
	PQfreemem(ident);
	ok = db_command(db, sql);
	return ok;
}

int
db_wait_notify(struct db *db, int timeout_ms)
{
	struct pollfd pfd;
	PGnotify *n;
	int got = 0, rc;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
		return -1;
	/* A notification that came with the results of the last statements is already in
	 * libpq's queue, not on the socket: poll() would not see it until the timeout. */
	while ((n = PQnotifies(db->conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	if (got)
		return 1;
	pfd.fd = PQsocket(db->conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	if (rc == 0)
		return 0;
	if (!PQconsumeInput(db->conn) || PQstatus(db->conn) != CONNECTION_OK)
		goto lost;
	while ((n = PQnotifies(db->conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	/* What came was no notification: most likely the FATAL of a server shutting down, which
	 * libpq keeps as a notice, the connection still looking fine until the end of the stream
	 * is read. Read once more if there is more: the loss is seen now, not at the next
	 * statement (a cache would otherwise be served as if the database were there). */
	pfd.revents = 0;
	if (!got && poll(&pfd, 1, 0) > 0 &&
	    (!PQconsumeInput(db->conn) || PQstatus(db->conn) != CONNECTION_OK))
		goto lost;
	while ((n = PQnotifies(db->conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
lost:
	db->lost = true;
	log_warn("db: attente de notification : connexion perdue : %s", PQerrorMessage(db->conn));
	PQfinish(db->conn);
	db->conn = NULL;
	return -1;
}

void
db_set_denied_hint(struct db *db, const char *hint)
{
	db->denied_hint = hint;
}

void
db_failure_message(struct db *db, const PGresult *res, const char *what, char *err,
    size_t errlen)
{
	const char *msg = res ? PQresultErrorMessage(res) : db_error(db);
	size_t len = strcspn(msg, "\n");

	if (db_lost(db))
		snprintf(err, errlen, "connexion à la base perdue (%s)", what);
	else if (db->denied_hint != NULL && strcmp(db_sqlstate(res), "42501") == 0)
		snprintf(err, errlen, "la base a refusé %s : %.*s — %s", what, (int)len, msg,
		    db->denied_hint);
	else
		snprintf(err, errlen, "la base a refusé %s : %.*s", what, (int)len, msg);
}

bool
db_run(struct db *db, enum stmt s, const char *const *params, const char *what, char *err,
    size_t errlen)
{
	PGresult *res = db_exec(db, s, params);
	bool ok = db_ok(res);

	if (!ok)
		db_failure_message(db, res, what, err, errlen);
	PQclear(res);
	return ok;
}

long long
db_run_count(struct db *db, enum stmt s, const char *const *params, const char *what,
    char *err, size_t errlen)
{
	PGresult *res = db_exec(db, s, params);
	long long n = -1;

	if (!db_ok(res) || PQntuples(res) != 1) {
		db_failure_message(db, res, what, err, errlen);
	} else if (PQnfields(res) != 1 ||
	    !num_parse(PQgetvalue(res, 0, 0), 0, LLONG_MAX, &n)) {
		/* The one column of a count: by position, there is no other. */
		snprintf(err, errlen, "%s : nombre inattendu", what);
		n = -1;
	}
	PQclear(res);
	return n;
}

int
db_count_at_most(struct db *db, enum stmt s, const char *column, int max)
{
	char limit[16];
	const char *params[1] = { limit };
	PGresult *res;
	long long n = -1;

	snprintf(limit, sizeof(limit), "%d", max);
	res = db_query(db, s, params);
	if (!db_ok(res) || PQntuples(res) != 1 || !db_int(res, 0, column, 0, max, &n))
		n = -1;
	PQclear(res);
	return (int)n;
}

long long
db_run_rows(struct db *db, enum stmt s, const char *const *params, const char *what,
    char *err, size_t errlen)
{
	PGresult *res = db_exec(db, s, params);
	long long n = -1;

	if (!db_ok(res))
		db_failure_message(db, res, what, err, errlen);
	else
		n = PQntuples(res);
	PQclear(res);
	return n;
}
