/* fiable-audit-sealer — seals the audit log (sql/0026): takes the committed rows waiting in
 * audit_pending and appends their links to the chain (audit_chain), BATCH rows a transaction,
 * through audit_seal(), the only caller of the chain's lock. The chain's order is the seal
 * order; two sealers at once (two application nodes) pass one after the other and never fork
 * the chain.
 *
 * As a service, `fiable-audit-sealer --watch` listens for the notification each audit row
 * sends when its transaction commits and seals it at once; it also wakes every second
 * (--period-ms) as a fallback, and after a database restart LISTENs again on the new
 * connection before passing; it logs a summary line at most once a minute. From cron, one
 * pass that catches up:
 *
 *     * * * * *  fiable-audit-sealer 2>>/var/log/fiable/audit-sealer.log
 *
 * Exit status: 0 done; 1 configuration or database error; 64 bad usage. */
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "watch.h"

#define PROGRAM "fiable-audit-sealer"
/* Rows a transaction (audit_seal's bound is 10000), and transactions a pass. */
#define BATCH 1000
#define MAX_BATCHES 100
/* --watch: longest sleep between two passes (by default; --period-ms). */
#define WATCH_PERIOD_MS 1000
#define WATCH_PERIOD_MIN_MS 10
#define WATCH_PERIOD_MAX_MS 60000
/* --watch: longest silence of the log while rows are sealed. */
#define SUMMARY_EVERY_S 60

enum opt { OPT_WATCH, OPT_PERIOD_MS, OPT__MAX };

static const struct cli_option options[OPT__MAX + 1] = {
	[OPT_WATCH] = { "watch", NULL, "en service : scelle chaque ligne d'audit dès sa validation, "
	    "jusqu'à SIGTERM" },
	[OPT_PERIOD_MS] = { "period-ms", "MILLISECONDES", "avec --watch : passe de rattrapage au "
	    "plus tard toutes les\nMILLISECONDES (" CLI_TEXT(WATCH_PERIOD_MIN_MS) " à "
	    CLI_TEXT(WATCH_PERIOD_MAX_MS) ", défaut : " CLI_TEXT(WATCH_PERIOD_MS) ")" },
};

static struct cli cli = {
	.program = PROGRAM,
	.summary = "scelle les lignes du journal d'audit dans la chaîne d'empreintes\n"
	    "(table audit_chain), dans l'ordre où il les prend",
	.synopsis = "[--watch [--period-ms MILLISECONDES]]",
	.options = options,
	.notes = "En service : " PROGRAM " --watch (scelle chaque ligne dès sa validation).\n"
	    "Par cron, une passe de rattrapage, par exemple chaque minute :\n"
	    "  * * * * *  " PROGRAM "\n\n"
	    "Écrit un résumé d'une ligne sur la sortie d'erreur (en service : au plus une par\n"
	    "minute, quand il a scellé). Code de sortie : 0 terminé, 1 erreur de configuration ou\n"
	    "de base de données, 64 usage incorrect.",
};

/* Seals in batches until the queue is empty (bounded); the rows taken, or -1 on a database
 * error. *more: the pass reached its bound while rows are left. */
static long long
seal_all(struct db *db, bool *more)
{
	char batch[16];
	const char *params[1] = { batch };
	long long total = 0, n;
	PGresult *res;
	int i;

	snprintf(batch, sizeof(batch), "%d", BATCH);
	*more = false;
	for (i = 0; i < MAX_BATCHES && !watch_stopping(); i++) {
		/* One statement, its own transaction: the batch is sealed whole or not at all. */
		res = db_exec(db, STMT_AUDIT_SEAL, params);
		if (!db_ok(res) || !db_int(res, 0, "n", 0, BATCH, &n)) {
			report_error("%s : scellement impossible (%s) : %s ; %lld ligne(s) "
			    "scellée(s) avant l'erreur\n", PROGRAM, db_lost(db) ? "connexion perdue" :
			    "requête refusée", db_error(db), total);
			PQclear(res);
			return -1;
		}
		PQclear(res);
		total += n;
		if (n < BATCH)
			return total;
	}
	*more = !watch_stopping();
	return total;
}

/* What the service sealed since its last summary line. */
struct summary {
	long long rows;
	time_t since;
};

/* A pass of the service (watch.h): a summary line at most every SUMMARY_EVERY_S seconds,
 * and only when rows were sealed (a pass per commit would write one line per commit). */
static int
watch_pass(struct db *db, void *ctx, bool *more)
{
	struct summary *s = ctx;
	long long n = seal_all(db, more);
	time_t now = time(NULL);

	if (n > 0)
		s->rows += n;
	if (s->rows > 0 && now - s->since >= SUMMARY_EVERY_S) {
		report_info("%s : %lld ligne(s) scellée(s) en %lld s\n", PROGRAM, s->rows,
		    (long long)(now - s->since));
		s->rows = 0;
		s->since = now;
	}
	return n < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct db *db;
	bool service = false, more;
	long long period = WATCH_PERIOD_MS, n;
	int rc;

	log_init(PROGRAM);
	if ((rc = watch_options(&cli, argc, argv, OPT_WATCH, OPT_PERIOD_MS, WATCH_PERIOD_MIN_MS,
	    WATCH_PERIOD_MAX_MS, "millisecondes", &service, &period)) != WATCH_PROCEED)
		return rc;
	rc = 1;
	if (!cli_config_load(&cli, &cfg))
		return 1;
	if ((db = db_open(cfg.database_url)) == NULL) {
		report_error("%s : mémoire insuffisante\n", PROGRAM);
		return 1;
	}
	if (service) {
		struct summary s = { 0, time(NULL) };

		rc = watch_run(db, AUDIT_CHANNEL, (int)period, "lignes d'audit à sceller",
		    watch_pass, &s);
	} else if (!db_ensure(db)) {
		report_error("%s : base de données injoignable (FIABLE_DATABASE_URL)\n",
		    PROGRAM);
	} else if ((n = seal_all(db, &more)) >= 0) {
		report_info("%s : %lld ligne(s) scellée(s)%s\n", PROGRAM, n,
		    more ? " ; il en reste : la passe suivante continue" : "");
		rc = 0;
	}
	db_close(db);
	return rc;
}
