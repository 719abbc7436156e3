/* campaign_json.c — what the admin API answers of campaigns and slots (campaign.h). */
#include "campaign.h"

#include <stdio.h>

static void
add_text(cJSON *o, const PGresult *res, int row, const char *column)
{
	const char *v = db_text(res, row, column);

	if (v == NULL)
		cJSON_AddNullToObject(o, column);
	else
		cJSON_AddStringToObject(o, column, v);
}

static void
add_number_or_null(cJSON *o, const PGresult *res, int row, const char *column)
{
	if (db_is_null(res, row, column))
		cJSON_AddNullToObject(o, column);
	else
		cJSON_AddNumberToObject(o, column, db_number(res, row, column));
}

/* The members every representation of a campaign has. */
static cJSON *
campaign_item(const PGresult *res, int row, bool full)
{
	cJSON *o = cJSON_CreateObject();
	char address[80];

	cJSON_AddNumberToObject(o, "id", db_number(res, row, "id"));
	add_text(o, res, row, "slug");
	add_text(o, res, row, "titre");
	if (full) {
		add_text(o, res, row, "introduction");
		add_text(o, res, row, "fuseau");
	}
	add_text(o, res, row, "etat");
	add_text(o, res, row, "phase");
	add_text(o, res, row, "ouverture");
	add_text(o, res, row, "fermeture");
	if (full) {
		cJSON_AddNumberToObject(o, "delai_grace_minutes",
		    db_number(res, row, "delai_grace_minutes"));
		add_text(o, res, row, "modification_jusqu_a");
	}
	cJSON_AddNumberToObject(o, "version", db_number(res, row, "version"));
	snprintf(address, sizeof(address), "/c/%s/", db_text_or(res, row, "slug", ""));
	cJSON_AddStringToObject(o, "adresse", address);
	return o;
}

cJSON *
campaign_list_json(struct db *db)
{
	PGresult *res = db_query(db, STMT_CAMPAIGN_LIST, NULL);
	cJSON *o, *list;
	int i;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return NULL;
	}
	o = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(o, "campagnes");
	for (i = 0; i < PQntuples(res); i++) {
		cJSON *c = campaign_item(res, i, false);
		cJSON_AddNumberToObject(c, "reponses", db_number(res, i, "reponses"));
		cJSON_AddNumberToObject(c, "en_retard", db_number(res, i, "en_retard"));
		cJSON_AddItemToArray(list, c);
	}
	PQclear(res);
	return o;
}

cJSON *
campaign_row_json(const PGresult *res)
{
	return campaign_item(res, 0, true);
}

cJSON *
campaign_slots_json(const PGresult *res, bool with_counts)
{
	cJSON *a = cJSON_CreateArray();
	int i;

	for (i = 0; i < PQntuples(res); i++) {
		cJSON *s = cJSON_CreateObject();
		add_text(s, res, i, "id");
		add_text(s, res, i, "debut");
		add_text(s, res, i, "fin");
		add_text(s, res, i, "libelle");
		cJSON_AddNumberToObject(s, "position", db_number(res, i, "position"));
		add_number_or_null(s, res, i, "besoin");
		if (with_counts) {
			cJSON_AddBoolToObject(s, "retire", db_bool(res, i, "retire"));
			/* Absent from a matrix page read with comptes=non. */
			if (PQfnumber(res, "disponibles") >= 0)
				cJSON_AddNumberToObject(s, "disponibles",
				    db_number(res, i, "disponibles"));
		}
		cJSON_AddItemToArray(a, s);
	}
	return a;
}

cJSON *
campaign_load_json(struct db *db, const char *id, bool *found, long *version)
{
	const char *params[1] = { id };
	PGresult *res = db_query(db, STMT_CAMPAIGN_GET, params), *slots;
	cJSON *o;
	long long v = 0;

	*found = true;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return NULL;
	}
	if (PQntuples(res) == 0) {
		*found = false;
		PQclear(res);
		return NULL;
	}
	o = campaign_row_json(res);
	db_int(res, 0, "version", 1, 2147483647, &v);
	*version = (long)v;
	PQclear(res);
	slot_counts_compact(db);
	slots = db_query(db, STMT_CAMPAIGN_SLOTS, params);
	if (slots == NULL || PQresultStatus(slots) != PGRES_TUPLES_OK) {
		PQclear(slots);
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_AddItemToObject(o, "creneaux", campaign_slots_json(slots, true));
	PQclear(slots);
	return o;
}

void
campaign_etag(long version, char *out, size_t cap)
{
	snprintf(out, cap, "ETag: \"v%ld\"\r\n", version);
}
