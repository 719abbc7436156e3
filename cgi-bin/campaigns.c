/* fiable-campaigns — the organiser's campaigns and their slots (issue 15), behind nginx
 * auth_basic (refused here without REMOTE_USER, which only the /api/admin/ block passes):
 *   GET  /api/admin/campagnes                         the campaigns, their answers
 *   POST /api/admin/campagnes                         a new one (201, ETag "v1", Location)
 *   GET  /api/admin/campagnes/N                       one, with its slots (ETag "vN")
 *   PUT  /api/admin/campagnes/N                       its fields (If-Match "vN": 428, 412)
 *   POST /api/admin/campagnes/N/dupliquer             a copy N weeks later (campaigns_matrix.c)
 *   POST|PUT|DELETE /api/admin/campagnes/N/creneaux…  its slots (campaigns_slots.c)
 *   GET  /api/admin/campagnes/N/matrice, /reponses.csv  who is available (campaigns_matrix.c)
 * Every write is one transaction that names the administrator (campaign_tx_begin) for the
 * audit rows of sql/0014's triggers, refused from a foreign Origin; an archived campaign
 * refuses every write (409). The contract: /work/shared-contrat-campagnes.md. */
#include <stdio.h>
#include <string.h>

#include "campaign.h"
#include "campaigns.h"
#include "log.h"
#include "metrics.h"
#include "respond.h"
#include "validate.h"

#define PREFIX "/api/admin/campagnes/"

bool
campaign_address_parse(const char *uri, struct campaign_address *a)
{
	const char *p = uri + strlen(PREFIX);
	size_t n = 0;

	memset(a, 0, sizeof(*a));
	if (strncmp(uri, PREFIX, strlen(PREFIX)) != 0)
		return false;
	while (p[n] >= '0' && p[n] <= '9')
		n++;
	if (n == 0 || n > 18 || p[0] == '0' || (p[n] != '\0' && p[n] != '/'))
		return false;
	memcpy(a->id, p, n);
	a->rest = p[n] == '/' ? p + n + 1 : p + n;
	if (strncmp(a->rest, "creneaux/", 9) == 0 && strcmp(a->rest, "creneaux/serie") != 0 &&
	    strcmp(a->rest, "creneaux/import") != 0 && strcmp(a->rest, "creneaux/ordre") != 0) {
		const char *sid = a->rest + 9;
		if (strlen(sid) >= sizeof(a->sid) || !valid_slot_id(sid))
			return false;
		snprintf(a->sid, sizeof(a->sid), "%s", sid);
		a->rest = "creneaux/{sid}";
	}
	return true;
}

bool
campaign_origin_ok(struct call *call)
{
	if (http_origin_allowed(call->req, call->cfg->origins, call->cfg->norigins))
		return true;
	respond_error(call, ERR_FORBIDDEN_ORIGIN);
	return false;
}

void
campaign_write_fail(struct call *call, enum api_error e, const char *name,
    const cJSON *member)
{
	bool lost = db_lost(call->db);

	if (e == ERR_NONE && !lost)
		log_error("campagne non modifiée : %s", db_error(call->db));
	db_rollback(call->db);
	if (e == ERR_NONE)
		e = lost ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL;
	respond_problem(call, e, name, member);
}

bool
campaign_write_begin(struct call *call, const char *id, PGresult **locked)
{
	const char *params[1] = { id };
	PGresult *res;

	*locked = NULL;
	if (!campaign_tx_begin(call->db, call->req)) {
		respond_db_failure(call);
		return false;
	}
	res = db_exec(call->db, STMT_CAMPAIGN_LOCK, params);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		return false;
	}
	if (PQntuples(res) == 0 || strcmp(db_text_or(res, 0, "etat", ""), "archivee") == 0) {
		enum api_error e = PQntuples(res) == 0 ? ERR_NOT_FOUND : ERR_CAMPAIGN_ARCHIVED;
		PQclear(res);
		campaign_write_fail(call, e, NULL, NULL);
		return false;
	}
	*locked = res;
	return true;
}

