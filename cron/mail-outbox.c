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
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "link_request.h"
#include "mail.h"
#include "outbox.h"
#include "watch.h"

#define PROGRAM "fiable-mail-outbox"
/* At most BATCH * MAX_BATCHES messages a run: the next run carries on. */
#define BATCH 50
#define MAX_BATCHES 20
/* Bound of the count of messages still due, shown in the summary. */
#define COUNT_MAX 100000
/* --watch: longest sleep between two passes (by default; --period). */
#define WATCH_PERIOD_S 30
#define WATCH_PERIOD_MAX_S 3600

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
	report_info("%s : demandes de lien : %d lien(s) mis en file, %d sans réponse active, "
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
			report_info("%s : courriel non configuré ; aucun message en attente\n",
			    PROGRAM);
			return 0;
		}
		report_warn("%s : courriel non configuré (ni SMTP_URL ni FIABLE_MAIL_DIR) : "
		    "%d message(s) et %d demande(s) de lien en attente\n", PROGRAM, left, links);
		return 2;
	}
	if (link_requests_resolve(db, cfg, BATCH * MAX_BATCHES, &l) < 0)
		goto fail;
	for (i = 0; i < MAX_BATCHES && !watch_stopping(); i++) {
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
		report_info("%s : %d envoyé(s), %d à réessayer plus tard, %d abandonné(s), "
		    "%d encore dû(s)\n", PROGRAM, c.sent, c.retried, c.failed, left);
	return c.sent == 0 && c.retried > 0 ? 3 : 0;
fail:
	link_summary(&l);
	report_error("%s : erreur de base de données (%s) ; %d envoyé(s) avant l'erreur\n",
	    PROGRAM, db_lost(db) ? "connexion perdue" : "requête refusée", c.sent);
	return 1;
}

/* A pass of the service (watch.h): quiet when there was nothing to do; -1 on a database
 * failure. */
static int
watch_pass(struct db *db, void *ctx, bool *more)
{
	return deliver_all(db, ctx, true, more) == 1 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct db *db;
	bool service = false;
	long long period = WATCH_PERIOD_S;
	int rc;

	log_init(PROGRAM);
	if ((rc = watch_options(&cli, argc, argv, OPT_WATCH, OPT_PERIOD, 1, WATCH_PERIOD_MAX_S,
	    "secondes", &service, &period)) != WATCH_PROCEED)
		return rc;
	if (!cli_config_load(&cli, &cfg))
		return 1;
	if ((db = db_open(cfg.database_url)) == NULL) {
		report_error("%s : mémoire insuffisante\n", PROGRAM);
		return 1;
	}
	if (service) {
		rc = watch_run(db, OUTBOX_CHANNEL, (int)period * 1000, "courriels mis en file",
		    watch_pass, &cfg);
	} else if (db_ensure(db)) {
		rc = deliver_all(db, &cfg, false, NULL);
	} else {
		report_error("%s : base de données injoignable (FIABLE_DATABASE_URL)\n",
		    PROGRAM);
		rc = 1;
	}
	db_close(db);
	return rc;
}
