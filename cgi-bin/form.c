/* fiable-form — what a person's page needs before answering:
 *   GET /api/form?campagne=<slug>  one campaign's form: its slots (not removed, in order,
 *                                  with their day in its time zone), the campaign itself
 *                                  (titre, introduction, phase, dates, acces), the flags
 *                                  and the validation rules; without ?campagne=, the first
 *                                  campaign (the pages and tests of before campaigns)
 *   GET /api/campagnes             the campaigns open or about to open
 *   GET, POST /api/desinscription  (unsubscribe.c) and POST /api/invitation (invitation.c)
 * Both bodies are rendered once and kept in the worker's memory (lib/form_cache.h): a
 * request costs no database round trip until a campaign, a slot or a flag changes (NOTIFY),
 * the connection is replaced, or the campaign's phase changes with the clock. Their metrics
 * are sent in batches (metrics_batch_enable), not committed one per request. */
#include <stdio.h>
#include <string.h>

#include "campaign_lookup.h"
#include "config.h"
#include "db.h"
#include "form_cache.h"
#include "http.h"
#include "log.h"
#include "mail.h"
#include "metrics.h"
#include "num.h"
#include "respond.h"
#include "server.h"
#include "validate.h"

/* The key of GET /api/campagnes in the cache: no slug has a slash. */
#define LIST_KEY "/api/campagnes"

