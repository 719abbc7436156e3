#include "slot.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

static const char *const weekdays_fr[8] = {
	"", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
};
static const char *const months_fr[13] = {
	"", "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
	"septembre", "octobre", "novembre", "décembre",
};

bool
slot_list_add(struct slot_list *l, long long starts_at, long long ends_at, const char *label,
    int besoin)
{
	struct slot *s;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct slot *items = realloc(l->items, cap * sizeof(*items));

		if (items == NULL)
			return false;
		l->items = items;
		l->cap = cap;
	}
	s = &l->items[l->n];
	if ((s->label = strdup(label)) == NULL)
		return false;
	s->starts_at = starts_at;
	s->ends_at = ends_at;
	s->besoin = besoin;
	l->n++;
	return true;
}

static int
slot_compare(const void *pa, const void *pb)
{
	const struct slot *a = pa, *b = pb;
	int c;

	if (a->starts_at != b->starts_at)
		return a->starts_at < b->starts_at ? -1 : 1;
	if (a->ends_at != b->ends_at)
		return a->ends_at < b->ends_at ? -1 : 1;
	if ((c = strcmp(a->label, b->label)) != 0)
		return c;
	return (a->besoin > b->besoin) - (a->besoin < b->besoin);
}

void
slot_list_sort(struct slot_list *l)
{
	if (l->n > 1)
		qsort(l->items, l->n, sizeof(*l->items), slot_compare);
}

void
slot_list_free(struct slot_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i].label);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

cJSON *
slot_list_json(const struct slot_list *l)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < l->n; i++) {
		const struct slot *s = &l->items[i];
		char start[21], end[21];
		cJSON *o = cJSON_CreateObject();

		if (o == NULL || !cJSON_AddItemToArray(a, o) ||
		    !slot_utc_format(s->starts_at, start) || !slot_utc_format(s->ends_at, end) ||
		    cJSON_AddStringToObject(o, "debut", start) == NULL ||
		    cJSON_AddStringToObject(o, "fin", end) == NULL ||
		    cJSON_AddStringToObject(o, "libelle", s->label) == NULL ||
		    (s->besoin < 0 ? cJSON_AddNullToObject(o, "besoin") :
		    cJSON_AddNumberToObject(o, "besoin", s->besoin)) == NULL) {
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

bool
slot_local_add(struct slot_local_list *l, const struct local_time *start,
    const struct local_time *end, const char *label, int besoin, int line)
{
	struct slot_local *s;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct slot_local *items = realloc(l->items, cap * sizeof(*items));

		if (items == NULL)
			return false;
		l->items = items;
		l->cap = cap;
	}
	s = &l->items[l->n];
	s->label = NULL;
	if (label != NULL && (s->label = strdup(label)) == NULL)
		return false;
	s->start = *start;
	s->end = *end;
	s->besoin = besoin;
	s->line = line;
	l->n++;
	return true;
}

void
slot_local_free(struct slot_local_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i].label);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian). */
long long
civil_to_days(int year, int month, int day)
{
	long long y = (long long)year - (month <= 2);
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153LL * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
civil_from_days(long long z, int *year, int *month, int *day)
{
	long long era, doe, yoe, doy, mp, y;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = (int)(y + (*month <= 2));
}

int
iso_weekday(long long days)
{
	/* 1970-01-01 was a Thursday (4). */
	long long w = (days + 3) % 7;

	if (w < 0)
		w += 7;
	return (int)w + 1;
}

bool
civil_valid(int year, int month, int day)
{
	static const int mdays[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1)
		return false;
	if (month == 2 && !leap)
		return day <= 28;
	return day <= mdays[month];
}

long long
local_minutes_between(const struct local_time *a, const struct local_time *b)
{
	long long da = civil_to_days(a->year, a->month, a->day);
	long long db = civil_to_days(b->year, b->month, b->day);

	return (db - da) * 1440 + (b->hour - a->hour) * 60 + (b->minute - a->minute);
}

bool
slot_digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool
slot_year_ok(int year)
{
	return year >= SLOT_YEAR_MIN && year <= SLOT_YEAR_MAX;
}

bool
local_date_parse(const char *s, struct local_time *out)
{
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !slot_digits(s, 4, &y) ||
	    !slot_digits(s + 5, 2, &m) || !slot_digits(s + 8, 2, &d) || !civil_valid(y, m, d) ||
	    !slot_year_ok(y))
		return false;
	memset(out, 0, sizeof(*out));
	out->year = y;
	out->month = m;
	out->day = d;
	return true;
}

