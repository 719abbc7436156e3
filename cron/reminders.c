/* fiable-reminders — the automatic reminders of the open campaigns (sql/0022,
 * lib/reminders.h); from cron or its systemd timer, every 15 minutes:
 *
 *     *\/15 * * * *  fiable-reminders 2>>/var/log/fiable/reminders.log
 *
 * For each campaign taking answers whose closing is near, the nearest of its scheduled
 * times (campagnes.relances_heures, hours before the closing) that has passed: one reminder
 * to each participant invited who has not answered and has not unsubscribed, unless that
 * reminder was done. Each campaign in its own transaction, the campaign locked; a reminder
 * is recorded once (relances_automatique_uniq) and writes once to a person (the primary key
 * of relances_envois), so two runs at once, or one after the other, never send twice. The
 * mails go through mail_outbox (fiable-mail-outbox sends them).
 *
 * --dry-run lists the reminders due and changes nothing.
 * Exit status: 0 done; 1 configuration or database error; 64 bad usage. */
#include <limits.h>
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "reminders.h"

#define PROGRAM "fiable-reminders"

enum opt { OPT_DRY_RUN, OPT__MAX };

static const struct cli_option options[OPT__MAX + 1] = {
	[OPT_DRY_RUN] = { "dry-run", NULL, "affiche les relances dues, sans rien envoyer" },
};

static struct cli cli = {
	.program = PROGRAM,
	.summary = "envoie les relances automatiques des campagnes ouvertes",
	.synopsis = "[--dry-run]",
	.options = options,
	.notes = "À lancer par cron toutes les 15 minutes : */15 * * * *  " PROGRAM "\n"
	    "Une relance (tant d'heures avant la fermeture d'une campagne) n'est faite qu'une "
	    "fois :\nrelancer le programme n'envoie rien de plus.\n"
	    "Code de sortie : 0 terminé, 1 erreur (configuration, base), 64 usage incorrect.",
};

/* One campaign's due reminder, in its own transaction: 0 done (*sent set), -1 failure. */
static int
remind_campaign(struct db *db, const struct config *cfg, const char *id, int hours, int *sent)
{
	struct reminder r = { NULL, hours };

	if (!db_begin(db))
		return -1;
	switch (reminder_run(db, cfg, NULL, id, &r, sent)) {
	case REMINDER_SENT:
		return db_commit(db) ? 0 : -1;
	case REMINDER_NOT_OPEN:	/* closed since the list was read */
		db_rollback(db);
		*sent = 0;
		return 0;
	case REMINDER_FAILED:
		break;
	}
	db_rollback(db);
	return -1;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct db *db = NULL;
	PGresult *due = NULL;
	bool dry_run = false;
	const char *arg;
	int i, opt, rc = 1, campaigns = 0, mails = 0, failed = 0;

	log_init(PROGRAM);
	while ((opt = cli_next(&cli, argc, argv, &arg)) != CLI_DONE) {
		switch (opt) {
		case OPT_DRY_RUN:
			dry_run = true;
			break;
		default:	/* CLI_EXIT: --help, --version or a usage error */
			return cli.status;
		}
	}
	if (!cli_config_load(&cli, &cfg))
		return 1;
	if ((db = db_open(cfg.database_url)) == NULL || !db_ensure(db)) {
		report_error("%s : base de données injoignable (FIABLE_DATABASE_URL) : %s\n",
		    PROGRAM, db != NULL ? db_error(db) : "mémoire insuffisante");
		goto out;
	}
	due = db_query(db, STMT_REMINDERS_DUE, NULL);
	if (!db_ok(due)) {
		report_error("%s : lecture des relances dues impossible : %s\n", PROGRAM,
		    db_error(db));
		goto out;
	}
	for (i = 0; i < PQntuples(due); i++) {
		const char *id = db_text_or(due, i, "id", "");
		long long hours = 0;
		int sent = 0;

		if (!db_int(due, i, "heures_avant", 1, REMINDER_HOURS_MAX, &hours)) {
			failed++;
			continue;
		}
		if (dry_run) {
			printf("campagne %s : relance à %lld h de la fermeture\n", id, hours);
			continue;
		}
		if (remind_campaign(db, &cfg, id, (int)hours, &sent) != 0) {
			report_error("%s : campagne %s : relance non faite : %s\n", PROGRAM, id,
			    db_error(db));
			failed++;
			continue;
		}
		campaigns++;
		mails += sent;
	}
	rc = failed > 0 ? 1 : 0;
	report_info("%s : %s%d relance(s) due(s), %d faite(s), %d courriel(s) mis en file, "
	    "%d échec(s)\n", PROGRAM, dry_run ? "(essai) " : "", PQntuples(due), campaigns,
	    mails, failed);
out:
	PQclear(due);
	db_close(db);
	return rc;
}