void
campaign_write_commit(struct call *call, int status, const char *headers, cJSON *json)
{
	if (!metrics_record(call->db, call->req, call->endpoint, status) ||
	    !db_commit(call->db)) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		return;
	}
	http_send_json(call->fcgi->out, status, headers, json);
}

static void
handle_list(struct call *call)
{
	cJSON *o = campaign_list_json(call->db);

	if (o == NULL) {
		respond_db_failure(call);
		return;
	}
	respond_json(call, 200, NULL, o);
	cJSON_Delete(o);
}

/* A campaign's fields (parsed; absent members of a PUT are those of the locked row) written
 * by campaign_insert (id NULL) or campaign_update. Answers the refusals itself; on success
 * the result (RETURNING id, version) to PQclear. */
static PGresult *
campaign_store(struct call *call, const char *id, const struct campaign_fields *f)
{
	char grace[16];
	const char *params[10];
	PGresult *res;
	int i = 0, known;
	cJSON *errors;

	if ((known = campaign_zone_known(call->db, f->fuseau)) != 1) {
		if (known < 0) {
			campaign_write_fail(call, ERR_NONE, NULL, NULL);
			return NULL;
		}
		errors = cJSON_CreateObject();
		cJSON_AddStringToObject(errors, "fuseau", "Fuseau horaire inconnu : écrivez un nom "
		    "comme Europe/Paris ou Europe/Brussels.");
		campaign_write_fail(call, ERR_VALIDATION, "errors", errors);
		cJSON_Delete(errors);
		return NULL;
	}
	snprintf(grace, sizeof(grace), "%d", f->grace_minutes);
	if (id != NULL)
		params[i++] = id;
	params[i++] = f->slug;
	params[i++] = f->titre;
	params[i++] = f->introduction ? f->introduction : "";
	params[i++] = f->fuseau;
	params[i++] = f->ouverture;
	params[i++] = f->fermeture;
	params[i++] = grace;
	params[i++] = f->modification_jusqu_a;
	params[i++] = f->etat ? f->etat : "brouillon";
	res = db_exec(call->db, id ? STMT_CAMPAIGN_UPDATE : STMT_CAMPAIGN_INSERT, params);
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		return res;
	if (res != NULL && (PQntuples(res) == 0 || strcmp(db_sqlstate(res), "23505") == 0) &&
	    (PQresultStatus(res) == PGRES_TUPLES_OK || strcmp(db_sqlstate(res), "23505") == 0)) {
		PQclear(res);
		campaign_write_fail(call, ERR_SLUG_TAKEN, NULL, NULL);
		return NULL;
	}
	if (res != NULL && strcmp(db_sqlstate(res), "23514") == 0) {
		PQclear(res);
		errors = cJSON_CreateObject();
		cJSON_AddStringToObject(errors, "fermeture", "Dates incohérentes : la fermeture "
		    "vient après l'ouverture, et la fin des modifications après la fermeture.");
		campaign_write_fail(call, ERR_VALIDATION, "errors", errors);
		cJSON_Delete(errors);
		return NULL;
	}
	PQclear(res);
	campaign_write_fail(call, ERR_NONE, NULL, NULL);
	return NULL;
}

void
campaign_answer(struct call *call, int status, const char *id)
{
	char headers[160];
	bool found;
	long version = 0;
	cJSON *o;

	if (!db_commit(call->db)) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		return;
	}
	if ((o = campaign_load_json(call->db, id, &found, &version)) == NULL) {
		/* Committed: say so even when the re-read failed. */
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "id", id);
		http_send_json(call->fcgi->out, status, NULL, m);
		cJSON_Delete(m);
		return;
	}
	campaign_etag(version, headers, sizeof(headers));
	if (status == 201)
		snprintf(headers + strlen(headers), sizeof(headers) - strlen(headers),
		    "Location: " PREFIX "%s\r\n", id);
	http_send_json(call->fcgi->out, status, headers, o);
	cJSON_Delete(o);
}

