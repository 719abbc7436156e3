/* watch.h — the loop of a cron/ program run as a service (--watch): a pass at start, then
 * one per notification on a channel (LISTENed at commit of the writers' transactions) or per
 * period, until SIGTERM or SIGINT; after a reconnection it LISTENs again before passing, so
 * that nothing committed in between is missed. Used by fiable-mail-outbox and
 * fiable-audit-sealer. */
#ifndef FIABLE_WATCH_H
#define FIABLE_WATCH_H

#include <stdbool.h>

#include "cli.h"
#include "db.h"

/* One pass: 0 done, -1 a database failure (the loop pauses, then tries again). *more: the
 * pass reached its bound while work is left (the next pass follows at once). */
typedef int (*watch_pass_fn)(struct db *db, void *ctx, bool *more);

/* Runs passes until SIGTERM or SIGINT (installed here, without SA_RESTART); period_ms is the
 * longest wait between two passes. what ("courriels mis en file") is logged at start.
 * Returns 0. */
int watch_run(struct db *db, const char *channel, int period_ms, const char *what,
    watch_pass_fn pass, void *ctx);

/* The command line of a program that passes once or watches (its table has only these two
 * options): opt_watch is the index of --watch, opt_period that of the period (an integer of
 * min to max in unit, "secondes"), which goes with --watch only. WATCH_PROCEED with *service
 * and *period set (left as given when absent), or the status to exit with. */
#define WATCH_PROCEED (-1)
int watch_options(struct cli *c, int argc, char **argv, int opt_watch, int opt_period,
    long long min, long long max, const char *unit, bool *service, long long *period);

/* True once SIGTERM or SIGINT came during watch_run: a pass stops between two batches. */
bool watch_stopping(void);

#endif
