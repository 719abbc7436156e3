/* fiable-health — GET /api/health, for load balancers and monitoring.
 *
 * 503 with the reasons when the service cannot work: the database does not answer, or a
 * migration of this code is not applied. 200 otherwise ("status": "ok"), with warnings:
 * the last successful backup is older than 26 hours (or there is none), metrics wait in the
 * spool, the database holds migrations this code does not know. With ?strict=1 a warning
 * also gives 503, for a monitor that only looks at the status code. ?ping=1 only asks the
 * database (SELECT 1): the form polls it every few seconds while an answer waits in its
 * queue, to send it as soon as the service is back.
 *
 * It ingests the spool when the database is back, and does not count in the request
 * metrics (polled every few seconds, it would drown them). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "http.h"
#include "metrics.h"
#include "respond.h"
#include "server.h"

#ifndef FIABLE_MIGRATIONS
#error "FIABLE_MIGRATIONS (the migrations of sql/, comma-separated) is set by CMake"
#endif

/* Same threshold as the default alert rule "sauvegarde" (cron/alert-rules.json). */
#define BACKUP_MAX_AGE_HOURS 26.0

static void
add_text(cJSON *list, const char *text)
{
	cJSON_AddItemToArray(list, cJSON_CreateString(text));
}

/* How many names FIABLE_MIGRATIONS holds. */
static long long
known_migrations(void)
{
	const char *p = FIABLE_MIGRATIONS;
	long long n = p[0] != '\0';

	for (; *p != '\0'; p++)
		n += *p == ',';
	return n;
}

/* Adds the migrations' state to o; false (with a reason) when some are not applied. */
static bool
check_migrations(struct db *db, cJSON *o, cJSON *reasons, cJSON *warnings)
{
	const char *params[1] = { FIABLE_MIGRATIONS };
	PGresult *res = db_query(db, STMT_HEALTH_MIGRATIONS, params);
	cJSON *m = cJSON_AddObjectToObject(o, "migrations");
	long long applied, unknown, expected = known_migrations();
	bool ok;

	cJSON_AddNumberToObject(m, "attendues", (double)expected);
	if (!db_ok(res) || PQntuples(res) != 1 ||
	    !db_int(res, 0, "appliquees", 0, LLONG_MAX, &applied) ||
	    !db_int(res, 0, "inconnues", 0, LLONG_MAX, &unknown)) {
		PQclear(res);
		add_text(reasons, "État des migrations illisible (table "
		    "schema_migrations absente ou droits manquants).");
		cJSON_AddFalseToObject(m, "a_jour");
		return false;
	}
	cJSON_AddNumberToObject(m, "appliquees", (double)applied);
	cJSON_AddNumberToObject(m, "inconnues", (double)unknown);
	cJSON_AddStringToObject(m, "derniere", db_text(res, 0, "derniere"));
	PQclear(res);
	ok = applied == expected;
	cJSON_AddBoolToObject(m, "a_jour", ok);
	if (!ok) {
		char text[160];
		snprintf(text, sizeof(text), "%lld migration(s) en attente : lancez scripts/migrate.",
		    expected - applied);
		add_text(reasons, text);
	}
	if (unknown > 0)
		add_text(warnings, "La base porte des migrations plus récentes "
		    "que ce programme : déployez le code correspondant.");
	return ok;
}

static void
check_backup(struct db *db, cJSON *o, cJSON *warnings)
{
	PGresult *res = db_query(db, STMT_METRICS_BACKUPS, NULL);
	cJSON *all = NULL, *b = cJSON_AddObjectToObject(o, "sauvegarde");
	const cJSON *age, *last;

	if (db_ok(res) && PQntuples(res) == 1 && !db_is_null(res, 0, "sauvegardes"))
		all = cJSON_Parse(db_text(res, 0, "sauvegardes"));
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

/* ?ping=1: 200 when the database answers, 503 (with Retry-After) otherwise; nothing else. */
static void
handle_ping(struct call *call)
{
	PGresult *res = db_query(call->db, STMT_PING, NULL);
	bool ok = db_ok(res);
	char headers[64];
	cJSON *o = cJSON_CreateObject();

	PQclear(res);
	cJSON_AddStringToObject(o, "status", ok ? "ok" : "indisponible");
	cJSON_AddStringToObject(o, "database", ok ? "ok" : "injoignable");
	api_error_headers(ERR_DATABASE_UNAVAILABLE, NULL, headers, sizeof(headers));
	respond_json(call, ok ? 200 : 503, ok ? NULL : headers, o);
	cJSON_Delete(o);
}

static void
handle_health(struct call *call)
{
	const char *q = call->req->query_string;
	/* strict=1 and ping=1, exactly, are the parameters understood. */
	bool ok, strict = q != NULL && strcmp(q, "strict=1") == 0;
	cJSON *o, *reasons, *warnings;
	char headers[64];
	PGresult *res;
	int status;

	if (q != NULL && strcmp(q, "ping=1") == 0) {
		handle_ping(call);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", "ok");
	reasons = cJSON_CreateArray();
	warnings = cJSON_CreateArray();
	res = db_query(call->db, STMT_PING, NULL);
	ok = db_ok(res);
	PQclear(res);
	cJSON_AddStringToObject(o, "database", ok ? "ok" : "injoignable");
	if (ok) {
		(void)metrics_spool_ingest(call->db);
		ok = check_migrations(call->db, o, reasons, warnings);
		check_backup(call->db, o, warnings);
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
	/* A 503 says when to ask again, as the API's own 503 does (api_errors). */
	api_error_headers(ERR_DATABASE_UNAVAILABLE, NULL, headers, sizeof(headers));
	respond_json(call, status, status == 200 ? NULL : headers, o);
	cJSON_Delete(o);
}

static const struct route routes[] = {
	{ "/api/health", "GET, HEAD", handle_health },
};

int
main(int argc, char **argv)
{
	/* Not measured: polled every few seconds, it would drown the request metrics. */
	static const struct program p = {
		.name = "fiable-health",
		.summary = "état du service (GET /api/health)",
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.unmeasured = true,
	};

	return server_main(argc, argv, &p);
}