static void
add_text_or_null(cJSON *o, const char *name, const PGresult *res, const char *column)
{
	const char *v = db_text(res, 0, column);

	if (v != NULL)
		cJSON_AddStringToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

/* The instant the phase next changes (prochain_changement), or 0 when it never does. */
static long long
next_change(const PGresult *res, const char *column)
{
	long long t;
	const char *v = PQntuples(res) > 0 ? db_text(res, 0, column) : NULL;

	return v != NULL && num_parse(v, 1, 253402300799LL, &t) ? t : 0;
}

/* The body of the form of slug ("" = the first campaign): 200 with *body (cJSON_free) and
 * *expires, or the error to answer. */
static enum api_error
render_form(struct call *call, const char *slug, char **body, long long *expires)
{
	const char *params[2] = { slug, NULL };
	PGresult *camp = NULL, *slots = NULL, *flags = NULL;
	enum api_error e = ERR_NONE;
	cJSON *o = NULL, *list, *fl, *c;
	const char *etat;
	int i;

	*body = NULL;
	camp = db_query(call->db, STMT_FORM_CAMPAIGN, params);
	if (!db_ok(camp))
		goto failed;
	etat = PQntuples(camp) == 1 ? db_text_or(camp, 0, "etat", "") : "";
	if (strcmp(etat, "ouverte") != 0 && strcmp(etat, "close") != 0) {
		e = ERR_CAMPAIGN_NOT_FOUND;     /* unknown, brouillon or archivee */
		goto out;
	}
	params[0] = db_text(camp, 0, "id");
	params[1] = db_text(camp, 0, "fuseau");
	slots = db_query(call->db, STMT_FORM_CAMPAIGN_SLOTS, params);
	if (!db_ok(slots))
		goto failed;
	flags = db_query(call->db, STMT_FORM_FLAGS, NULL);
	if (!db_ok(flags))
		goto failed;

	if ((o = cJSON_CreateObject()) == NULL)
		goto failed;
	cJSON_AddStringToObject(o, "fuseau", db_text_or(camp, 0, "fuseau", ""));
	cJSON_AddItemToObject(o, "regles", validate_rules_json());
	list = cJSON_AddArrayToObject(o, "creneaux");
	for (i = 0; i < PQntuples(slots); i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "id", db_text(slots, i, "id"));
		cJSON_AddStringToObject(s, "debut", db_text(slots, i, "debut"));
		cJSON_AddStringToObject(s, "fin", db_text(slots, i, "fin"));
		cJSON_AddStringToObject(s, "libelle", db_text(slots, i, "libelle"));
		cJSON_AddStringToObject(s, "jour", db_text(slots, i, "jour"));
		if (db_is_null(slots, i, "besoin"))
			cJSON_AddNullToObject(s, "besoin");
		else
			cJSON_AddNumberToObject(s, "besoin", db_number(slots, i, "besoin"));
		cJSON_AddItemToArray(list, s);
	}
	/* The confirmation says a receipt was e-mailed only when one is (submit.c queue_receipt). */
	cJSON_AddBoolToObject(o, "accuse_reception", mail_configured(call->cfg));
	fl = cJSON_AddObjectToObject(o, "fonctionnalites");
	for (i = 0; i < PQntuples(flags); i++)
		cJSON_AddBoolToObject(fl, db_text(flags, i, "name"), db_bool(flags, i, "enabled"));
	c = cJSON_AddObjectToObject(o, "campagne");
	cJSON_AddStringToObject(c, "slug", db_text_or(camp, 0, "slug", ""));
	cJSON_AddStringToObject(c, "titre", db_text_or(camp, 0, "titre", ""));
	cJSON_AddStringToObject(c, "introduction", db_text_or(camp, 0, "introduction", ""));
	cJSON_AddStringToObject(c, "phase", db_text_or(camp, 0, "phase", ""));
	/* ouvert, or invites: the page says that an invitation's link is needed. */
	cJSON_AddStringToObject(c, "acces", db_text_or(camp, 0, "acces", "ouvert"));
	add_text_or_null(c, "ouverture", camp, "ouverture");
	add_text_or_null(c, "fermeture", camp, "fermeture");
	add_text_or_null(c, "fin_delai_grace", camp, "fin_delai_grace");
	add_text_or_null(c, "modification_jusqu_a", camp, "modification_jusqu_a");
	cJSON_AddStringToObject(c, "fuseau", db_text_or(camp, 0, "fuseau", ""));
	if ((*body = cJSON_PrintUnformatted(o)) == NULL)
		goto failed;
	*expires = next_change(camp, "prochain_changement");
	goto out;
failed:
	e = db_lost(call->db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL;
out:
	cJSON_Delete(o);
	PQclear(camp);
	PQclear(slots);
	PQclear(flags);
	return e;
}

static enum api_error
render_list(struct call *call, char **body, long long *expires)
{
	PGresult *res = db_query(call->db, STMT_CAMPAIGNS_PUBLIC, NULL);
	cJSON *o = NULL, *list;
	int i;

	*body = NULL;
	if (!db_ok(res) || (o = cJSON_CreateObject()) == NULL) {
		PQclear(res);
		return db_lost(call->db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL;
	}
	list = cJSON_AddArrayToObject(o, "campagnes");
	for (i = 0; i < PQntuples(res); i++) {
		cJSON *c = cJSON_CreateObject();
		const char *slug = db_text_or(res, i, "slug", "");
		char address[CAMPAIGN_SLUG_BUF + 8];

		snprintf(address, sizeof(address), "/c/%s/", slug);
		cJSON_AddStringToObject(c, "slug", slug);
		cJSON_AddStringToObject(c, "titre", db_text_or(res, i, "titre", ""));
		cJSON_AddStringToObject(c, "phase", db_text_or(res, i, "phase", ""));
		if (db_is_null(res, i, "ouverture"))
			cJSON_AddNullToObject(c, "ouverture");
		else
			cJSON_AddStringToObject(c, "ouverture", db_text(res, i, "ouverture"));
		if (db_is_null(res, i, "fermeture"))
			cJSON_AddNullToObject(c, "fermeture");
		else
			cJSON_AddStringToObject(c, "fermeture", db_text(res, i, "fermeture"));
		cJSON_AddStringToObject(c, "adresse", address);
		cJSON_AddItemToArray(list, c);
	}
	*expires = next_change(res, "prochain_changement");
	PQclear(res);
	*body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return *body != NULL ? ERR_NONE : ERR_INTERNAL;
}

/* Serves the body kept under key, or renders, keeps and serves it. */
static void
serve_cached(struct call *call, const char *key,
    enum api_error (*render)(struct call *, const char *, char **, long long *))
{
	const char *kept;
	char *body;
	long long expires;
	size_t len;
	enum api_error e;

	form_cache_sync(call->db);
	if ((kept = form_cache_get(key, &len)) != NULL) {
		http_send(call->fcgi->out, 200, "application/json; charset=utf-8", NULL, kept, len);
		respond_record(call, 200);
		return;
	}
	if ((e = render(call, key, &body, &expires)) != ERR_NONE) {
		if (e == ERR_INTERNAL)
			log_error("formulaire : %s", db_error(call->db));
		respond_error(call, e);
		return;
	}
	form_cache_put(call->db, key, body, expires);
	http_send(call->fcgi->out, 200, "application/json; charset=utf-8", NULL, body,
	    strlen(body));
	cJSON_free(body);
	respond_record(call, 200);
}

static enum api_error
render_list_keyed(struct call *call, const char *key, char **body, long long *expires)
{
	(void)key;
	return render_list(call, body, expires);
}

static void
handle_form(struct call *call)
{
	const char *q = call->req->query_string;
	char slug[CAMPAIGN_SLUG_BUF + 1] = "";

	/* A slug of the wrong shape is answered without a query: no campaign can have it. */
	if (q != NULL && (strncmp(q, "campagne=", 9) == 0 || strstr(q, "&campagne=") != NULL) &&
	    (!http_query_value(q, "campagne", slug, sizeof(slug)) || !campaign_slug_valid(slug))) {
		respond_error(call, ERR_CAMPAIGN_NOT_FOUND);
		return;
	}
	serve_cached(call, slug, render_form);
}

static void
handle_campaigns(struct call *call)
{
	serve_cached(call, LIST_KEY, render_list_keyed);
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

void handle_invitation(struct call *call);  /* invitation.c */
void handle_unsubscribe_page(struct call *call);  /* unsubscribe.c */
void handle_unsubscribe(struct call *call);

/* Everything here is a read that everyone opens at once: its metrics go in batches
 * (lib/metrics.h), not in one commit per request. */
static int
start(struct db *db, const struct config *cfg)
{
	metrics_batch_enable();
	return check_timezone(db, cfg);
}

static const struct route routes[] = {
	{ "/api/form", "GET, HEAD", handle_form },
	{ "/api/campagnes", "GET, HEAD", handle_campaigns },
	{ "/api/invitation", "POST", handle_invitation },
	{ "/api/desinscription", "GET, HEAD", handle_unsubscribe_page },
	{ "/api/desinscription", "POST", handle_unsubscribe },
};

int
main(int argc, char **argv)
{
	static const struct program p = {
		.name = "fiable-form",
		.summary = "formulaires des campagnes (GET /api/form, GET /api/campagnes)",
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.start = start,
	};

	return server_main(argc, argv, &p);
}
