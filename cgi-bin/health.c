/* fiable-health — GET /api/health, for load balancers and monitoring.
 *
 * 503 with the reasons when the service cannot work: the database does not answer, or a
 * migration of this code is not applied. 200 otherwise ("status": "ok"), with warnings:
 * the last successful backup is older than 26 hours (or there is none), metrics wait in the
 * spool, the database holds migrations this code does not know. With ?strict=1 a warning
 * also gives 503, for a monitor that only looks at the status code.
 *
 * It ingests the spool when the database is back, and does not count in the request
 * metrics (polled every few seconds, it would drown them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "http.h"
#include "metrics.h"
#include "server.h"

#ifndef FIABLE_MIGRATIONS
#error "FIABLE_MIGRATIONS (the migrations of sql/, comma-separated) is set by CMake"
#endif

/* Same threshold as the default alert rule "sauvegarde" (cron/alert-rules.json). */
#define BACKUP_MAX_AGE_HOURS 26.0

struct app {
	struct config cfg;
	struct db *db;
};

static void
add_text(cJSON *list, const char *text)
{
	cJSON_AddItemToArray(list, cJSON_CreateString(text));
}

/* How many names FIABLE_MIGRATIONS holds. */
static long
known_migrations(void)
{
	const char *p = FIABLE_MIGRATIONS;
	long n = p[0] != '\0';

	for (; *p != '\0'; p++)
		n += *p == ',';
	return n;
}

/* Adds the migrations' state to o; false (with a reason) when some are not applied. */
static bool
check_migrations(struct app *app, cJSON *o, cJSON *reasons, cJSON *warnings)
{
	const char *params[1] = { FIABLE_MIGRATIONS };
	PGresult *res = db_query(app->db, STMT_HEALTH_MIGRATIONS, params);
	cJSON *m = cJSON_AddObjectToObject(o, "migrations");
	long applied, unknown, expected = known_migrations();
	bool ok;

	cJSON_AddNumberToObject(m, "attendues", (double)expected);
	if (!db_ok(res) || PQntuples(res) != 1) {
		PQclear(res);
		add_text(reasons, "État des migrations illisible (table "
		    "schema_migrations absente ou droits manquants).");
		cJSON_AddFalseToObject(m, "a_jour");
		return false;
	}
	applied = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	unknown = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	cJSON_AddNumberToObject(m, "appliquees", (double)applied);
	cJSON_AddNumberToObject(m, "inconnues", (double)unknown);
	cJSON_AddStringToObject(m, "derniere", PQgetvalue(res, 0, 2));
	PQclear(res);
	ok = applied == expected;
	cJSON_AddBoolToObject(m, "a_jour", ok);
	if (!ok) {
		char text[160];
		snprintf(text, sizeof(text), "%ld migration(s) en attente : lancez scripts/migrate.",
		    expected - applied);
		add_text(reasons, text);
	}
	if (unknown > 0)
		add_text(warnings, "La base porte des migrations plus récentes "
		    "que ce programme : déployez le code correspondant.");
	return ok;
}

static void
check_backup(struct app *app, cJSON *o, cJSON *warnings)
{
	PGresult *res = db_query(app->db, STMT_METRICS_BACKUPS, NULL);
	cJSON *all = NULL, *b = cJSON_AddObjectToObject(o, "sauvegarde");
	const cJSON *age, *last;

	if (db_ok(res) && PQntuples(res) == 1)
		all = cJSON_Parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	age = metrics_json_path(all, "derniere_reussie.age_heures");
	last = metrics_json_path(all, "recentes");
	last = cJSON_IsArray(last) ? cJSON_GetArrayItem(last, 0) : NULL;
	if (cJSON_IsNumber(age))
		cJSON_AddNumberToObject(b, "age_heures", age->valuedouble);
	else
		cJSON_AddNullToObject(b, "age_heures");
	if (last != NULL && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(last, "statut")))
		cJSON_AddStringToObject(b, "dernier_statut",
		    cJSON_GetObjectItemCaseSensitive(last, "statut")->valuestring);
	if (all == NULL)
		add_text(warnings, "État des sauvegardes illisible.");
	else if (!cJSON_IsNumber(age))
		add_text(warnings, "Aucune sauvegarde réussie.");
	else if (age->valuedouble > BACKUP_MAX_AGE_HOURS)
		add_text(warnings,
		    "La dernière sauvegarde réussie a plus de 26 heures.");
	cJSON_Delete(all);
}

static void
check_spool(cJSON *o, cJSON *warnings)
{
	cJSON *s = cJSON_AddObjectToObject(o, "file_durable");
	long long lines, bytes;

	if (metrics_spool_backlog(&lines, &bytes) != 0) {
		cJSON_AddNullToObject(s, "lignes");
		add_text(warnings, "File durable des métriques illisible.");
		return;
	}
	cJSON_AddNumberToObject(s, "lignes", (double)lines);
	cJSON_AddNumberToObject(s, "octets", (double)bytes);
	if (lines > 0)
		add_text(warnings,
		    "Des métriques attendent dans la file durable (base injoignable ou refus).");
}

/* True when the query string is exactly strict=1 (the one parameter understood). */
static bool
strict_asked(FCGX_Request *r)
{
	const char *q = FCGX_GetParam("QUERY_STRING", r->envp);

	return q != NULL && strcmp(q, "strict=1") == 0;
}

static void
handle_health(FCGX_Request *r, struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	cJSON *o, *reasons, *warnings;
	PGresult *res;
	bool ok, strict = strict_asked(r);
	int status;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_send_error(r->out, ERR_METHOD_NOT_ALLOWED, NULL, NULL, "Allow: GET, HEAD\r\n");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", "ok");
	reasons = cJSON_CreateArray();
	warnings = cJSON_CreateArray();
	res = db_query(app->db, STMT_PING, NULL);
	ok = db_ok(res);
	PQclear(res);
	cJSON_AddStringToObject(o, "database", ok ? "ok" : "injoignable");
	if (ok) {
		(void)metrics_spool_ingest(app->db);
		ok = check_migrations(app, o, reasons, warnings);
		check_backup(app, o, warnings);
	} else {
		add_text(reasons, "La base de données ne répond pas.");
	}
	check_spool(o, warnings);

	status = 200;
	if (!ok)
		status = 503;
	else if (strict && cJSON_GetArraySize(warnings) > 0)
		status = 503;
	if (status != 200)
		cJSON_ReplaceItemInObjectCaseSensitive(o, "status",
		    cJSON_CreateString(ok ? "degrade" : "indisponible"));
	cJSON_AddItemToObject(o, "raisons", reasons);
	cJSON_AddItemToObject(o, "avertissements", warnings);
	http_send_json(r->out, status, status == 200 ? NULL : "Retry-After: 2\r\n", o);
	cJSON_Delete(o);
}

int
main(int argc, char **argv)
{
	struct app app;
	int rc;

	if ((rc = server_setup(argc, argv, "fiable-health",
	    "état du service (GET /api/health)", &app.cfg)) != 0)
		return rc == 2 ? 0 : rc;
	if ((app.db = db_open(app.cfg.database_url)) == NULL)
		return 1;
	rc = server_run(handle_health, &app);
	db_close(app.db);
	return rc;
}
