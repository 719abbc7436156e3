/* fiable-mail-outbox — sends the messages waiting in mail_outbox; run it from cron:
 *
 *     * * * * *  fiable-mail-outbox 2>>/var/log/fiable/mail-outbox.log
 *
 * A message is normally sent by the program that queued it, right after its answer; this
 * one catches up after failures (SMTP server down, worker stopped), with the backoff of
 * lib/outbox.c. It prints one summary line on stderr.
 *
 * Exit status: 0 done (messages put off until later included); 1 configuration or database
 * error; 2 mail is not configured while messages wait; 3 messages were due and none could
 * be sent (the server was unreachable or answered "try later"). */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "mail.h"
#include "outbox.h"

#define PROGRAM "fiable-mail-outbox"
/* At most BATCH * MAX_BATCHES messages a run: the next run carries on. */
#define BATCH 50
#define MAX_BATCHES 20
/* Bound of the count of messages still due, shown in the summary. */
#define COUNT_MAX 100000

static void
usage(FILE *out)
{
	fprintf(out, "%s — envoie les courriels en attente (table mail_outbox)\n\n"
	    "À lancer par cron, par exemple chaque minute :\n"
	    "  * * * * *  %s\n\n"
	    "Écrit un résumé d'une ligne sur la sortie d'erreur. Code de sortie : 0 terminé,\n"
	    "1 erreur de configuration ou de base de données, 2 courriel non configuré alors que\n"
	    "des messages attendent, 3 aucun message dû n'a pu être envoyé (serveur injoignable).\n\n",
	    PROGRAM, PROGRAM);
	config_usage(out);
}

/* Delivers in batches until nothing is due (bounded); returns the exit status. */
static int
deliver_all(struct db *db, const struct config *cfg)
{
	struct outbox_counts c = { 0, 0, 0 };
	int i, before, left;

	if (!mail_configured(cfg)) {
		if ((left = outbox_due_count(db, COUNT_MAX)) < 0)
			goto fail;
		if (left == 0) {
			fprintf(stderr, "%s : courriel non configuré ; aucun message en attente\n",
			    PROGRAM);
			return 0;
		}
		fprintf(stderr, "%s : courriel non configuré (ni SMTP_URL ni FIABLE_MAIL_DIR) : "
		    "%d message(s) en attente\n", PROGRAM, left);
		return 2;
	}
	for (i = 0; i < MAX_BATCHES; i++) {
		before = c.sent + c.retried + c.failed;
		if (outbox_deliver_counted(db, cfg, 0, BATCH, &c) < 0)
			goto fail;
		if (c.sent + c.retried + c.failed - before < BATCH)
			break;
	}
	if ((left = outbox_due_count(db, COUNT_MAX)) < 0)
		goto fail;
	fprintf(stderr, "%s : %d envoyé(s), %d à réessayer plus tard, %d abandonné(s), "
	    "%d encore dû(s)\n", PROGRAM, c.sent, c.retried, c.failed, left);
	return c.sent == 0 && c.retried > 0 ? 3 : 0;
fail:
	fprintf(stderr, "%s : erreur de base de données (%s) ; %d envoyé(s) avant l'erreur\n",
	    PROGRAM, db_lost(db) ? "connexion perdue" : "requête refusée", c.sent);
	return 1;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct db *db;
	char err[256];
	int rc;

	log_init(PROGRAM);
	if (argc > 1) {
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "%s : argument inconnu : %s\n\n", PROGRAM, argv[1]);
		usage(stderr);
		return 64;
	}
	if (config_load(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s : configuration : %s\n", PROGRAM, err);
		return 1;
	}
	if ((db = db_open(cfg.database_url)) == NULL) {
		fprintf(stderr, "%s : mémoire insuffisante\n", PROGRAM);
		return 1;
	}
	if (db_ensure(db)) {
		rc = deliver_all(db, &cfg);
	} else {
		fprintf(stderr, "%s : base de données injoignable (FIABLE_DATABASE_URL)\n",
		    PROGRAM);
		rc = 1;
	}
	db_close(db);
	return rc;
}
