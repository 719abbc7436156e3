#include "roster.h"

#include <string.h>
#include <time.h>

bool
roster_load(struct db *db, const char *tz, struct roster *ro)
{
	const char *params[1] = { tz };

	ro->people = NULL;
	ro->slots = db_query(db, STMT_ADMIN_SLOTS, params);
	if (!db_ok(ro->slots))
		return false;
	ro->people = db_query(db, STMT_ADMIN_SUBMISSIONS, NULL);
	return db_ok(ro->people);
}

void
roster_free(struct roster *ro)
{
	PQclear(ro->slots);
	PQclear(ro->people);
}

cJSON *
roster_json(const struct roster *ro)
{
	cJSON *o = cJSON_CreateObject(), *slots, *people;
	int i, active = 0;

	slots = cJSON_AddArrayToObject(o, "creneaux");
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
	people = cJSON_AddArrayToObject(o, "soumissions");
	for (i = 0; i < PQntuples(ro->people); i++) {
		cJSON *p = cJSON_CreateObject();
		bool withdrawn = !db_is_null(ro->people, i, "deleted_at");
		cJSON_AddNumberToObject(p, "id", db_number(ro->people, i, "id"));
		cJSON_AddStringToObject(p, "email", db_text(ro->people, i, "email"));
		cJSON_AddStringToObject(p, "nom", db_text(ro->people, i, "nom"));
		cJSON_AddItemToObject(p, "creneaux", cJSON_Parse(db_text(ro->people, i, "creneaux")));
		cJSON_AddStringToObject(p, "commentaire", db_text(ro->people, i, "commentaire"));
		cJSON_AddNumberToObject(p, "version", db_number(ro->people, i, "version"));
		cJSON_AddStringToObject(p, "created_at", db_text(ro->people, i, "created_at"));
		cJSON_AddStringToObject(p, "updated_at", db_text(ro->people, i, "updated_at"));
		if (withdrawn)
			cJSON_AddStringToObject(p, "deleted_at", db_text(ro->people, i, "deleted_at"));
		else
			cJSON_AddNullToObject(p, "deleted_at");
		active += !withdrawn;
		cJSON_AddItemToArray(people, p);
	}
	cJSON_AddNumberToObject(o, "actives", active);
	cJSON_AddNumberToObject(o, "retirees", PQntuples(ro->people) - active);
	return o;
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
roster_csv(const struct roster *ro, struct buf *t)
{
	int i, j;

	buf_add(t, "\xEF\xBB\xBF", 3);
	roster_csv_field(t, "Nom", true);
	roster_csv_field(t, "E-mail", false);
	for (j = 0; j < PQntuples(ro->slots); j++)
		roster_csv_field(t, db_text(ro->slots, j, "titre"), false);
	roster_csv_field(t, "Commentaire", false);
	buf_add(t, "\r\n", 2);
	for (i = 0; i < PQntuples(ro->people); i++) {
		cJSON *slots;
		if (!db_is_null(ro->people, i, "deleted_at"))
			continue;	/* withdrawn */
		slots = cJSON_Parse(db_text(ro->people, i, "creneaux"));
		roster_csv_field(t, db_text(ro->people, i, "nom"), true);
		roster_csv_field(t, db_text(ro->people, i, "email"), false);
		for (j = 0; j < PQntuples(ro->slots); j++)
			roster_csv_field(t, has_slot(slots, db_text(ro->slots, j, "id")) ? "oui" : "", false);
		roster_csv_field(t, db_text(ro->people, i, "commentaire"), false);
		buf_add(t, "\r\n", 2);
		cJSON_Delete(slots);
	}
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
