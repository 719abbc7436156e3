/* campaigns_write.c — for fiable-campaigns (campaigns.c): the address of a campaign, and the
 * steps every admin write shares: the administrator named, the campaign locked, the
 * metric and COMMIT, or the rollback with the refusal. */
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
	/* participants/<digits>; the other names under participants/ (import, inviter,
	 * relancer, sans-reponse.csv) are addresses of their own. */
	if (strncmp(a->rest, "participants/", 13) == 0 && a->rest[13] >= '0' &&
	    a->rest[13] <= '9') {
		const char *pid = a->rest + 13;
		size_t m = strspn(pid, "0123456789");
		if (m == 0 || m > 18 || pid[m] != '\0' || pid[0] == '0')
			return false;
		snprintf(a->sid, sizeof(a->sid), "%s", pid);
		a->rest = "participants/{pid}";
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

