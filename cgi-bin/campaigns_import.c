/* campaigns_import.c — for fiable-campaigns (campaigns.c, campaigns_slots.c):
 *   POST …/N/creneaux/import   a .ics or .csv file (lib/slot_import) → 201 {crees, creneaux}
 *                              or 422 {erreurs:[{ligne, message}]}, nothing stored
 *   PUT  …/N/creneaux/ordre    {"ordre": [sid, ...]}                 → 200 {creneaux} */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "campaign.h"
#include "campaigns.h"
#include "json.h"
#include "respond.h"
#include "slot_import.h"
#include "validate.h"

#define ORDER_MAX 10000

/* text/calendar or text/csv, with optional parameters: 1 and 2, else 0. */
static int
file_kind(const char *content_type)
{
	size_t n;

	if (content_type == NULL)
		return 0;
	n = strcspn(content_type, "; ");
	if (n == 13 && strncasecmp(content_type, "text/calendar", 13) == 0)
		return 1;
	if (n == 8 && strncasecmp(content_type, "text/csv", 8) == 0)
		return 2;
	return 0;
}

void
handle_slot_import(struct call *call)
{
	struct campaign_address a;
	struct slot_list l = { 0 };
	struct slot_errors errs;
	enum api_error err;
	PGresult *locked;
	char tz[SLOT_TZ_MAX_LEN + 1];
	int kind, n;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	if (!campaign_origin_ok(call))
		return;
	if ((kind = file_kind(call->req->content_type)) == 0) {
		respond_error(call, ERR_UNSUPPORTED_MEDIA_TYPE);
		return;
	}
	if (http_read_body(call->req, call->fcgi->in, SLOT_IMPORT_MAX_BYTES, &err) != 0) {
		respond_error(call, err);
		return;
	}
	if (!slot_errors_init(&errs)) {
		respond_error(call, ERR_INTERNAL);
		return;
	}
	if (!campaign_write_begin(call, a.id, &locked)) {
		slot_errors_free(&errs);
		return;
	}
	snprintf(tz, sizeof(tz), "%s", db_text_or(locked, 0, "fuseau", "UTC"));
	PQclear(locked);
	n = kind == 1 ? slot_ics_parse(call->req->body, call->req->body_len, tz, &l, &errs) :
	    slot_csv_import(call->db, call->req->body, call->req->body_len, tz, &l, &errs);
	if (n == 0 && l.n == 0) {
		slot_errors_add(&errs, 0, NULL, "Le fichier ne contient aucun créneau.");
		n = 1;
	}
	if (n != 0)
		campaign_write_fail(call, n < 0 ? ERR_NONE : ERR_SLOT_IMPORT_INVALID, "erreurs",
		    errs.array);
	else
		campaign_slots_answer(call, a.id, &l, false);
	slot_errors_free(&errs);
	slot_list_free(&l);
}

/* {"ordre": [sid, ...]}: distinct slot ids of the campaign; a faulty member in errors. */
static bool
order_parse(const cJSON *root, cJSON *errors)
{
	static const char *const members[] = { "ordre" };
	const cJSON *order = cJSON_GetObjectItemCaseSensitive(root, "ordre"), *s, *t;
	int n = 0;

	if (json_unknown_members(root, members, 1, errors) != 0)
		return false;
	if (!cJSON_IsArray(order) || cJSON_GetArraySize(order) < 1 ||
	    cJSON_GetArraySize(order) > ORDER_MAX)
		goto bad;
	cJSON_ArrayForEach(s, order) {
		if (!cJSON_IsString(s) || !valid_slot_id(s->valuestring))
			goto bad;
		for (t = order->child; t != s; t = t->next)
			if (strcmp(t->valuestring, s->valuestring) == 0)
				goto bad;
		n++;
	}
	return n > 0;
bad:
	cJSON_AddStringToObject(errors, "ordre", "Liste attendue : les identifiants des "
	    "créneaux de la campagne, chacun une fois, dans l’ordre voulu.");
	return false;
}

void
handle_slot_order(struct call *call)
{
	struct campaign_address a;
	char tz[SLOT_TZ_MAX_LEN + 1];
	const char *params[2];
	char *ids = NULL;
	cJSON *root, *errors = cJSON_CreateObject(), *o;
	PGresult *res = NULL;

	if ((root = campaign_slot_write_begin(call, &a, tz)) == NULL)
		goto done;
	if (!order_parse(root, errors)) {
		campaign_write_fail(call, ERR_VALIDATION, "errors", errors);
		goto done;
	}
	ids = json_print(cJSON_GetObjectItemCaseSensitive(root, "ordre"));
	params[0] = a.id;
	params[1] = ids;
	res = ids ? db_exec(call->db, STMT_CAMPAIGN_SLOTS_ORDER, params) : NULL;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		goto done;
	}
	if (PQntuples(res) != cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "ordre"))) {
		cJSON_AddStringToObject(errors, "ordre", "Certains de ces créneaux ne sont pas ceux "
		    "de la campagne.");
		campaign_write_fail(call, ERR_VALIDATION, "errors", errors);
		goto done;
	}
	PQclear(res);
	params[1] = NULL;
	res = db_exec(call->db, STMT_CAMPAIGN_SLOTS, params);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		goto done;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "creneaux", campaign_slots_json(res, true));
	campaign_write_commit(call, 200, NULL, o);
	cJSON_Delete(o);
done:
	PQclear(res);
	cJSON_free(ids);
	cJSON_Delete(root);
	cJSON_Delete(errors);
}
