#include "roster.h"

#include <string.h>
#include <time.h>

#include "campaign.h"

bool
roster_open(struct db *db, const char *tz, bool all, struct roster *ro)
{
	const char *params[1] = { tz };
	PGresult *res;

	ro->db = db;
	ro->slots = NULL;
	ro->open = false;
	ro->active = ro->withdrawn = 0;
	ro->first = true;
	slot_counts_compact(db);
	if (!db_begin(db))
		return false;
	ro->open = true;
	res = db_exec(db, STMT_CAMPAIGN_EXPORT_SNAPSHOT, NULL);
	if (!db_ok(res)) {
		PQclear(res);
		return false;
	}
	PQclear(res);
	ro->slots = db_exec(db, STMT_ADMIN_SLOTS, params);
	if (!db_ok(ro->slots))
		return false;
	res = db_exec(db, all ? STMT_ADMIN_SUBMISSIONS : STMT_ADMIN_SUBMISSIONS_ACTIVE, NULL);
	if (!db_ok(res)) {
		PQclear(res);
		return false;
	}
	PQclear(res);
	return true;
}

PGresult *
roster_fetch(struct roster *ro)
{
	PGresult *res = db_exec(ro->db, STMT_ADMIN_SUBMISSIONS_FETCH, NULL);

	if (!db_ok(res)) {
		PQclear(res);
		return NULL;
	}
	return res;
}

void
roster_close(struct roster *ro, bool ok)
{
	PQclear(ro->slots);
	ro->slots = NULL;
	if (!ro->open)
		return;
	ro->open = false;
	if (ok) {
		PQclear(db_exec(ro->db, STMT_ADMIN_SUBMISSIONS_CLOSE, NULL));
		if (db_commit(ro->db))
			return;
	}
	db_rollback(ro->db);
}

/* Appends the unformatted JSON of o to t (and frees o). */
static void
add_json(struct buf *t, cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);

	if (text == NULL)
		t->failed = true;
	else
		buf_adds(t, text);
	cJSON_free(text);
	cJSON_Delete(o);
}

void
roster_json_head(struct roster *ro, struct buf *t)
{
	cJSON *slots = cJSON_CreateArray();
	int i;

	for (i = 0; i < PQntuples(ro->slots); i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "id", db_text(ro->slots, i, "id"));
		cJSON_AddStringToObject(c, "libelle", db_text(ro->slots, i, "libelle"));
		cJSON_AddStringToObject(c, "debut", db_text(ro->slots, i, "debut"));
		cJSON_AddStringToObject(c, "fin", db_text(ro->slots, i, "fin"));
		cJSON_AddStringToObject(c, "jour", db_text(ro->slots, i, "jour"));
		cJSON_AddStringToObject(c, "titre", db_text(ro->slots, i, "titre"));
		cJSON_AddNumberToObject(c, "disponibles", db_number(ro->slots, i, "disponibles"));
		cJSON_AddItemToArray(slots, c);
	}
	buf_adds(t, "{\"creneaux\":");
	add_json(t, slots);
	buf_adds(t, ",\"soumissions\":[");
	ro->first = true;
}

void
roster_json_rows(struct roster *ro, const PGresult *people, struct buf *t)
{
	int i;

	for (i = 0; i < PQntuples(people); i++) {
		cJSON *p = cJSON_CreateObject();
		bool withdrawn = !db_is_null(people, i, "deleted_at");
		cJSON_AddNumberToObject(p, "id", db_number(people, i, "id"));
		cJSON_AddStringToObject(p, "email", db_text(people, i, "email"));
		cJSON_AddStringToObject(p, "nom", db_text(people, i, "nom"));
		cJSON_AddItemToObject(p, "creneaux", cJSON_Parse(db_text(people, i, "creneaux")));
		cJSON_AddStringToObject(p, "commentaire", db_text(people, i, "commentaire"));
		cJSON_AddNumberToObject(p, "version", db_number(people, i, "version"));
		cJSON_AddStringToObject(p, "created_at", db_text(people, i, "created_at"));
		cJSON_AddStringToObject(p, "updated_at", db_text(people, i, "updated_at"));
		if (withdrawn)
			cJSON_AddStringToObject(p, "deleted_at", db_text(people, i, "deleted_at"));
		else
			cJSON_AddNullToObject(p, "deleted_at");
		if (withdrawn)
			ro->withdrawn++;
		else
			ro->active++;
		if (!ro->first)
			buf_add(t, ",", 1);
		ro->first = false;
		add_json(t, p);
	}
}

void
roster_json_tail(const struct roster *ro, struct buf *t)
{
	buf_printf(t, "],\"actives\":%lld,\"retirees\":%lld}", ro->active, ro->withdrawn);
}

void
roster_csv_field(struct buf *t, const char *v, bool first)
{
	if (!first)
		buf_add(t, ";", 1);
	buf_add(t, "\"", 1);
	if (strchr("=+-@\t\r", v[0]) != NULL && v[0] != '\0')
		buf_add(t, "'", 1);
	for (; *v != '\0'; v++) {
		if (*v == '"')
			buf_add(t, "\"\"", 2);
		else
			buf_add(t, v, 1);
	}
	buf_add(t, "\"", 1);
}

/* True when the JSON array text `slots` holds the string id (the list is short). */
static bool
has_slot(const cJSON *slots, const char *id)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, slots)
		if (cJSON_IsString(s) && strcmp(s->valuestring, id) == 0)
			return true;
	return false;
}

void
roster_csv_head(const struct roster *ro, struct buf *t)
{
	int j;

	buf_add(t, "\xEF\xBB\xBF", 3);
	roster_csv_field(t, "Nom", true);
	roster_csv_field(t, "E-mail", false);
	for (j = 0; j < PQntuples(ro->slots); j++)
		roster_csv_field(t, db_text(ro->slots, j, "titre"), false);
	roster_csv_field(t, "Commentaire", false);
	buf_add(t, "\r\n", 2);
}

void
roster_csv_rows(const struct roster *ro, const PGresult *people, struct buf *t)
{
	int i, j;

	for (i = 0; i < PQntuples(people); i++) {
		cJSON *slots;
		if (!db_is_null(people, i, "deleted_at"))
			continue;	/* withdrawn */
		slots = cJSON_Parse(db_text(people, i, "creneaux"));
		roster_csv_field(t, db_text(people, i, "nom"), true);
		roster_csv_field(t, db_text(people, i, "email"), false);
		for (j = 0; j < PQntuples(ro->slots); j++)
			roster_csv_field(t, has_slot(slots, db_text(ro->slots, j, "id")) ? "oui" : "", false);
		roster_csv_field(t, db_text(people, i, "commentaire"), false);
		buf_add(t, "\r\n", 2);
		cJSON_Delete(slots);
	}
}

void
roster_csv_tail(const struct roster *ro, struct buf *t)
{
	int j;

	roster_csv_field(t, "Personnes disponibles", true);
	roster_csv_field(t, "", false);
	for (j = 0; j < PQntuples(ro->slots); j++)
		roster_csv_field(t, db_text(ro->slots, j, "disponibles"), false);
	roster_csv_field(t, "", false);
	buf_add(t, "\r\n", 2);
}

void
roster_csv_name(char *name, size_t cap)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(name, cap, "disponibilites-%Y-%m-%d.csv", &tm);
}
