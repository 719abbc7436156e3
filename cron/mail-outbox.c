/* fiable-mail-outbox — sends the messages waiting in mail_outbox, and resolves the link
 * requests of POST /api/modify/link first (lib/link_request.h): for an address with an active
 * answer, a new edit token and its link join the queue; for any other, nothing is sent.
 *
 * As a service, `fiable-mail-outbox --watch` listens for the notification each queued message
 * sends when its transaction commits and delivers it at once, so the FastCGI programs never
 * wait for a mail server; it also wakes every WATCH_PERIOD_S seconds (--period) for the
 * retries that come due (backoff of lib/outbox.c) and survives database restarts: as soon as
 * it is connected again it LISTENs on the new connection and passes at once. A pass that
 * reaches its bound (BATCH * MAX_BATCHES messages) while more are due is followed by
 * another at once, not by the period's wait.
 *
 * From cron, one pass that catches up (for a host without the service, or as a safety net):
 *
 *     * * * * *  fiable-mail-outbox 2>>/var/log/fiable/mail-outbox.log
 *
 * A pass prints one summary line on stderr; the service prints one per pass that did work.
 *
 * Exit status: 0 done (messages put off until later included); 1 configuration or database
 * error; 2 mail is not configured while messages wait; 3 messages were due and none could
 * be sent (the server was unreachable or answered "try later"); 64 bad usage. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "link_request.h"
#include "mail.h"
#include "num.h"
#include "outbox.h"

#define PROGRAM "fiable-mail-outbox"
/* At most BATCH * MAX_BATCHES messages a run: the next run carries on. */
#define BATCH 50
#define MAX_BATCHES 20
/* Bound of the count of messages still due, shown in the summary. */
#define COUNT_MAX 100000
/* --watch: longest sleep between two passes (by default; --period), and the pause after a
 * database failure. */
#define WATCH_PERIOD_S 30
#define WATCH_PERIOD_MAX_S 3600
#define WATCH_RETRY_S 2

static volatile sig_atomic_t stopping;

static void
on_terminate(int sig)
{
	(void)sig;
	stopping = 1;
}

enum opt { OPT_WATCH, OPT_PERIOD, OPT__MAX };

static const struct cli_option options[OPT__MAX + 1] = {
	[OPT_WATCH] = { "watch", NULL, "en service : envoie chaque message dès sa mise en file, "
	    "jusqu'à SIGTERM" },
	[OPT_PERIOD] = { "period", "SECONDES", "avec --watch : passe de rattrapage au plus tard "
	    "toutes les SECONDES\n(1 à 3600, défaut : 30) pour les nouveaux essais" },
};

static struct cli cli = {
	.program = PROGRAM,
	.summary = "envoie les courriels en attente (table mail_outbox), après avoir\n"
	    "traité les demandes de lien de modification (table modify_link_requests)",
	.synopsis = "[--watch [--period SECONDES]]",
	.options = options,
	.notes = "En service : " PROGRAM " --watch (envoie chaque message dès sa mise en file).\n"
	    "Par cron, une passe de rattrapage, par exemple chaque minute :\n"
	    "  * * * * *  " PROGRAM "\n\n"
	    "Écrit un résumé d'une ligne sur la sortie d'erreur. Code de sortie : 0 terminé,\n"
	    "1 erreur de configuration ou de base de données, 2 courriel non configuré alors que\n"
	    "des messages attendent, 3 aucun message dû n'a pu être envoyé (serveur injoignable),\n"
	    "64 usage incorrect.",
};

/* Says what the link requests' resolutions of a pass decided (nothing when none). */
static void
link_summary(const struct link_counts *l)
{
	if (l->queued + l->no_answer + l->disabled + l->expired == 0)
		return;
	fprintf(stderr, "%s : demandes de lien : %d lien(s) mis en file, %d sans réponse active, "
	    "%d pendant que les liens étaient désactivés, %d trop ancienne(s)\n", PROGRAM,
	    l->queued, l->no_answer, l->disabled, l->expired);
}

/* Resolves the pending link requests (their links join the queue), then delivers in batches
 * until nothing is due (bounded); returns the exit status. quiet: say nothing when there was
 * nothing to do (the service's passes). *more (may be NULL): the pass reached its bound
 * while messages are still due. */
