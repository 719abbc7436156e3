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

/* The slots of l inserted and answered: 201 {"crees": n, "creneaux": [...]}, or the
 * first of them alone (one). Frees nothing. */
static void
insert_and_answer(struct call *call, const char *id, const struct slot_list *l, bool one)
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

/* Reads the body and the address, starts the write: the campaign's zone into tz. */
static cJSON *
slot_write_begin(struct call *call, struct campaign_address *a, char tz[SLOT_TZ_MAX_LEN + 1])
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

	if ((root = slot_write_begin(call, &a, tz)) == NULL)
		return;
	errors = cJSON_CreateObject();
	n = campaign_slot_parse(call->db, root, tz, &l, errors);
	cJSON_Delete(root);
	if (n != 0) {
		campaign_write_fail(call, n < 0 ? ERR_NONE : ERR_VALIDATION, "errors", errors);
	} else if (!edit) {
		insert_and_answer(call, a.id, &l, true);
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

	if ((root = slot_write_begin(call, &a, tz)) == NULL)
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
		insert_and_answer(call, a.id, &l, false);
	cJSON_Delete(errors);
	slot_list_free(&l);
}

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
		insert_and_answer(call, a.id, &l, false);
	slot_errors_free(&errs);
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
	    "créneaux de la campagne, chacun une fois, dans l'ordre voulu.");
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

	if ((root = slot_write_begin(call, &a, tz)) == NULL)
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
