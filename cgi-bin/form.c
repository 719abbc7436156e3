/* fiable-form — GET /api/form: what the form needs to show itself: the slot catalogue
 * (with each slot's day in the institution's time zone) and the feature flags. */
#include <string.h>

#include "config.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "validate.h"

#define ENDPOINT "/api/form"

struct app {
	struct config cfg;
	struct db *db;
};

static cJSON *
load_form(struct app *app)
{
	const char *params[1] = { app->cfg.timezone };
	PGresult *slots = NULL, *flags = NULL;
	cJSON *o = NULL, *list, *fl;
	int i;

	slots = db_query(app->db, STMT_FORM_SLOTS, params);
	if (!db_ok(slots))
		goto out;
	flags = db_query(app->db, STMT_FORM_FLAGS, NULL);
	if (!db_ok(flags))
		goto out;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "fuseau", app->cfg.timezone);
	cJSON_AddItemToObject(o, "regles", validate_rules_json());
	list = cJSON_AddArrayToObject(o, "creneaux");
	for (i = 0; i < PQntuples(slots); i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "id", PQgetvalue(slots, i, 0));
		cJSON_AddStringToObject(c, "debut", PQgetvalue(slots, i, 1));
		cJSON_AddStringToObject(c, "fin", PQgetvalue(slots, i, 2));
		cJSON_AddStringToObject(c, "libelle", PQgetvalue(slots, i, 3));
		cJSON_AddStringToObject(c, "jour", PQgetvalue(slots, i, 4));
		cJSON_AddItemToArray(list, c);
	}
	fl = cJSON_AddObjectToObject(o, "fonctionnalites");
	for (i = 0; i < PQntuples(flags); i++)
		cJSON_AddBoolToObject(fl, PQgetvalue(flags, i, 0),
		    strcmp(PQgetvalue(flags, i, 1), "t") == 0);
out:
	PQclear(slots);
	PQclear(flags);
	return o;
}

static void
handle_form(FCGX_Request *r, struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	cJSON *form;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_send_error(r->out, ERR_METHOD_NOT_ALLOWED, NULL, NULL, "Allow: GET, HEAD\r\n");
		metrics_record_outside(app->db, req, ENDPOINT, 405);
		return;
	}
	if ((form = load_form(app)) == NULL) {
		enum api_error e = db_lost(app->db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL;
		http_send_error(r->out, e, NULL, NULL,
		    e == ERR_DATABASE_UNAVAILABLE ? "Retry-After: 2\r\n" : NULL);
		metrics_record_outside(app->db, req, ENDPOINT, api_error_status(e));
		return;
	}
	http_send_json(r->out, 200, NULL, form);
	cJSON_Delete(form);
	metrics_record_outside(app->db, req, ENDPOINT, 200);
}

int
main(int argc, char **argv)
{
	struct app app;
	const char *params[1];
	PGresult *res;
	int rc;

	if ((rc = server_setup(argc, argv, "fiable-form",
	    "catalogue des créneaux et fonctionnalités (GET /api/form)", &app.cfg)) != 0)
		return rc == 2 ? 0 : rc;
	if ((app.db = db_open(app.cfg.database_url)) == NULL)
		return 1;
	/* A wrong time zone is a configuration error: say it now rather than on every request
	 * (checked only if the database is already up; otherwise the first request shows it). */
	params[0] = app.cfg.timezone;
	res = db_query(app.db, STMT_TIMEZONE_CHECK, params);
	if (db_ok(res) && PQntuples(res) == 0) {
		log_error("FIABLE_TIMEZONE inconnu de PostgreSQL : %s", app.cfg.timezone);
		PQclear(res);
		db_close(app.db);
		return 1;
	}
	PQclear(res);
	rc = server_run(handle_form, &app);
	db_close(app.db);
	return rc;
}