static bool
parse_or_refuse(struct call *call, cJSON *root, bool create, struct campaign_fields *f)
{
	cJSON *errors = cJSON_CreateObject();

	if (campaign_parse(root, create, f, errors) == 0) {
		cJSON_Delete(errors);
		return true;
	}
	respond_problem(call, ERR_VALIDATION, "errors", errors);
	cJSON_Delete(errors);
	return false;
}

static void
handle_create(struct call *call)
{
	struct campaign_fields f;
	PGresult *res;
	cJSON *root;
	char id[24];

	if ((root = respond_read_json(call)) == NULL)
		return;
	if (!parse_or_refuse(call, root, true, &f)) {
		cJSON_Delete(root);
		return;
	}
	if (f.fuseau == NULL)
		f.fuseau = call->cfg->timezone;
	if (!campaign_tx_begin(call->db, call->req)) {
		cJSON_Delete(root);
		respond_db_failure(call);
		return;
	}
	res = campaign_store(call, NULL, &f);
	cJSON_Delete(root);
	if (res == NULL)
		return;
	snprintf(id, sizeof(id), "%s", db_text_or(res, 0, "id", ""));
	PQclear(res);
	if (!metrics_record(call->db, call->req, call->endpoint, 201)) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		return;
	}
	campaign_answer(call, 201, id);
}

/* PUT: the members given replace the campaign's; the others stay as they are. */
static void
handle_update(struct call *call, const char *id)
{
	struct campaign_fields f;
	PGresult *locked, *res;
	long want = 0, have;
	cJSON *root;
	int m;

	if ((root = respond_read_json(call)) == NULL)
		return;
	if ((m = http_if_match_version(call->req, &want)) == 0) {
		cJSON_Delete(root);
		respond_error(call, ERR_IF_MATCH_REQUIRED);
		return;
	}
	if (!parse_or_refuse(call, root, false, &f) ||
	    !campaign_write_begin(call, id, &locked)) {
		cJSON_Delete(root);
		return;
	}
	have = (long)db_number(locked, 0, "version");
	if (m < 0 || want != have) {
		cJSON *current = campaign_row_json(locked);
		PQclear(locked);
		cJSON_Delete(root);
		campaign_write_fail(call, ERR_CAMPAIGN_MODIFIED, "current", current);
		cJSON_Delete(current);
		return;
	}
#define KEEP(has, field, column) if (!f.has) f.field = db_text(locked, 0, column)
	KEEP(has_slug, slug, "slug");
	KEEP(has_titre, titre, "titre");
	KEEP(has_introduction, introduction, "introduction");
	KEEP(has_fuseau, fuseau, "fuseau");
	KEEP(has_ouverture, ouverture, "ouverture");
	KEEP(has_fermeture, fermeture, "fermeture");
	KEEP(has_modification, modification_jusqu_a, "modification_jusqu_a");
	KEEP(has_etat, etat, "etat");
#undef KEEP
	if (!f.has_grace)
		f.grace_minutes = (int)db_number(locked, 0, "delai_grace_minutes");
	res = campaign_store(call, id, &f);
	PQclear(locked);
	cJSON_Delete(root);
	if (res == NULL)
		return;
	PQclear(res);
	if (!metrics_record(call->db, call->req, call->endpoint, 200)) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		return;
	}
	campaign_answer(call, 200, id);
}

static void
handle_get(struct call *call, const char *id)
{
	char etag[48];
	bool found;
	long version = 0;
	cJSON *o = campaign_load_json(call->db, id, &found, &version);

	if (o == NULL) {
		if (found)
			respond_db_failure(call);
		else
			respond_error(call, ERR_NOT_FOUND);
		return;
	}
	campaign_etag(version, etag, sizeof(etag));
	respond_json(call, 200, etag, o);
	cJSON_Delete(o);
}

