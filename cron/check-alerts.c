/* fiable-check-alerts — evaluates the alert rules and e-mails the administrator; from cron:
 *
 *     *\/5 * * * *  fiable-check-alerts 2>>/var/log/fiable/check-alerts.log
 *
 * Rules come from a JSON file (FIABLE_ALERT_RULES, or --rules FILE; cron/alert-rules.json
 * holds the three of docs/plan-de-deploiement.md, the backup one and the campaigns one). Each
 * rule reads one figure of the metrics summary over its window (or of the backups, or of each
 * open campaign closing soon: its response rate) and compares it to its threshold; a rule on
 * requests stays quiet under its minimum number of requests; the mail of a rule on campaigns
 * names the campaigns. A rule that starts firing sends
 * ONE e-mail to ALERT_EMAIL, then nothing while it keeps firing, then one "resolved" e-mail
 * when it clears. States and events are stored (alert_states, alert_events) and shown on
 * /admin/metrics; a mail that could not be sent is tried again on the next run.
 *
 * --dry-run prints what would be sent and changes nothing.
 * Exit status: 0 done; 1 configuration, rules or database error; 3 an alert mail could not
 * be sent (it will be retried); 64 bad usage. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admin_metrics.h"
#include "alert_rules.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "mail.h"
#include "metrics.h"
#include "replication.h"

#define PROGRAM "fiable-check-alerts"
/* A mail is tried on this many runs (5 minutes apart) before it is given up. */
#define MAIL_MAX_ATTEMPTS 12

enum opt { OPT_DRY_RUN, OPT_RULES, OPT__MAX };

static const struct cli_option options[OPT__MAX + 1] = {
	[OPT_DRY_RUN] = { "dry-run", NULL,
	    "affiche ce qui serait envoyé, sans rien enregistrer ni envoyer" },
	[OPT_RULES] = { "rules", "FICHIER", "règles d'alerte (défaut : FIABLE_ALERT_RULES)" },
};

static struct cli cli = {
	.program = PROGRAM,
	.summary = "vérifie les règles d'alerte et prévient l'administrateur par courriel",
	.synopsis = "[--dry-run] [--rules FICHIER]",
	.options = options,
	.notes = "À lancer par cron toutes les 5 minutes : */5 * * * *  " PROGRAM "\n"
	    "Code de sortie : 0 terminé, 1 erreur (configuration, règles, base), 3 un courriel\n"
	    "d'alerte n'a pas pu partir (nouvel essai au passage suivant), 64 usage incorrect.",
};

/* --- Evaluation -------------------------------------------------------------------------------- */

/* Reads the figures of every rule (alert_rule_evaluate fills value and firing): one summary
 * per window, the backups once. 0, or -1 on a database error. */
