/* fiable-campaigns — the organiser's campaigns and their slots, behind nginx
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
#include "respond.h"

#define PREFIX "/api/admin/campagnes/"

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
	{ "participants", "GET, HEAD", PREFIX "{id}/participants", handle_participants_list },
	{ "participants", "POST", PREFIX "{id}/participants", handle_participant_add },
	{ "participants/{pid}", "DELETE", PREFIX "{id}/participants/{pid}",
	    handle_participant_remove },
	{ "participants/import", "POST", PREFIX "{id}/participants/import",
	    handle_participants_import },
	{ "participants/inviter", "POST", PREFIX "{id}/participants/inviter",
	    handle_participants_invite },
	{ "acces", "PUT", PREFIX "{id}/acces", handle_campaign_access },
	{ "relances", "GET, HEAD", PREFIX "{id}/relances", handle_reminders_get },
	{ "relances", "PUT", PREFIX "{id}/relances", handle_reminders_schedule },
	{ "participants/relancer", "POST", PREFIX "{id}/participants/relancer",
	    handle_participants_remind },
	{ "participants/sans-reponse.csv", "GET, HEAD", PREFIX "{id}/participants/sans-reponse.csv",
	    handle_no_answer_export },
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
		.summary = "campagnes et créneaux pour l’administration (/api/admin/campagnes)",
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.admit = admit,
	};

	return server_main(argc, argv, &p);
}
