#include "watch.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "num.h"

/* The pause after a database failure. */
#define WATCH_RETRY_S 2

static volatile sig_atomic_t stopping;

static void
on_terminate(int sig)
{
	(void)sig;
	stopping = 1;
}

int
watch_options(struct cli *c, int argc, char **argv, int opt_watch, int opt_period,
    long long min, long long max, const char *unit, bool *service, long long *period)
{
	const char *arg, *name = c->options[opt_period].name;
	bool period_set = false;
	int opt;

	while ((opt = cli_next(c, argc, argv, &arg)) != CLI_DONE) {
		if (opt == opt_watch) {
			*service = true;
		} else if (opt == opt_period) {
			if (!num_parse(arg, min, max, period))
				return cli_usage_error(c, "--%s : un nombre de %s de %lld à %lld", name,
				    unit, min, max);
			period_set = true;
		} else {	/* CLI_EXIT: --help, --version or a usage error */
			return c->status;
		}
	}
	if (period_set && !*service)
		return cli_usage_error(c, "--%s ne va qu'avec --watch", name);
	return WATCH_PROCEED;
}

bool
watch_stopping(void)
{
	return stopping != 0;
}

int
watch_run(struct db *db, const char *channel, int period_ms, const char *what,
    watch_pass_fn pass, void *ctx)
{
	struct sigaction sa;
	sigset_t blocked;
	unsigned long listening = 0;	/* connection number the LISTEN was said on */
	bool more;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_terminate;	/* no SA_RESTART: poll() must return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* A supervisor may have left them blocked (runuser blocks them around its child). */
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	sigprocmask(SIG_UNBLOCK, &blocked, NULL);
	log_info("à l'écoute des %s", what);
	while (!stopping) {
		/* LISTEN first, then the pass: nothing committed in between is missed. */
		if (listening != db_connections(db) || listening == 0) {
			if (!db_listen(db, channel)) {
				sleep(WATCH_RETRY_S);
				continue;
			}
			listening = db_connections(db);
		}
		if (pass(db, ctx, &more) < 0) {
			/* A pass that lost its connection (a database restarted, a primary failed
			 * over) left none to pass on: LISTEN again first, which reconnects. */
			listening = 0;
			sleep(WATCH_RETRY_S);
			continue;
		}
		/* A SIGTERM that came during the pass must not wait for the next one. */
		if (stopping)
			break;
		/* The pass reconnected (the database restarted): the new connection does not
		 * listen, and a wait on it would miss every notification until the period ends.
		 * LISTEN on it, then pass again. */
		if (listening != db_connections(db))
			continue;
		/* A backlog larger than a pass: the next pass at once. */
		if (more)
			continue;
		if (db_wait_notify(db, period_ms) < 0)
			listening = 0;
	}
	log_info("arrêt");
	return 0;
}