static int
evaluate(struct db *db, const struct config *cfg, struct alert_rule *rules, size_t n)
{
	cJSON *backups = NULL, *campaigns = NULL, *audit = NULL, *replication = NULL;
	cJSON *summaries[ALERT_RULES_MAX] = { NULL };
	size_t i, j;
	int rc = -1;

	for (i = 0; i < n; i++) {
		struct alert_rule *ru = &rules[i];

		if (ru->source == ALERT_SRC_BACKUPS) {
			if (backups == NULL && (backups = admin_query_json(db, STMT_METRICS_BACKUPS,
			    NULL, "sauvegardes")) == NULL)
				goto out;
			alert_rule_evaluate(ru, backups);
		} else if (ru->source == ALERT_SRC_AUDIT) {
			if (audit == NULL && (audit = admin_query_json(db, STMT_METRICS_AUDIT, NULL,
			    "audit")) == NULL)
				goto out;
			alert_rule_evaluate(ru, audit);
		} else if (ru->source == ALERT_SRC_REPLICATION) {
			if (replication == NULL &&
			    (replication = replication_json(db, cfg->sync_standbys)) == NULL)
				goto out;
			alert_rule_evaluate(ru, replication);
		} else if (ru->source == ALERT_SRC_CAMPAIGNS) {
			if (campaigns == NULL && (campaigns = admin_query_json(db,
			    STMT_METRICS_CAMPAIGN_RESPONSES, NULL, "campagnes")) == NULL)
				goto out;
			alert_rule_evaluate(ru, campaigns);
		} else {
			char window[32];
			/* Rules sharing a window share one summary. */
			for (j = 0; j < i; j++)
				if (summaries[j] != NULL && rules[j].window_minutes == ru->window_minutes)
					break;
			if (j < i) {
				summaries[i] = cJSON_Duplicate(summaries[j], 1);
			} else {
				snprintf(window, sizeof(window), "%ld minutes", ru->window_minutes);
				summaries[i] = metrics_summary(db, window, "1 hour", cfg->timezone);
			}
			if (summaries[i] == NULL)
				goto out;
			alert_rule_evaluate(ru, summaries[i]);
		}
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		cJSON_Delete(summaries[i]);
	cJSON_Delete(backups);
	cJSON_Delete(campaigns);
	cJSON_Delete(audit);
	cJSON_Delete(replication);
	return rc;
}

/* A number the French way: 12,5 (at most two decimals, no trailing zeros). */
static void
french_number(double v, char *out, size_t cap)
{
	char *p;
	size_t len;

	snprintf(out, cap, "%.2f", v);
	if ((p = strchr(out, '.')) != NULL) {
		len = strlen(out);
		while (len > 0 && out[len - 1] == '0')
			out[--len] = '\0';
		if (out[len - 1] == '.')
			out[--len] = '\0';
		else
			*p = ',';
	}
}

/* The text of the e-mail of a transition; malloc'd. */
static char *
event_message(const struct config *cfg, const struct alert_rule *ru)
{
	char value[48], threshold[48], measured[256], where[128], which[ALERT_DETAIL_MAX + 64];
	char *text;
	size_t cap = 4096;

	french_number(ru->value, value, sizeof(value));
	french_number(ru->threshold, threshold, sizeof(threshold));
	if (!ru->has_value)
		snprintf(measured, sizeof(measured), "aucune valeur (%s)",
		    ru->source == ALERT_SRC_BACKUPS ? "aucune sauvegarde réussie" :
		    ru->source == ALERT_SRC_CAMPAIGNS ? "aucune campagne ouverte ne ferme bientôt" :
		    ru->source == ALERT_SRC_AUDIT ? "journal d'audit illisible" :
		    "pas de requête");
	else
		snprintf(measured, sizeof(measured), "%s%s%s", value, ru->unit[0] ? " " : "", ru->unit);
	where[0] = which[0] = '\0';
	if (ru->source == ALERT_SRC_REQUESTS)
		snprintf(where, sizeof(where), " sur les %ld dernières minutes (%.0f requêtes)",
		    ru->window_minutes, ru->requests);
	if (ru->source == ALERT_SRC_CAMPAIGNS && ru->has_value)
		snprintf(where, sizeof(where), " (la plus basse des campagnes ouvertes qui ferment "
		    "dans moins de %ld heures)", ru->closing_hours);
	if (ru->source == ALERT_SRC_CAMPAIGNS && ru->detail_count > 0)
		snprintf(which, sizeof(which), "Campagne(s) concernée(s) (%d) : %s\n\n",
		    ru->detail_count, ru->detail);
	if ((text = malloc(cap)) == NULL)
		return NULL;
	if (ru->firing)
		snprintf(text, cap,
		    "Bonjour,\n\n"
		    "L'alerte « %s » vient de se déclencher.\n\n"
		    "Valeur mesurée : %s%s.\n"
		    "Seuil : %c %s%s%s.\n\n"
		    "%s"
		    "Tableau de bord : %s/admin/metrics\n\n"
		    "Vous ne recevrez pas d'autre message pour cette alerte tant qu'elle reste "
		    "déclenchée ; un message vous dira quand la situation sera revenue à la normale.\n",
		    ru->title, measured, where, ru->op, threshold, ru->unit[0] ? " " : "", ru->unit,
		    which, cfg->public_url);
	else
		snprintf(text, cap,
		    "Bonjour,\n\n"
		    "L'alerte « %s » est résolue : la situation est revenue à la normale.\n\n"
		    "Valeur mesurée : %s%s.\n"
		    "Seuil : %c %s%s%s.\n\n"
		    "Tableau de bord : %s/admin/metrics\n",
		    ru->title, measured, where, ru->op, threshold, ru->unit[0] ? " " : "", ru->unit,
		    cfg->public_url);
	return text;
}

static void
event_subject(const char *kind, const char *title, char *out, size_t cap)
{
	snprintf(out, cap, "[Fiable] %s : %s", strcmp(kind, "firing") == 0 ? "ALERTE" : "Résolu",
	    title);
}

/* Stores every rule's state and, for each transition, an event to mail. Returns the number
 * of transitions, or -1 on a database error (nothing stored). */
static int
record_states(struct db *db, const struct config *cfg, const struct alert_rule *rules, size_t n)
{
	char value[32], threshold[32];
	const char *params[7];
	size_t i;
	int changes = 0;

	if (!db_begin(db))
		return -1;
	for (i = 0; i < n; i++) {
		const struct alert_rule *ru = &rules[i];
		PGresult *res;
		enum alert_transition t;
		bool was_firing;
		char *message;

		params[0] = ru->name;
		res = db_exec(db, STMT_ALERT_STATE_GET, params);
		if (!db_ok(res)) {
			PQclear(res);
			goto fail;
		}
		was_firing = PQntuples(res) == 1 && db_bool(res, 0, "firing");
		PQclear(res);

		snprintf(value, sizeof(value), "%.17g", ru->value);
		snprintf(threshold, sizeof(threshold), "%.17g", ru->threshold);
		params[1] = ru->title;
		params[2] = ru->firing ? "true" : "false";
		params[3] = ru->has_value ? value : NULL;
		params[4] = threshold;
		res = db_exec(db, STMT_ALERT_STATE_PUT, params);
		if (!db_ok(res)) {
			PQclear(res);
			goto fail;
		}
		PQclear(res);
		if ((t = alert_transition(was_firing, ru->firing)) == ALERT_UNCHANGED)
			continue;
		if ((message = event_message(cfg, ru)) == NULL)
			goto fail;
		params[1] = alert_transition_kind(t);
		params[2] = ru->title;
		params[3] = ru->has_value ? value : NULL;
		params[4] = threshold;
		params[5] = message;
		params[6] = cfg->alert_email[0] != '\0' ? "pending" : "none";
		res = db_exec(db, STMT_ALERT_EVENT_ADD, params);
		free(message);
		if (!db_ok(res)) {
			PQclear(res);
			goto fail;
		}
		PQclear(res);
		log_info("%s : alerte « %s » %s", PROGRAM, ru->name,
		    t == ALERT_FIRED ? "déclenchée" : "résolue");
		changes++;
	}
	if (!db_commit(db))
		goto fail;
	return changes;
fail:
	db_rollback(db);
	return -1;
}

/* Sends the events whose mail is pending. Returns how many could not be sent, or -1. */
static int
send_pending(struct db *db, const struct config *cfg, int *sent)
{
	PGresult *res = db_query(db, STMT_ALERT_EVENTS_PENDING, NULL);
	int i, failed = 0;

	*sent = 0;
	if (!db_ok(res)) {
		PQclear(res);
		return -1;
	}
	for (i = 0; i < PQntuples(res); i++) {
		const char *params[3], *kind, *title, *message;
		char subject[256], err[256];
		bool transient = false;
		long long attempts;
		PGresult *up;

		params[0] = db_text(res, i, "id");
		kind = db_text(res, i, "kind");
		title = db_text(res, i, "title");
		message = db_text(res, i, "message");
		if (params[0] == NULL || kind == NULL || title == NULL || message == NULL ||
		    !db_int(res, i, "mail_attempts", 0, INT_MAX, &attempts)) {
			PQclear(res);
			return -1;
		}
		event_subject(kind, title, subject, sizeof(subject));
		if (mail_send(cfg, cfg->alert_email, subject, message, &transient, err,
		    sizeof(err)) == 0) {
			params[1] = "sent";
			params[2] = NULL;
			(*sent)++;
		} else {
			params[1] = transient && attempts + 1 < MAIL_MAX_ATTEMPTS ? "pending" : "failed";
			params[2] = err;
			failed++;
			log_warn("%s : courriel d'alerte non envoyé (%s) : %s", PROGRAM,
			    params[1], err);
		}
		up = db_query(db, STMT_ALERT_EVENT_MAILED, params);
		if (!db_ok(up)) {
			PQclear(up);
			PQclear(res);
			return -1;
		}
		PQclear(up);
	}
	PQclear(res);
	return failed;
}

static void
print_dry_run(const struct config *cfg, const struct alert_rule *rules, size_t n, struct db *db)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct alert_rule *ru = &rules[i];
		const char *params[1] = { ru->name };
		PGresult *res = db_query(db, STMT_ALERT_STATE_GET, params);
		bool was = db_ok(res) && PQntuples(res) == 1 && db_bool(res, 0, "firing");
		enum alert_transition t = alert_transition(was, ru->firing);
		char subject[256], *message;

		PQclear(res);
		if (ru->has_value)
			printf("%-22s %s (valeur : %.6g, seuil : %c %.6g)\n", ru->name,
			    ru->firing ? "DÉCLENCHÉE" : "normale", ru->value, ru->op, ru->threshold);
		else
			printf("%-22s %s (valeur absente, seuil : %c %.6g)\n", ru->name,
			    ru->firing ? "DÉCLENCHÉE" : "normale", ru->op, ru->threshold);
		if (ru->detail_count > 0)
			printf("  campagne(s) : %s\n", ru->detail);
		if (t == ALERT_UNCHANGED)
			continue;
		event_subject(alert_transition_kind(t), ru->title, subject, sizeof(subject));
		printf("  enverrait à %s : %s\n", cfg->alert_email[0] ? cfg->alert_email :
		    "(ALERT_EMAIL vide : aucun courriel)", subject);
		if ((message = event_message(cfg, ru)) != NULL) {
			char *line, *save = NULL;
			for (line = strtok_r(message, "\n", &save); line != NULL;
			    line = strtok_r(NULL, "\n", &save))
				printf("    | %s\n", line);
			free(message);
		}
	}
}

