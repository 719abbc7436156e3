/* fiable-cleanup-old-backups — the weekly cleanup; from cron (cron/crontab.example):
 *
 *     0 3 * * 0  fiable-cleanup-old-backups
 *
 * Among the successful backups of BACKUP_DESTINATION, keeps (lib/backup_retention.c, UTC):
 *   - every backup of the last BACKUP_RETENTION_DAILY days (7);
 *   - the newest of each of the last BACKUP_RETENTION_WEEKLY ISO weeks (5);
 *   - the newest of each of the last BACKUP_RETENTION_MONTHLY calendar months (12);
 *   - the BACKUP_RETENTION_MIN newest (3), whatever their age: the newest is never deleted.
 * Deletes the others' objects (payload and manifest; one already gone is not an error), then
 * marks each in backup_metadata (deleted_at) and the audit log. A second run deletes nothing.
 * It refuses to run while the newest finished backup failed (or failed its verification),
 * and waits for nothing: a backup in progress (the shared advisory lock) makes it stop.
 * --dry-run lists what would be deleted and kept, and changes nothing.
 *
 * Exit status: 0 done (or nothing to do), 1 failure, 2 refused (newest backup failed),
 * 64 bad usage. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "backup.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "storage.h"

#define PROGRAM "fiable-cleanup-old-backups"

struct backup_row {
	char id[24];
	char key[256];
	char manifest_key[256];
	char started[24];
	long long size;
};

enum opt { OPT_DRY_RUN, OPT__MAX };

static const struct cli_option options[OPT__MAX + 1] = {
	[OPT_DRY_RUN] = { "dry-run", NULL, "affiche ce qui serait supprimé et gardé, et pourquoi, "
	    "sans rien toucher" },
};

static struct cli cli = {
	.program = PROGRAM,
	.summary = "supprime les sauvegardes que la politique de rétention ne garde pas.",
	.synopsis = "[--dry-run]",
	.options = options,
	.notes = "Gardées (dates en UTC) : toutes celles des BACKUP_RETENTION_DAILY derniers jours, la\n"
	    "plus récente de chacune des BACKUP_RETENTION_WEEKLY dernières semaines (lundi à\n"
	    "dimanche) et de chacun des BACKUP_RETENTION_MONTHLY derniers mois, et toujours les\n"
	    "BACKUP_RETENTION_MIN plus récentes. Refuse de travailler tant que la dernière\n"
	    "sauvegarde a échoué.\n\n"
	    "Code de sortie : 0 fait, 1 échec, 2 refus (dernière sauvegarde échouée), 64 usage.",
};

static const char *
reasons_text(unsigned reasons, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s",
	    reasons & RETAIN_DAILY ? " récente" : "",
	    reasons & RETAIN_WEEKLY ? " hebdomadaire" : "",
	    reasons & RETAIN_MONTHLY ? " mensuelle" : "",
	    reasons & RETAIN_MIN ? " minimum" : "");
	return buf[0] == ' ' ? buf + 1 : buf;
}

/* 0 when the newest finished backup succeeded (or there is none: *none), 2 when it failed,
 * 1 on a database error. */
static int
check_newest(struct db *db, const char *destination, bool *none)
{
	const char *params[1] = { destination }, *status, *verification;
	PGresult *res = db_exec(db, STMT_BACKUP_NEWEST, params);
	bool succeeded;
	int rc = 1;

	*none = false;
	if (!db_ok(res)) {
		report_error("%s : lecture de backup_metadata impossible\n", PROGRAM);
		goto fail;
	}
	if (PQntuples(res) == 0) {
		*none = true;
		rc = 0;
		goto fail;
	}
	status = db_text(res, 0, "status");
	verification = db_text(res, 0, "verification");
	succeeded = status != NULL && strcmp(status, "success") == 0;
	if (!succeeded || verification == NULL || strcmp(verification, "failed") == 0) {
		report_warn("%s : nettoyage refusé : la dernière sauvegarde (%s, du %s UTC) %s "
		    "(%s) ; rien n'est supprimé tant qu'une sauvegarde plus récente n'a pas réussi\n",
		    PROGRAM, db_text_or(res, 0, "id", "?"), db_text_or(res, 0, "started", "?"),
		    !succeeded ? "a échoué" : "n'a pas passé sa vérification",
		    db_text_or(res, 0, "error", "?"));
		rc = 2;
		goto fail;
	}
	rc = 0;
fail:
	PQclear(res);
	return rc;
}