bool
local_hm_parse(const char *s, int *hour, int *minute)
{
	int h, m;

	if (strlen(s) != 5 || s[2] != ':' || !slot_digits(s, 2, &h) || !slot_digits(s + 3, 2, &m) ||
	    h > 23 || m > 59)
		return false;
	*hour = h;
	*minute = m;
	return true;
}

void
local_time_format(const struct local_time *t, char *out, size_t len)
{
	snprintf(out, len, "%04d-%02d-%02d %02d:%02d", t->year, t->month, t->day, t->hour,
	    t->minute);
}

void
local_time_french(const struct local_time *t, char *out, size_t len)
{
	snprintf(out, len, "%02d/%02d/%04d à %02d:%02d", t->day, t->month, t->year, t->hour,
	    t->minute);
}

/* "lundi 30 mars 2026" ("1er" for the first of a month, as French writes it). */
static void
french_date(const struct local_time *t, char *out, size_t len)
{
	int wd = iso_weekday(civil_to_days(t->year, t->month, t->day));

	snprintf(out, len, "%s %d%s %s %d", weekdays_fr[wd], t->day, t->day == 1 ? "er" : "",
	    months_fr[t->month], t->year);
}

void
slot_label_default(const struct local_time *start, const struct local_time *end, char *out,
    size_t len)
{
	char a[64], b[64];

	french_date(start, a, sizeof(a));
	if (start->year == end->year && start->month == end->month && start->day == end->day) {
		snprintf(out, len, "%s, %02d:%02d\u2013%02d:%02d", a, start->hour, start->minute,
		    end->hour, end->minute);
		return;
	}
	french_date(end, b, sizeof(b));
	snprintf(out, len, "%s, %02d:%02d \u2013 %s, %02d:%02d", a, start->hour, start->minute,
	    b, end->hour, end->minute);
}

