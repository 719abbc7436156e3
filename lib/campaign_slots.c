/* campaign_slots.c — the slots of a campaign: one slot of a request checked and converted,
 * batches inserted, a campaign's slots copied some weeks later. */
#include "campaign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "validate.h"

static const char *const slot_members[] = { "debut", "fin", "libelle", "besoin" };

/* A time that campaign_time_valid accepted, split: local wall clock, seconds, and the offset
 * when it has one. */
/* n decimal digits (already checked) as a number. */
static int
digits_value(const char *s, int n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

static void
time_split(const char *s, struct local_time *t, int *sec, bool *has_offset, int *offset)
{
	size_t rest = 16;

	t->year = digits_value(s, 4);	/* checked digits, fixed widths */
	t->month = digits_value(s + 5, 2);
	t->day = digits_value(s + 8, 2);
	t->hour = digits_value(s + 11, 2);
	t->minute = digits_value(s + 14, 2);
	*sec = 0;
	if (s[rest] == ':') {
		*sec = digits_value(s + rest + 1, 2);
		rest += 3;
	}
	*has_offset = s[rest] != '\0';
	*offset = 0;
	if (s[rest] == '+' || s[rest] == '-')
		*offset = (s[rest] == '-' ? -1 : 1) *
		    (digits_value(s + rest + 1, 2) * 3600 + digits_value(s + rest + 4, 2) * 60);
}

static long long
time_utc(const struct local_time *t, int sec, int offset)
{
	return civil_to_days(t->year, t->month, t->day) * 86400LL + t->hour * 3600LL +
	    t->minute * 60LL + sec - offset;
}

struct report_ctx {
	cJSON *errors;
	int n;
};

static void
report_fault(void *ctx, const struct slot_local *slot, const char *message)
{
	struct report_ctx *r = ctx;

	(void)slot;
	if (r->n++ == 0)
		cJSON_AddStringToObject(r->errors, "debut", message);
}

int
campaign_slot_parse(struct db *db, const cJSON *root, const char *tz, struct slot_list *out,
    cJSON *errors)
{
	static const char time_msg[] = "Heure invalide : écrivez par exemple 2026-03-30T09:00 "
	    "(heure du fuseau de la campagne) ou 2026-03-30T09:00:00+02:00.";
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "debut");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, "fin");
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(root, "libelle");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "besoin");
	struct local_time ts, te;
	int n, ss = 0, se = 0, os = 0, oe = 0, besoin = -1;
	bool offs = false, offe = false;
	char *label = NULL;

	if ((n = json_unknown_members(root, slot_members,
	    sizeof(slot_members) / sizeof(slot_members[0]), errors)) < 0)
		return -1;
	if (!cJSON_IsString(d) || !campaign_time_valid(d->valuestring)) {
		cJSON_AddStringToObject(errors, "debut", time_msg);
		n++;
	}
	if (!cJSON_IsString(f) || !campaign_time_valid(f->valuestring)) {
		cJSON_AddStringToObject(errors, "fin", time_msg);
		n++;
	}
	if (l != NULL && !cJSON_IsNull(l)) {
		long len = cJSON_IsString(l) ? utf8_text_length(l->valuestring, false) : -1;
		if (len >= 1 && len <= SLOT_LABEL_MAX_CHARS)
			label = trim_dup(l->valuestring);
		if (label == NULL || label[0] == '\0') {
			cJSON_AddStringToObject(errors, "libelle", "Libellé invalide : de 1 à 200 "
			    "caractères sur une ligne (ou absent : le libellé par défaut).");
			n++;
		}
	}
	if (b != NULL && !cJSON_IsNull(b)) {
		if (!cJSON_IsNumber(b) || b->valuedouble != (double)(int)b->valuedouble ||
		    b->valuedouble < 1 || b->valuedouble > SLOT_BESOIN_MAX) {
			cJSON_AddStringToObject(errors, "besoin", "Nombre de personnes invalide : un "
			    "entier de 1 à 10 000, ou rien.");
			n++;
		} else
			besoin = (int)b->valuedouble;
	}
	if (n > 0)
		goto done;
	time_split(d->valuestring, &ts, &ss, &offs, &os);
	time_split(f->valuestring, &te, &se, &offe, &oe);
	if (offs != offe) {
		cJSON_AddStringToObject(errors, "fin", "Écrivez le début et la fin de la même façon : "
		    "tous deux en heure locale, ou tous deux avec leur décalage.");
		n++;
	} else if (offs) {
		long long a = time_utc(&ts, ss, os), z = time_utc(&te, se, oe);
		if (label == NULL) {
			cJSON_AddStringToObject(errors, "libelle", "Libellé obligatoire quand les heures "
			    "portent leur décalage.");
			n++;
		} else if (z <= a) {
			cJSON_AddStringToObject(errors, "fin", "La fin doit venir après le début.");
			n++;
		} else if (!slot_list_add(out, a, z, label, besoin))
			n = -1;
	} else {
		struct slot_local_list in = { 0 };
		struct report_ctx r = { errors, 0 };
		int rc;

		if (ss != 0 || se != 0) {
			cJSON_AddStringToObject(errors, "debut", "Heure locale à la minute près.");
			n++;
			goto done;
		}
		if (!slot_local_add(&in, &ts, &te, label, besoin, 0)) {
			n = -1;
			goto done;
		}
		rc = slot_local_resolve(db, tz, &in, out, report_fault, &r);
		slot_local_free(&in);
		n = rc == -2 ? 1 : rc;
		if (rc == -2)
			cJSON_AddStringToObject(errors, "fuseau", "Fuseau de la campagne inconnu.");
	}
