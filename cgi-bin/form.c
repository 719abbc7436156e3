/* fiable-form — GET /api/form: what the form needs to show itself: the slot catalogue
 * (with each slot's day in the institution's time zone) and the feature flags. */
#include <string.h>

#include "config.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "respond.h"
#include "server.h"
#include "validate.h"

static cJSON *
load_form(struct call *call)
{
	const char *params[1] = { call->cfg->timezone };
	PGresult *slots = NULL, *flags = NULL;
	cJSON *o = NULL, *list, *fl;
	int i;

	slots = db_query(call->db, STMT_FORM_SLOTS, params);
	if (!db_ok(slots))
		goto out;
	flags = db_query(call->db, STMT_FORM_FLAGS, NULL);
	if (!db_ok(flags))
		goto out;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "fuseau", call->cfg->timezone);
	cJSON_AddItemToObject(o, "regles", validate_rules_json());
	list = cJSON_AddArrayToObject(o, "creneaux");
	for (i = 0; i < PQntuples(slots); i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "id", db_text(slots, i, "id"));
		cJSON_AddStringToObject(c, "debut", db_text(slots, i, "debut"));
		cJSON_AddStringToObject(c, "fin", db_text(slots, i, "fin"));
		cJSON_AddStringToObject(c, "libelle", db_text(slots, i, "libelle"));
		cJSON_AddStringToObject(c, "jour", db_text(slots, i, "jour"));
		cJSON_AddItemToArray(list, c);
	}
	fl = cJSON_AddObjectToObject(o, "fonctionnalites");
	for (i = 0; i < PQntuples(flags); i++) {
		const char *enabled = db_text(flags, i, "enabled");
		cJSON_AddBoolToObject(fl, db_text(flags, i, "name"),
		    enabled != NULL && strcmp(enabled, "t") == 0);
	}
out:
	PQclear(slots);
	PQclear(flags);
	return o;
}

static void
handle_form(struct call *call)
{
	cJSON *form;

	if ((form = load_form(call)) == NULL) {
		respond_db_failure(call);
		return;
	}
	respond_json(call, 200, NULL, form);
	cJSON_Delete(form);
}

/* A wrong time zone is a configuration error: say it now rather than on every request
 * (checked only if the database is already up; otherwise the first request shows it). */
static int
check_timezone(struct db *db, const struct config *cfg)
{
	const char *params[1] = { cfg->timezone };
	PGresult *res = db_query(db, STMT_TIMEZONE_CHECK, params);
	int rc = 0;

	if (db_ok(res) && PQntuples(res) == 0) {
		log_error("FIABLE_TIMEZONE inconnu de PostgreSQL : %s", cfg->timezone);
		rc = 1;
	}
	PQclear(res);
	return rc;
}

static const struct route routes[] = {
	{ "/api/form", "GET, HEAD", handle_form },
};

int
main(int argc, char **argv)
{
	static const struct program p = {
		.name = "fiable-form",
		.summary = "catalogue des créneaux et fonctionnalités (GET /api/form)",
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.start = check_timezone,
	};

	return server_main(argc, argv, &p);
}