static int
deliver_all(struct db *db, const struct config *cfg, bool quiet, bool *more)
{
	struct outbox_counts c = { 0, 0, 0 };
	struct link_counts l = { 0, 0, 0, 0 };
	int i, before, left, links;
	bool full = false;

	if (more != NULL)
		*more = false;
	if (!mail_configured(cfg)) {
		if ((left = outbox_due_count(db, COUNT_MAX)) < 0 ||
		    (links = link_requests_pending(db, COUNT_MAX)) < 0 ||
		    link_requests_resolve(db, cfg, 0, &l) < 0)	/* the purge only */
			goto fail;
		if (left == 0 && links == 0) {
			fprintf(stderr, "%s : courriel non configuré ; aucun message en attente\n",
			    PROGRAM);
			return 0;
		}
		fprintf(stderr, "%s : courriel non configuré (ni SMTP_URL ni FIABLE_MAIL_DIR) : "
		    "%d message(s) et %d demande(s) de lien en attente\n", PROGRAM, left, links);
		return 2;
	}
	if (link_requests_resolve(db, cfg, BATCH * MAX_BATCHES, &l) < 0)
		goto fail;
	for (i = 0; i < MAX_BATCHES && !stopping; i++) {
		before = c.sent + c.retried + c.failed;
		if (outbox_deliver_counted(db, cfg, 0, BATCH, &c) < 0)
			goto fail;
		if (c.sent + c.retried + c.failed - before < BATCH)
			break;
		full = i + 1 == MAX_BATCHES;
	}
	if ((left = outbox_due_count(db, COUNT_MAX)) < 0)
		goto fail;
	if (more != NULL)
		*more = full && left > 0;
	link_summary(&l);
	if (!quiet || c.sent + c.retried + c.failed > 0)
		fprintf(stderr, "%s : %d envoyé(s), %d à réessayer plus tard, %d abandonné(s), "
		    "%d encore dû(s)\n", PROGRAM, c.sent, c.retried, c.failed, left);
	return c.sent == 0 && c.retried > 0 ? 3 : 0;
fail:
	link_summary(&l);
	fprintf(stderr, "%s : erreur de base de données (%s) ; %d envoyé(s) avant l'erreur\n",
	    PROGRAM, db_lost(db) ? "connexion perdue" : "requête refusée", c.sent);
	return 1;
}

/* The service: a pass at start, then one per notification or period, until SIGTERM. */
static int
watch(struct db *db, const struct config *cfg, int period_s)
{
	struct sigaction sa;
	sigset_t blocked;
	unsigned long listening = 0;	/* connection number the LISTEN was said on */
	bool more;
	int woke;

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
	log_info("à l'écoute des courriels mis en file");
	while (!stopping) {
		/* LISTEN first, then the pass: nothing queued in between is missed. */
		if (listening != db_connections(db) || listening == 0) {
			if (!db_listen(db, OUTBOX_CHANNEL)) {
				sleep(WATCH_RETRY_S);
				continue;
			}
			listening = db_connections(db);
		}
		if (deliver_all(db, cfg, true, &more) == 1) {
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
		/* A backlog larger than a pass: the next pass at once, while messages are due. */
		if (more)
			continue;
		woke = db_wait_notify(db, period_s * 1000);
		if (woke < 0)
			listening = 0;
	}
	log_info("arrêt");
	return 0;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct db *db;
	const char *arg;
	bool service = false, period_set = false;
	long long period = WATCH_PERIOD_S;
	int opt, rc;

	log_init(PROGRAM);
	while ((opt = cli_next(&cli, argc, argv, &arg)) != CLI_DONE) {
		switch (opt) {
		case OPT_WATCH:
			service = true;
			break;
		case OPT_PERIOD:
			if (!num_parse(arg, 1, WATCH_PERIOD_MAX_S, &period))
				return cli_usage_error(&cli, "--period : un nombre de secondes de 1 à %d",
				    WATCH_PERIOD_MAX_S);
			period_set = true;
			break;
		default:	/* CLI_EXIT: --help, --version or a usage error */
			return cli.status;
		}
	}
	if (period_set && !service)
		return cli_usage_error(&cli, "--period ne va qu'avec --watch");
	if (!cli_config_load(&cli, &cfg))
		return 1;
	if ((db = db_open(cfg.database_url)) == NULL) {
		fprintf(stderr, "%s : mémoire insuffisante\n", PROGRAM);
		return 1;
	}
	if (service) {
		rc = watch(db, &cfg, (int)period);
	} else if (db_ensure(db)) {
		rc = deliver_all(db, &cfg, false, NULL);
	} else {
		fprintf(stderr, "%s : base de données injoignable (FIABLE_DATABASE_URL)\n",
		    PROGRAM);
		rc = 1;
	}
	db_close(db);
	return rc;
}