/* Deletes one backup's objects, then records it; -1 with a message on failure. */
static int
delete_backup(struct db *db, struct storage *st, const struct backup_row *b, char *err,
    size_t errlen)
{
	const char *params[1] = { b->id };
	struct audit_entry entry;
	cJSON *details = NULL;
	PGresult *res = NULL;
	int ret = -1;

	if ((b->key[0] != '\0' &&
	    storage_delete(st, b->key, err, errlen) != STORAGE_OK) ||
	    (b->manifest_key[0] != '\0' &&
	    storage_delete(st, b->manifest_key, err, errlen) != STORAGE_OK))
		return -1;
	if ((details = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(details, "destination", storage_name(st)) == NULL ||
	    cJSON_AddStringToObject(details, "object_key", b->key) == NULL ||
	    cJSON_AddStringToObject(details, "started_at", b->started) == NULL ||
	    cJSON_AddNumberToObject(details, "size_bytes", (double)b->size) == NULL ||
	    cJSON_AddStringToObject(details, "reason", "retention") == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	entry.action = "backup.delete";
	entry.entity = "backup_metadata";
	entry.entity_id = b->id;
	entry.actor = PROGRAM;
	entry.details = details;
	if (!db_begin(db))
		goto db_fail;
	res = db_exec(db, STMT_BACKUP_MARK_DELETED, params);
	if (!db_ok(res))
		goto db_fail;
	/* Marked by someone else meanwhile: nothing more to record. */
	if (PQntuples(res) == 1 && !audit_append(db, NULL, &entry))
		goto db_fail;
	if (!db_commit(db))
		goto db_fail;
	ret = 0;
	goto fail;
db_fail:
	db_rollback(db);
	snprintf(err, errlen, "objets supprimés mais inscription dans backup_metadata impossible "
	    "(%s)", db_lost(db) ? "connexion perdue" : "refusée");
fail:
	PQclear(res);
	cJSON_Delete(details);
	return ret;
}

static int
cleanup(const struct config *cfg, struct db *db, struct storage *st, bool dry_run)
{
	const struct retention_policy policy = { cfg->backup_retention_daily,
	    cfg->backup_retention_weekly, cfg->backup_retention_monthly,
	    cfg->backup_retention_min };
	const char *params[1] = { storage_name(st) };
	struct retention_item *items = NULL;
	struct backup_row *rows = NULL;
	PGresult *res = NULL;
	char err[768], why[64];
	long long freed = 0;
	int i, n, deleted = 0, kept = 0, failed = 0, rc = 1;
	bool none;

	if ((rc = check_newest(db, storage_name(st), &none)) != 0)
		return rc;
	rc = 1;
	if (none) {
		report_info("%s : aucune sauvegarde terminée pour %s : rien à nettoyer\n",
		    PROGRAM, storage_name(st));
		return 0;
	}
	res = db_exec(db, STMT_BACKUP_RETAINED, params);
	if (!db_ok(res)) {
		report_error("%s : lecture de backup_metadata impossible\n", PROGRAM);
		goto fail;
	}
	n = PQntuples(res);
	if ((items = calloc((size_t)n + 1, sizeof(*items))) == NULL ||
	    (rows = calloc((size_t)n + 1, sizeof(*rows))) == NULL) {
		report_error("%s : mémoire insuffisante\n", PROGRAM);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (!db_int(res, i, "id", 1, LLONG_MAX, &items[i].id) ||
		    !db_int(res, i, "started_epoch", LLONG_MIN, LLONG_MAX, &items[i].time) ||
		    !db_int(res, i, "size_bytes", 0, LLONG_MAX, &rows[i].size) ||
		    db_is_null(res, i, "object_key") || db_is_null(res, i, "manifest_key") ||
		    db_is_null(res, i, "started")) {
			report_error("%s : valeur illisible dans backup_metadata\n", PROGRAM);
			goto fail;
		}
		snprintf(rows[i].id, sizeof(rows[i].id), "%lld", items[i].id);
		snprintf(rows[i].key, sizeof(rows[i].key), "%s", db_text(res, i, "object_key"));
		snprintf(rows[i].manifest_key, sizeof(rows[i].manifest_key), "%s",
		    db_text(res, i, "manifest_key"));
		snprintf(rows[i].started, sizeof(rows[i].started), "%s", db_text(res, i, "started"));
	}
	backup_retention(&policy, (long long)time(NULL), items, (size_t)n);
	for (i = 0; i < n; i++) {
		if (items[i].reasons != 0) {
			kept++;
			if (dry_run)
				printf("garderait    %-6s %s UTC  %s\n", rows[i].id, rows[i].started,
				    reasons_text(items[i].reasons, why, sizeof(why)));
			continue;
		}
		if (dry_run) {
			printf("supprimerait %-6s %s UTC  %s\n", rows[i].id, rows[i].started,
			    rows[i].key);
			deleted++;
			freed += rows[i].size;
			continue;
		}
		if (delete_backup(db, st, &rows[i], err, sizeof(err)) != 0) {
			report_error("%s : sauvegarde %s non supprimée : %s\n", PROGRAM, rows[i].id,
			    err);
			failed++;
			continue;
		}
		log_info("sauvegarde %s du %s UTC supprimée (%s)", rows[i].id, rows[i].started,
		    rows[i].key);
		deleted++;
		freed += rows[i].size;
	}
	if (dry_run)
		report_info("%s : simulation (rien n'est supprimé) : %d sauvegarde(s) à "
		    "supprimer (%lld octets), %d à garder, dans %s\n", PROGRAM, deleted, freed,
		    kept, storage_name(st));
	else
		report_info("%s : %d sauvegarde(s) supprimée(s) (%lld octets libérés), %d "
		    "gardée(s), %d échec(s), dans %s\n", PROGRAM, deleted, freed, kept, failed,
		    storage_name(st));
	rc = failed > 0 ? 1 : 0;
fail:
	PQclear(res);
	free(items);
	free(rows);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *key[1] = { BACKUP_LOCK_KEY };
	struct config cfg;
	struct storage *st = NULL;
	struct db *db = NULL;
	PGresult *res = NULL;
	const char *arg;
	char err[512];
	bool dry_run = false;
	int opt, rc = 1;

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
	if ((st = storage_open(&cfg, cfg.backup_destination, err, sizeof(err))) == NULL) {
		report_error("%s : %s\n", PROGRAM, err);
		return 1;
	}
	if ((db = db_open(cfg.backup_database_url)) == NULL || !db_ensure(db)) {
		report_error("%s : base de données injoignable (BACKUP_DATABASE_URL ou "
		    "FIABLE_DATABASE_URL)\n", PROGRAM);
		goto done;
	}
	/* The lock of the backups: never delete while a backup runs, nor twice at once. */
	res = db_exec(db, STMT_BACKUP_LOCK, key);
	if (!db_ok(res) || PQntuples(res) != 1) {
		report_error("%s : la base a refusé le verrou des sauvegardes\n", PROGRAM);
		goto done;
	}
	if (!db_bool(res, 0, "locked")) {
		report_info("%s : une sauvegarde ou un autre nettoyage est en cours : rien à "
		    "faire maintenant\n", PROGRAM);
		rc = 0;
		goto done;
	}
	rc = cleanup(&cfg, db, st, dry_run);
done:
	PQclear(res);
	db_close(db);
	storage_close(st);
	return rc;
}