bool
slot_utc_format(long long t, char out[21])
{
	long long days, secs;
	int y, m, d;

	/* 0001-01-01 to 9999-12-31 */
	if (t < -62135596800LL || t > 253402300799LL)
		return false;
	days = t / 86400;
	secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	/* The bounds above keep every field to its width; the unsigned casts and modulos say
	 * so to the compiler (-Wformat-truncation at -O2). */
	snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y % 10000u,
	    (unsigned)m % 100u, (unsigned)d % 100u, (unsigned)(secs / 3600) % 100u,
	    (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
	return true;
}

bool
slot_tz_name_valid(const char *name)
{
	size_t len = strlen(name), i;
	bool segment_start = true;
	int segments = 1;

	if (strcmp(name, "UTC") == 0)
		return true;
	if (len == 0 || len > SLOT_TZ_MAX_LEN)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

		if (c == '/') {
			if (segment_start)
				return false;
			segment_start = true;
			segments++;
			continue;
		}
		if (segment_start ? !letter :
		    !(letter || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-'))
			return false;
		segment_start = false;
	}
	return !segment_start && segments >= 2;
}

/* The row of ordinal n (1-based) of the conversion, its UTC instant or false for none. */
static bool
resolved_at(const PGresult *res, int row, long long want, long long *utc, bool *exists)
{
	long long n;

	if (!db_int(res, row, "n", 1, (long long)INT32_MAX, &n) || n != want)
		return false;
	*exists = !db_is_null(res, row, "utc");
	if (*exists && !db_int(res, row, "utc", -62135596800LL, 253402300799LL, utc))
		return false;
	return true;
}

int
slot_local_resolve(struct db *db, const char *tz, const struct slot_local_list *in,
    struct slot_list *out, slot_report_fn report, void *ctx)
{
	cJSON *times = NULL;
	char *json = NULL;
	PGresult *res = NULL;
	struct slot_list got = { 0 };
	int faults = 0, rc = -1;
	size_t i;

	if (in->n > SLOT_BATCH_MAX || (times = cJSON_CreateArray()) == NULL)
		goto fail;
	for (i = 0; i < in->n; i++) {
		char a[32], b[32];

		local_time_format(&in->items[i].start, a, sizeof(a));
		local_time_format(&in->items[i].end, b, sizeof(b));
		if (!cJSON_AddItemToArray(times, cJSON_CreateString(a)) ||
		    !cJSON_AddItemToArray(times, cJSON_CreateString(b)))
			goto fail;
	}
	if ((json = cJSON_PrintUnformatted(times)) == NULL)
		goto fail;
	{
		const char *params[2] = { json, tz };

		res = db_query(db, STMT_SLOT_LOCAL_TO_UTC, params);
	}
	if (!db_ok(res)) {
		/* 22023: "time zone ... not recognized" */
		if (res != NULL && strcmp(db_sqlstate(res), "22023") == 0) {
			char msg[160];

			snprintf(msg, sizeof(msg), "Fuseau horaire inconnu : « %s ».", tz);
			report(ctx, NULL, msg);
			rc = -2;
		} else {
			log_warn("%s: %s", __func__, db_error(db));
		}
		goto fail;
	}
	if ((size_t)PQntuples(res) != 2 * in->n) {
		log_warn("%s: %d rows for %zu times", __func__, PQntuples(res), 2 * in->n);
		goto fail;
	}
	for (i = 0; i < in->n; i++) {
		const struct slot_local *s = &in->items[i];
		long long su = 0, eu = 0;
		bool se, ee;
		char msg[256], when[64], label[160];

		if (!resolved_at(res, (int)(2 * i), (long long)(2 * i + 1), &su, &se) ||
		    !resolved_at(res, (int)(2 * i + 1), (long long)(2 * i + 2), &eu, &ee))
			goto fail;
		if (!se || !ee) {
			local_time_french(!se ? &s->start : &s->end, when, sizeof(when));
			snprintf(msg, sizeof(msg), "Le %s n’existe pas dans le fuseau %s "
			    "(changement d’heure) : choisissez une autre heure ou sautez cette date.",
			    when, tz);
			report(ctx, s, msg);
			faults++;
			continue;
		}
		if (eu <= su) {
			report(ctx, s, "Le créneau doit finir après son début.");
			faults++;
			continue;
		}
		if (faults > 0)
			continue;
		if (s->label == NULL)
			slot_label_default(&s->start, &s->end, label, sizeof(label));
		if (!slot_list_add(&got, su, eu, s->label != NULL ? s->label : label, s->besoin))
			goto fail;
	}
	if (faults > 0) {
		rc = faults;
		goto fail;
	}
	for (i = 0; i < got.n; i++) {
		if (!slot_list_add(out, got.items[i].starts_at, got.items[i].ends_at,
		    got.items[i].label, got.items[i].besoin))
			goto fail;
	}
	rc = 0;
fail:
	slot_list_free(&got);
	PQclear(res);
	cJSON_free(json);
	cJSON_Delete(times);
	return rc;
}

bool
slot_errors_init(struct slot_errors *e)
{
	e->count = 0;
	return (e->array = cJSON_CreateArray()) != NULL;
}

void
slot_errors_add(struct slot_errors *e, int line, const char *event, const char *message)
{
	cJSON *o;

	e->count++;
	if (e->count > SLOT_ERRORS_MAX + 1)
		return;
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	if (e->count == SLOT_ERRORS_MAX + 1) {
		cJSON_AddStringToObject(o, "message", "… et d’autres erreurs.");
	} else {
		if (line > 0)
			cJSON_AddNumberToObject(o, "ligne", line);
		if (event != NULL)
			cJSON_AddStringToObject(o, "evenement", event);
		cJSON_AddStringToObject(o, "message", message);
	}
	cJSON_AddItemToArray(e->array, o);
}

void
slot_errors_free(struct slot_errors *e)
{
	cJSON_Delete(e->array);
	e->array = NULL;
	e->count = 0;
}
