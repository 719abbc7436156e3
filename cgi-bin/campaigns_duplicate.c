/* campaigns_duplicate.c — for fiable-campaigns (campaigns.c):
 *   POST …/N/dupliquer  {slug, titre?, decalage_semaines 0..104} → 201 the new campaign
 *        (brouillon; its dates and its slots still on the form N weeks later on the local
 *        clock of its zone, so a daylight-saving change keeps the hours; a default label
 *        names the new date). The source may be archived: it is only read. */
#include <stdio.h>

#include "campaign.h"
#include "campaigns.h"
#include "json.h"
#include "metrics.h"
#include "respond.h"

void
handle_duplicate(struct call *call)
{
	static const char *const members[] = { "slug", "titre", "decalage_semaines" };
	struct campaign_address a;
	struct campaign_fields f;
	const cJSON *w;
	cJSON *root, *errors, *probe;
	PGresult *res;
	char weeks[8], id[24];
	const char *params[4];
	int n;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	if ((root = respond_read_json(call)) == NULL)
		return;
	errors = cJSON_CreateObject();
	n = json_unknown_members(root, members, 3, errors);
	/* slug and titre are checked as a new campaign's. */
	probe = cJSON_CreateObject();
	cJSON_AddItemToObject(probe, "slug", cJSON_Duplicate(
	    cJSON_GetObjectItemCaseSensitive(root, "slug"), 1));
	if (cJSON_GetObjectItemCaseSensitive(root, "titre") != NULL)
		cJSON_AddItemToObject(probe, "titre", cJSON_Duplicate(
		    cJSON_GetObjectItemCaseSensitive(root, "titre"), 1));
	else
		cJSON_AddStringToObject(probe, "titre", "x");
	n += campaign_parse(probe, true, &f, errors);
	w = cJSON_GetObjectItemCaseSensitive(root, "decalage_semaines");
	if (!cJSON_IsNumber(w) || w->valuedouble != (double)(int)w->valuedouble ||
	    w->valuedouble < 0 || w->valuedouble > CAMPAIGN_SHIFT_MAX_WEEKS) {
		cJSON_AddStringToObject(errors, "decalage_semaines", "Décalage invalide : un nombre "
		    "entier de semaines, de 0 à 104.");
		n++;
	}
	if (n != 0) {
		respond_problem(call, ERR_VALIDATION, "errors", errors);
		goto done;
	}
	snprintf(weeks, sizeof(weeks), "%d", (int)w->valuedouble);
	if (!campaign_tx_begin(call->db, call->req)) {
		respond_db_failure(call);
		goto done;
	}
	params[0] = a.id;
	params[1] = f.slug;
	params[2] = cJSON_GetObjectItemCaseSensitive(root, "titre") ? f.titre : NULL;
	params[3] = weeks;
	res = db_exec(call->db, STMT_CAMPAIGN_GET, params);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
		bool missing = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;
		PQclear(res);
		campaign_write_fail(call, missing ? ERR_NOT_FOUND : ERR_NONE, NULL, NULL);
		goto done;
	}
	PQclear(res);
	res = db_exec(call->db, STMT_CAMPAIGN_DUPLICATE, params);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		goto done;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		campaign_write_fail(call, ERR_SLUG_TAKEN, NULL, NULL);
		goto done;
	}
	snprintf(id, sizeof(id), "%s", db_text_or(res, 0, "id", ""));
	PQclear(res);
	if (campaign_slots_duplicate(call->db, a.id, id, (int)w->valuedouble) < 0 ||
	    !metrics_record(call->db, call->req, call->endpoint, 201)) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		goto done;
	}
	campaign_answer(call, 201, id);
done:
	cJSON_Delete(probe);
	cJSON_Delete(errors);
	cJSON_Delete(root);
}