done:
	free(label);
	return n;
}

char *
campaign_slots_payload(const struct slot_list *l, const int *positions)
{
	cJSON *a = cJSON_CreateArray();
	char *text;
	size_t i;

	for (i = 0; a != NULL && i < l->n; i++) {
		const struct slot *s = &l->items[i];
		cJSON *o = cJSON_CreateObject();
		if (o == NULL || !cJSON_AddItemToArray(a, o)) {
			cJSON_Delete(o);
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddNumberToObject(o, "debut", (double)s->starts_at);
		cJSON_AddNumberToObject(o, "fin", (double)s->ends_at);
		cJSON_AddStringToObject(o, "libelle", s->label);
		if (s->besoin > 0)
			cJSON_AddNumberToObject(o, "besoin", s->besoin);
		if (positions != NULL)
			cJSON_AddNumberToObject(o, "position", positions[i]);
	}
	text = a ? json_print(a) : NULL;
	cJSON_Delete(a);
	return text;
}

cJSON *
campaign_slots_insert(struct db *db, const char *id, const struct slot_list *l,
    const int *positions)
{
	char *payload = campaign_slots_payload(l, positions);
	const char *params[2] = { id, payload };
	PGresult *res;
	cJSON *a = NULL;

	if (payload == NULL)
		return NULL;
	res = db_exec(db, STMT_CAMPAIGN_SLOTS_INSERT, params);
	cJSON_free(payload);
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    (size_t)PQntuples(res) == l->n)
		a = campaign_slots_json(res, false);
	else
		log_error("créneaux non ajoutés à la campagne %s : %s", id,
		    res ? PQresultErrorMessage(res) : db_error(db));
	PQclear(res);
	return a;
}

void
slot_counts_compact(struct db *db)
{
	PGresult *res = db_query(db, STMT_SLOT_COUNTS_COMPACT, NULL);

	if (!db_ok(res) && !db_lost(db))
		log_error("comptes des créneaux non tassés : %s",
		    res ? PQresultErrorMessage(res) : db_error(db));
	PQclear(res);
}

/* "2026-03-30 09:00" to a local time. */
static bool
local_parse(const char *s, struct local_time *t)
{
	char date[11];

	if (s == NULL || strlen(s) != 16)
		return false;
	memcpy(date, s, 10);
	date[10] = '\0';
	return local_date_parse(date, t) && local_hm_parse(s + 11, &t->hour, &t->minute);
}

static void
local_shift_days(struct local_time *t, long long days)
{
	civil_from_days(civil_to_days(t->year, t->month, t->day) + days, &t->year, &t->month,
	    &t->day);
}

int
campaign_slots_duplicate(struct db *db, const char *from, const char *to, int weeks)
{
	char w[8], label[256];
	const char *params[2] = { from, w };
	struct slot_list l = { 0 };
	PGresult *res;
	int *positions = NULL, i, n = -1;
	cJSON *created;

	snprintf(w, sizeof(w), "%d", weeks);
	res = db_exec(db, STMT_CAMPAIGN_SLOTS_SHIFTED, params);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		goto done;
	if (PQntuples(res) == 0) {
		n = 0;
		goto done;
	}
	if ((positions = calloc((size_t)PQntuples(res), sizeof(*positions))) == NULL)
		goto done;
	for (i = 0; i < PQntuples(res); i++) {
		const char *text = db_text(res, i, "label");
		struct local_time a, z;
		long long s, e, pos, besoin = -1;

		if (!db_int(res, i, "debut", -(1LL << 40), 1LL << 40, &s) ||
		    !db_int(res, i, "fin", -(1LL << 40), 1LL << 40, &e) ||
		    !db_int(res, i, "position", 0, 1000000, &pos) ||
		    (!db_is_null(res, i, "besoin") &&
		    !db_int(res, i, "besoin", 1, SLOT_BESOIN_MAX, &besoin)) || text == NULL)
			goto done;
		/* A default label names its date: it follows the slot. */
		if (local_parse(db_text(res, i, "debut_local"), &a) &&
		    local_parse(db_text(res, i, "fin_local"), &z)) {
			slot_label_default(&a, &z, label, sizeof(label));
			if (strcmp(label, text) == 0) {
				local_shift_days(&a, 7LL * weeks);
				local_shift_days(&z, 7LL * weeks);
				slot_label_default(&a, &z, label, sizeof(label));
				text = label;
			}
		}
		positions[i] = (int)pos;
		if (!slot_list_add(&l, s, e, text, (int)besoin))
			goto done;
	}
	if ((created = campaign_slots_insert(db, to, &l, positions)) != NULL) {
		n = cJSON_GetArraySize(created);
		cJSON_Delete(created);
	}
done:
	PQclear(res);
	free(positions);
	slot_list_free(&l);
	return n;
}