int
main(int argc, char **argv)
{
	static struct alert_rule rules[ALERT_RULES_MAX];
	struct config cfg;
	struct db *db = NULL;
	const char *rules_path = NULL, *arg;
	char err[512];
	size_t nrules;
	bool dry_run = false, locked = false;
	int opt, rc = 1, changes = 0, sent = 0, failed = 0;
	PGresult *res;

	log_init(PROGRAM);
	while ((opt = cli_next(&cli, argc, argv, &arg)) != CLI_DONE) {
		switch (opt) {
		case OPT_DRY_RUN:
			dry_run = true;
			break;
		case OPT_RULES:
			rules_path = arg;
			break;
		default:	/* CLI_EXIT: --help, --version or a usage error */
			return cli.status;
		}
	}
	if (!cli_config_load(&cli, &cfg))
		return 1;
	metrics_configure(cfg.spool_dir);
	if (alert_rules_load(rules_path ? rules_path : cfg.alert_rules, rules, &nrules, err,
	    sizeof(err)) != 0) {
		report_error("%s : %s\n", PROGRAM, err);
		return 1;
	}
	if ((db = db_open(cfg.database_url)) == NULL || !db_ensure(db)) {
		report_error("%s : base de données injoignable (FIABLE_DATABASE_URL)\n", PROGRAM);
		goto out;
	}
	/* One run at a time: a second one finding the lock taken has nothing to add. */
	res = db_query(db, STMT_ALERT_RUN_LOCK, NULL);
	locked = db_ok(res) && PQntuples(res) == 1 && db_bool(res, 0, "locked");
	PQclear(res);
	if (!locked) {
		report_info("%s : une autre vérification est en cours ; rien à faire\n", PROGRAM);
		rc = db_lost(db) ? 1 : 0;
		goto out;
	}
	if (!dry_run)
		(void)metrics_spool_ingest(db);
	if (evaluate(db, &cfg, rules, nrules) != 0) {
		report_error("%s : lecture des métriques impossible\n", PROGRAM);
		goto out;
	}
	if (dry_run) {
		print_dry_run(&cfg, rules, nrules, db);
		rc = 0;
		goto out;
	}
	if ((changes = record_states(db, &cfg, rules, nrules)) < 0) {
		report_error("%s : enregistrement des états impossible\n", PROGRAM);
		goto out;
	}
	if (cfg.alert_email[0] != '\0' && mail_configured(&cfg)) {
		if ((failed = send_pending(db, &cfg, &sent)) < 0) {
			report_error("%s : erreur de base de données pendant les envois\n", PROGRAM);
			goto out;
		}
	} else if (changes > 0) {
		report_warn("%s : ALERT_EMAIL ou l'envoi de courriel n'est pas configuré : "
		    "%d changement(s) d'état sans courriel\n", PROGRAM, changes);
	}
	report_info("%s : %zu règle(s), %d changement(s) d'état, %d courriel(s) envoyé(s)%s\n",
	    PROGRAM, nrules, changes, sent, failed > 0 ? ", des envois ont échoué" : "");
	rc = failed > 0 ? 3 : 0;
out:
	if (locked)
		PQclear(db_query(db, STMT_ALERT_RUN_UNLOCK, NULL));
	db_close(db);
	return rc;
}