/* The addresses under /api/admin/campagnes/N, with their metrics labels. */
struct subroute {
	const char *rest, *methods, *label;
	void (*handler)(struct call *call);
};

static void get_campaign(struct call *call);
static void put_campaign(struct call *call);

static const struct subroute subroutes[] = {
	{ "", "GET, HEAD", PREFIX "{id}", get_campaign },
	{ "", "PUT", PREFIX "{id}", put_campaign },
	{ "dupliquer", "POST", PREFIX "{id}/dupliquer", handle_duplicate },
	{ "creneaux", "POST", PREFIX "{id}/creneaux", handle_slot_add },
	{ "creneaux/serie", "POST", PREFIX "{id}/creneaux/serie", handle_slot_series },
	{ "creneaux/import", "POST", PREFIX "{id}/creneaux/import", handle_slot_import },
	{ "creneaux/ordre", "PUT", PREFIX "{id}/creneaux/ordre", handle_slot_order },
	{ "creneaux/{sid}", "PUT", PREFIX "{id}/creneaux/{sid}", handle_slot_edit },
	{ "creneaux/{sid}", "DELETE", PREFIX "{id}/creneaux/{sid}", handle_slot_remove },
	{ "matrice", "GET, HEAD", PREFIX "{id}/matrice", handle_matrix },
	{ "reponses.csv", "GET, HEAD", PREFIX "{id}/reponses.csv", handle_export },
};

static void
get_campaign(struct call *call)
{
	struct campaign_address a;

	if (campaign_address_parse(call->req->uri, &a))
		handle_get(call, a.id);
}

static void
put_campaign(struct call *call)
{
	struct campaign_address a;

	if (campaign_address_parse(call->req->uri, &a))
		handle_update(call, a.id);
}

static bool
method_in(const char *methods, const char *method)
{
	size_t n = strlen(method);
	const char *p;

	for (p = methods; (p = strstr(p, method)) != NULL; p += n)
		if ((p == methods || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

static void
handle_sub(struct call *call)
{
	struct campaign_address a;
	const struct subroute *found = NULL;
	size_t i, len = 0;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	call->allow[0] = '\0';
	for (i = 0; i < sizeof(subroutes) / sizeof(subroutes[0]); i++) {
		if (strcmp(subroutes[i].rest, a.rest) != 0)
			continue;
		call->endpoint = subroutes[i].label;
		if (len < sizeof(call->allow))
			len += (size_t)snprintf(call->allow + len, sizeof(call->allow) - len, "%s%s",
			    len ? ", " : "", subroutes[i].methods);
		if (found == NULL && method_in(subroutes[i].methods, call->req->method))
			found = &subroutes[i];
	}
	if (found != NULL)
		found->handler(call);
	else
		respond_error(call, len ? ERR_METHOD_NOT_ALLOWED : ERR_NOT_FOUND);
}

/* Defence in depth: nginx asks for the password; without REMOTE_USER, refused here too. */
static bool
admit(struct call *call, const struct route *route)
{
	(void)route;
	if (call->req->remote_user == NULL || call->req->remote_user[0] == '\0') {
		respond_error(call, ERR_ADMIN_REQUIRED);
		return false;
	}
	return true;
}

static const struct route routes[] = {
	{ "/api/admin/campagnes", "GET, HEAD", handle_list },
	{ "/api/admin/campagnes", "POST", handle_create },
	{ PREFIX "*", "GET, HEAD, POST, PUT, DELETE", handle_sub },
};

int
main(int argc, char **argv)
{
	static const struct program p = {
		.name = "fiable-campaigns",
		.summary = "campagnes et créneaux pour l'administration (/api/admin/campagnes)",
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.admit = admit,
	};

	return server_main(argc, argv, &p);
}
