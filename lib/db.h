/* db.h — one PostgreSQL connection per worker, over libpq, that survives restarts of the
 * database: a lost connection is seen with PQstatus and re-established on the next use,
 * and the prepared statements are prepared again. */
#ifndef FIABLE_DB_H
#define FIABLE_DB_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "statements.h"

struct db;

/* Keeps the conninfo; connects on first use, so a worker starts even while the database
 * is down. */
struct db *db_open(const char *conninfo);
void db_close(struct db *db);

/* Makes sure a connection is up (connecting or reconnecting); false when unreachable. */
bool db_ensure(struct db *db);
/* True when the last failure was the connection itself (not an SQL error). */
bool db_lost(const struct db *db);

/* Runs a named statement with text parameters (NULL = SQL NULL). Returns the result, which
 * the caller must PQclear, or NULL when the statement could not be sent. */
PGresult *db_exec(struct db *db, enum stmt s, const char *const *params);
/* Same, for a read-only statement outside a transaction: retried once on a fresh
 * connection when the connection was found dead (e.g. after a database restart). */
PGresult *db_query(struct db *db, enum stmt s, const char *const *params);

/* Transaction control. db_begin reconnects once if the connection died while idle. */
bool db_begin(struct db *db);
/* A transaction that PostgreSQL refuses to let write, on one snapshot (what a reader that
 * must never change anything uses: the Prometheus scrape). */
bool db_begin_read_only(struct db *db);
/* COMMIT; also false (session closed, db_lost) when the server stopped waiting for the
 * synchronous standby: committed on one disk only, nothing may be acknowledged. */
bool db_commit(struct db *db);
/* The last statement of a transaction and its COMMIT, sent together: one round trip. False
 * when either failed (the transaction is then left for db_rollback), or as db_commit. */
bool db_exec_commit(struct db *db, enum stmt s, const char *const *params);
/* A transaction that only takes an id and commits: true once everything committed before it
 * is on the synchronous standby too (at once without one). Before replaying a stored
 * response: the first attempt may have committed on the primary's disk alone. */
bool db_sync_barrier(struct db *db);
void db_rollback(struct db *db);
/* True while a transaction is open on the connection (BEGIN sent, no COMMIT/ROLLBACK yet). */
bool db_in_transaction(const struct db *db);

/* How many times a connection was established: a change means session state (prepared
 * statements, LISTEN) was lost. */
unsigned long db_connections(const struct db *db);

/* LISTEN on channel (an identifier, quoted here). Say it again after a reconnection. */
bool db_listen(struct db *db, const char *channel);
/* Waits at most timeout_ms for a notification on the connection: 1 notified (all pending
 * notifications are consumed), 0 timed out or interrupted by a signal, -1 connection lost. */
int db_wait_notify(struct db *db, int timeout_ms);

/* For the programs that tell a person why a statement failed (the backup jobs): the reason
 * in French into err, "connexion à la base perdue (WHAT)" or "la base a refusé WHAT : " and
 * the server's first line, followed on a refused permission (42501) by the hint below. */
void db_failure_message(struct db *db, const PGresult *res, const char *what, char *err,
    size_t errlen);
/* What to check when the server refuses a permission to this connection's role (NULL:
 * nothing); hint is kept, not copied. */
void db_set_denied_hint(struct db *db, const char *hint);
/* Runs a statement that must succeed; false with db_failure_message's text in err. */
bool db_run(struct db *db, enum stmt s, const char *const *params, const char *what,
    char *err, size_t errlen);
/* The single count a statement returns (one row, one column), or -1 with a message. */
long long db_run_count(struct db *db, enum stmt s, const char *const *params,
    const char *what, char *err, size_t errlen);
/* The count in column `column` of read-only statement s, whose $1 is the most worth
 * counting (max), outside a transaction: 0 to max, or -1 on a database error. */
int db_count_at_most(struct db *db, enum stmt s, const char *column, int max);
/* Runs a statement whose rows are counted (RETURNING): their number, or -1 with a message. */
long long db_run_rows(struct db *db, enum stmt s, const char *const *params,
    const char *what, char *err, size_t errlen);

/* Reading a result by column name (PQfnumber), never by position, so that a statement's
 * SELECT list can change without its readers silently reading another column. */
/* The text of column `column` in row `row`, or NULL when the value is SQL NULL or the column
 * does not exist (a programming error, logged once per call). */
const char *db_text(const PGresult *res, int row, const char *column);
/* True when the value is SQL NULL (or the column does not exist). */
bool db_is_null(const PGresult *res, int row, const char *column);
/* The integer in that column, through num_parse: false (and a log line) when it is NULL,
 * missing, not an integer or outside [min, max]. */
bool db_int(const PGresult *res, int row, const char *column, long long min, long long max,
    long long *out);
/* The value as a JSON number for a representation: ids and versions are integers well
 * below 2^53; 0 when the value is not an integer (and a log line). */
double db_number(const PGresult *res, int row, const char *column);
/* True when the value is the boolean true ("t"); false for false, NULL or a missing column. */
bool db_bool(const PGresult *res, int row, const char *column);
/* db_text, or fallback where it is NULL: for values that are printed. */
const char *db_text_or(const PGresult *res, int row, const char *column, const char *fallback);

/* True when res is a success (command or tuples). */
bool db_ok(const PGresult *res);
/* SQLSTATE of a failed result, or "" */
const char *db_sqlstate(const PGresult *res);
/* Error message of the connection, for logs. */
const char *db_error(const struct db *db);

#endif
