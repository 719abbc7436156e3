/* campaigns_slots.c — the slots of a campaign, for fiable-campaigns (campaigns.c):
 *   POST   …/N/creneaux          {debut, fin, libelle?, besoin?}       → 201 the slot
 *   POST   …/N/creneaux/serie    lib/slot_series.h's request           → 201 {crees, creneaux}
 *   POST   …/N/creneaux/import   a .ics or .csv file (lib/slot_import) → 201 {crees, creneaux}
 *                                or 422 {erreurs:[{ligne, message}]}, nothing stored
 *   PUT    …/N/creneaux/SID      {debut, fin, libelle?, besoin?}       → 200 the slot
 *   DELETE …/N/creneaux/SID      → 200 {"retire": true} (ticked: kept) or {"supprime": true}
 *   PUT    …/N/creneaux/ordre    {"ordre": [sid, ...]}                 → 200 {creneaux}
 * Each is one transaction with the campaign locked (campaign_write_begin). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "campaign.h"
#include "campaigns.h"
#include "json.h"
#include "respond.h"
#include "slot_import.h"
#include "slot_series.h"
#include "validate.h"

#define ORDER_MAX 10000

void
campaign_slots_answer(struct call *call, const char *id, const struct slot_list *l, bool one)
{
	cJSON *created = campaign_slots_insert(call->db, id, l, NULL), *o;

	if (created == NULL) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		return;
	}
	if (one) {
		o = cJSON_DetachItemFromArray(created, 0);
		cJSON_Delete(created);
	} else {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "crees", cJSON_GetArraySize(created));
		cJSON_AddItemToObject(o, "creneaux", created);
	}
	campaign_write_commit(call, 201, NULL, o);
	cJSON_Delete(o);
}

cJSON *
campaign_slot_write_begin(struct call *call, struct campaign_address *a, char *tz)
{
	PGresult *locked;
	cJSON *root;

	if (!campaign_address_parse(call->req->uri, a)) {
		respond_error(call, ERR_NOT_FOUND);
		return NULL;
	}
	if ((root = respond_read_json(call)) == NULL)
		return NULL;
	if (!campaign_write_begin(call, a->id, &locked)) {
		cJSON_Delete(root);
		return NULL;
	}
	snprintf(tz, SLOT_TZ_MAX_LEN + 1, "%s", db_text_or(locked, 0, "fuseau", "UTC"));
	PQclear(locked);
	return root;
}

/* POST …/creneaux and PUT …/creneaux/SID */
static void
slot_write(struct call *call, bool edit)
{
	struct campaign_address a;
	struct slot_list l = { 0 };
	char tz[SLOT_TZ_MAX_LEN + 1], besoin[16];
	cJSON *root, *errors;
	int n;

	if ((root = campaign_slot_write_begin(call, &a, tz)) == NULL)
		return;
	errors = cJSON_CreateObject();
	n = campaign_slot_parse(call->db, root, tz, &l, errors);
	cJSON_Delete(root);
	if (n != 0) {
		campaign_write_fail(call, n < 0 ? ERR_NONE : ERR_VALIDATION, "errors", errors);
	} else if (!edit) {
		campaign_slots_answer(call, a.id, &l, true);
	} else {
		char s[24], e[24];
		const char *params[6] = { a.id, a.sid, s, e, l.items[0].label, NULL };
		PGresult *res;

		snprintf(s, sizeof(s), "%lld", l.items[0].starts_at);
		snprintf(e, sizeof(e), "%lld", l.items[0].ends_at);
		if (l.items[0].besoin > 0) {
			snprintf(besoin, sizeof(besoin), "%d", l.items[0].besoin);
			params[5] = besoin;
		}
		res = db_exec(call->db, STMT_CAMPAIGN_SLOT_UPDATE, params);
		if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
			campaign_write_fail(call, ERR_NONE, NULL, NULL);
		else if (PQntuples(res) == 0)
			campaign_write_fail(call, ERR_NOT_FOUND, NULL, NULL);
		else {
			cJSON *list = campaign_slots_json(res, false);
			cJSON *o = cJSON_DetachItemFromArray(list, 0);
			campaign_write_commit(call, 200, NULL, o);
			cJSON_Delete(o);
			cJSON_Delete(list);
		}
		PQclear(res);
	}
	cJSON_Delete(errors);
	slot_list_free(&l);
}

void
handle_slot_add(struct call *call)
{
	slot_write(call, false);
}

void
handle_slot_edit(struct call *call)
{
	slot_write(call, true);
}

void
handle_slot_series(struct call *call)
{
	struct campaign_address a;
	struct slot_list l = { 0 };
	char tz[SLOT_TZ_MAX_LEN + 1];
	cJSON *root, *errors;
	int n;

	if ((root = campaign_slot_write_begin(call, &a, tz)) == NULL)
		return;
	errors = cJSON_CreateObject();
	n = slot_series_generate(call->db, root, tz, &l, errors);
	cJSON_Delete(root);
	if (n == 0 && l.n == 0) {
		cJSON_AddStringToObject(errors, "jours", "Cette série ne donne aucun créneau : "
		    "vérifiez les dates, les jours et les dates exclues.");
		n = 1;
	}
	if (n != 0)
		campaign_write_fail(call, n < 0 ? ERR_NONE : ERR_VALIDATION, "errors", errors);
	else
		campaign_slots_answer(call, a.id, &l, false);
	cJSON_Delete(errors);
	slot_list_free(&l);
}

void
handle_slot_remove(struct call *call)
{
	struct campaign_address a;
	const char *params[2];
	PGresult *locked, *res;
	long long found = 0, removed = 0;
	cJSON *o;

	if (!campaign_address_parse(call->req->uri, &a) || a.sid[0] == '\0') {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	if (!campaign_origin_ok(call) || !campaign_write_begin(call, a.id, &locked))
		return;
	PQclear(locked);
	params[0] = a.id;
	params[1] = a.sid;
	res = db_exec(call->db, STMT_CAMPAIGN_SLOT_REMOVE, params);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    !db_int(res, 0, "trouves", 0, 1, &found) ||
	    !db_int(res, 0, "retires", 0, 1, &removed)) {
		PQclear(res);
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		return;
	}
	PQclear(res);
	if (found == 0) {
		campaign_write_fail(call, ERR_NOT_FOUND, NULL, NULL);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, removed ? "retire" : "supprime", true);
	campaign_write_commit(call, 200, NULL, o);
	cJSON_Delete(o);
}

