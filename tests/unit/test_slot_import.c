/* Slot producers without a database: calendar arithmetic and labels, the series planner,
 * the CSV parser and the iCalendar import (fixtures exported the way Google Calendar,
 * Outlook and Thunderbird write them, in tests/unit/data/). */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "slot.h"
#include "slot_import.h"
#include "slot_series.h"
#include "unit.h"
#include "validate.h"

struct want {
	const char *start, *end, *label;
	int besoin;
};

static char *
read_fixture(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", SLOT_DATA_DIR, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf != NULL) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

static void
check_slots(const char *what, const struct slot_list *got, const struct want *want, size_t n)
{
	size_t i;

	CHECK(got->n == n, "%s : %zu créneaux au lieu de %zu", what, got->n, n);
	for (i = 0; i < n && i < got->n; i++) {
		char a[21], b[21];

		slot_utc_format(got->items[i].starts_at, a);
		slot_utc_format(got->items[i].ends_at, b);
		CHECK(strcmp(a, want[i].start) == 0, "%s [%zu] début %s au lieu de %s", what, i, a,
		    want[i].start);
		CHECK(strcmp(b, want[i].end) == 0, "%s [%zu] fin %s au lieu de %s", what, i, b,
		    want[i].end);
		CHECK(strcmp(got->items[i].label, want[i].label) == 0, "%s [%zu] libellé « %s »",
		    what, i, got->items[i].label);
		CHECK(got->items[i].besoin == want[i].besoin, "%s [%zu] besoin %d", what, i,
		    got->items[i].besoin);
	}
}

static const char *
first_message(const struct slot_errors *e, int *line)
{
	const cJSON *o = cJSON_GetArrayItem(e->array, 0);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "ligne");

	*line = cJSON_IsNumber(l) ? l->valueint : 0;
	return cJSON_IsString(m) ? m->valuestring : "";
}

static void
test_calendar(void)
{
	static const struct {
		int y, m, d, wd;
	} days[] = {
		{ 1970, 1, 1, 4 }, { 2026, 3, 29, 7 }, { 2026, 3, 30, 1 }, { 2026, 10, 25, 7 },
		{ 2000, 2, 29, 2 }, { 1969, 12, 31, 3 }, { 2400, 12, 31, 7 },
	};
	static const struct {
		const char *tz;
		bool ok;
	} zones[] = {
		{ "Europe/Paris", true }, { "UTC", true }, { "Etc/GMT+1", true },
		{ "America/Argentina/Buenos_Aires", true }, { "America/Port-au-Prince", true },
		{ "", false }, { "CET", false }, { "UTC+3", false }, { "EST5EDT", false },
		{ "Europe/", false }, { "/Europe/Paris", false }, { "Europe//Paris", false },
		{ "Europe/../etc", false }, { "Europe/Paris ", false }, { "Europe/Pa'ris", false },
		{ "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Bb", false },
	};
	struct local_time a = { 2026, 3, 30, 9, 0 }, b = { 2026, 3, 30, 12, 0 };
	struct local_time c = { 2026, 4, 1, 22, 0 }, d = { 2026, 4, 2, 2, 0 };
	char label[160], utc[21];
	size_t i;

	for (i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		long long n = civil_to_days(days[i].y, days[i].m, days[i].d);
		int y, m, dd;

		civil_from_days(n, &y, &m, &dd);
		CHECK(y == days[i].y && m == days[i].m && dd == days[i].d, "aller-retour %zu", i);
		CHECK(iso_weekday(n) == days[i].wd, "jour ISO %zu : %d", i, iso_weekday(n));
	}
	CHECK(civil_valid(2028, 2, 29) && !civil_valid(2026, 2, 29) && !civil_valid(2100, 2, 29),
	    "années bissextiles");
	CHECK(!civil_valid(2026, 4, 31) && !civil_valid(2026, 13, 1) && !civil_valid(0, 1, 1),
	    "dates impossibles");
	slot_label_default(&a, &b, label, sizeof(label));
	CHECK(strcmp(label, "lundi 30 mars 2026, 09:00\u201312:00") == 0, "libellé « %s »", label);
	slot_label_default(&c, &d, label, sizeof(label));
	CHECK(strcmp(label, "mercredi 1er avril 2026, 22:00 \u2013 jeudi 2 avril 2026, 02:00") == 0,
	    "libellé sur deux jours « %s »", label);
	CHECK(slot_utc_format(1774854000LL, utc) && strcmp(utc, "2026-03-30T07:00:00Z") == 0,
	    "UTC %s", utc);
	CHECK(slot_utc_format(-1, utc) && strcmp(utc, "1969-12-31T23:59:59Z") == 0, "UTC %s", utc);
	CHECK(!slot_utc_format(253402300800LL, utc), "an 10000 refusé");
	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		CHECK(slot_tz_name_valid(zones[i].tz) == zones[i].ok, "fuseau « %s »", zones[i].tz);

	/* The JSON shape of a list, sorted. */
	{
		struct slot_list l = { 0 };
		cJSON *j;
		char *s;

		slot_list_add(&l, 1774864800LL, 1774875600LL, "Après-midi", 2);
		slot_list_add(&l, 1774854000LL, 1774864800LL, "Matin", -1);
		slot_list_sort(&l);
		j = slot_list_json(&l);
		s = cJSON_PrintUnformatted(j);
		CHECK(s != NULL && strcmp(s, "[{\"debut\":\"2026-03-30T07:00:00Z\","
		    "\"fin\":\"2026-03-30T10:00:00Z\",\"libelle\":\"Matin\",\"besoin\":null},"
		    "{\"debut\":\"2026-03-30T10:00:00Z\",\"fin\":\"2026-03-30T13:00:00Z\","
		    "\"libelle\":\"Après-midi\",\"besoin\":2}]") == 0, "JSON %s", s ? s : "NULL");
		cJSON_free(s);
		cJSON_Delete(j);
		slot_list_free(&l);
	}
}

/* The series without the database: what is laid out, and what is refused (on which member). */
static void
test_series_plan(void)
{
	static const struct {
		const char *json;
		int count;          /* slots laid out, or -1 when refused */
		const char *member; /* the member refused */
		const char *first;  /* first local start "YYYY-MM-DD HH:MM" */
	} cases[] = {
		/* Mon/Wed/Fri over two weeks, one skipped Friday: 5 days × 1 range. */
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-04-03\",\"jours\":[1,3,5],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"12:00\"}],\"sauf\":[\"2026-03-27\"],"
		  "\"fuseau\":\"Europe/Paris\"}", 5, NULL, "2026-03-23 09:00" },
		/* Two ranges given out of order come sorted. */
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-23\",\"jours\":[1],\"plages\":["
		  "{\"debut\":\"14:00\",\"fin\":\"17:00\"},{\"debut\":\"09:00\",\"fin\":\"12:00\"}]}",
		  2, NULL, "2026-03-23 09:00" },
		{ "{\"du\":\"2026-01-01\",\"au\":\"2026-12-31\",\"jours\":[1],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", 52, NULL, "2026-01-05 09:00" },
		/* 366 days, every day, one range: 366 slots. */
		{ "{\"du\":\"2028-01-01\",\"au\":\"2028-12-31\",\"jours\":[1,2,3,4,5,6,7],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", 366, NULL, "2028-01-01 09:00" },
		{ "{\"du\":\"2026-01-01\",\"au\":\"2027-01-02\",\"jours\":[1],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "au", NULL },
		{ "{\"du\":\"2026-04-03\",\"au\":\"2026-03-23\",\"jours\":[1],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "au", NULL },
		{ "{\"du\":\"2026-02-30\",\"au\":\"2026-03-23\",\"jours\":[1],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "du", NULL },
		{ "{\"du\":\"2100-12-31\",\"au\":\"2101-01-01\",\"jours\":[1],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "au", NULL },
		{ "{\"au\":\"2026-03-23\",\"jours\":[1],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "du", NULL },
		/* 2 × 5 days × 52 weeks = 520 > 500 */
		{ "{\"du\":\"2026-01-01\",\"au\":\"2026-12-31\",\"jours\":[1,2,3,4,5],\"plages\":["
		  "{\"debut\":\"09:00\",\"fin\":\"10:00\"},{\"debut\":\"10:00\",\"fin\":\"11:00\"}]}",
		  -1, "plages", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[0],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "jours", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[8],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "jours", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1.5],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "jours", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1,1],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "jours", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "jours", NULL },
		/* No chosen weekday in the period (a Saturday only). */
		{ "{\"du\":\"2026-03-28\",\"au\":\"2026-03-28\",\"jours\":[1],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "jours", NULL },
		/* Every chosen day skipped. */
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-23\",\"jours\":[1],\"sauf\":[\"2026-03-23\"],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "jours", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],"
		  "\"plages\":[{\"debut\":\"12:00\",\"fin\":\"09:00\"}]}", -1, "plages", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"09:00\"}]}", -1, "plages", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],"
		  "\"plages\":[{\"debut\":\"9:00\",\"fin\":\"10:00\"}]}", -1, "plages", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"24:00\"}]}", -1, "plages", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\",\"salle\":\"B\"}]}",
		  -1, "plages", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],\"plages\":["
		  "{\"debut\":\"09:00\",\"fin\":\"10:00\"},{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}",
		  -1, "plages", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],\"plages\":[]}",
		  -1, "plages", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],\"sauf\":[\"2025-03-23\"],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "sauf", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],\"sauf\":\"2026-03-23\","
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "sauf", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],\"fuseau\":\"UTC+3\","
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "fuseau", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],\"besoin\":0,"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "besoin", NULL },
		{ "{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],\"creneaux\":[],"
		  "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", -1, "creneaux", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *req = cJSON_Parse(cases[i].json), *errors = cJSON_CreateObject();
		struct slot_local_list out = { 0 };
		char tz[SLOT_TZ_MAX_LEN + 1];
		int rc;

		CHECK(req != NULL, "cas %zu : JSON du test", i);
		rc = slot_series_plan(req, "Europe/Paris", &out, tz, errors);
		if (cases[i].count >= 0) {
			char first[32] = "";

			if (out.n > 0)
				local_time_format(&out.items[0].start, first, sizeof(first));
			CHECK(rc == 0, "cas %zu : %d fautes", i, rc);
			CHECK(out.n == (size_t)cases[i].count, "cas %zu : %zu créneaux", i, out.n);
			CHECK(strcmp(first, cases[i].first) == 0, "cas %zu : premier %s", i, first);
			CHECK(strcmp(tz, "Europe/Paris") == 0, "cas %zu : fuseau %s", i, tz);
		} else {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(errors, cases[i].member);

			CHECK(rc > 0, "cas %zu : accepté", i);
			CHECK(out.n == 0, "cas %zu : %zu créneaux malgré le refus", i, out.n);
			CHECK(cJSON_IsString(m) && m->valuestring[0] != '\0',
			    "cas %zu : pas de message pour « %s »", i, cases[i].member);
		}
		slot_local_free(&out);
		cJSON_Delete(errors);
		cJSON_Delete(req);
	}
	/* Without a default zone, "fuseau" is required. */
	{
		cJSON *req = cJSON_Parse("{\"du\":\"2026-03-23\",\"au\":\"2026-03-24\",\"jours\":[1],"
		    "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}");
		cJSON *errors = cJSON_CreateObject();
		struct slot_local_list out = { 0 };
		char tz[SLOT_TZ_MAX_LEN + 1];

		CHECK(slot_series_plan(req, NULL, &out, tz, errors) == 1 &&
		    cJSON_GetObjectItemCaseSensitive(errors, "fuseau") != NULL, "fuseau obligatoire");
		slot_local_free(&out);
		cJSON_Delete(errors);
		cJSON_Delete(req);
	}
}

static void
test_csv(void)
{
	static const struct {
		const char *text;
		int count;        /* slots, or -1 when refused */
		int line;         /* refused: line of the first error */
		const char *msg;  /* refused: part of its message */
		struct local_time start;
		const char *label;
		int besoin;
	} cases[] = {
		{ "2026-03-30 09:00;2026-03-30 12:00;Matin\n", 1, 0, NULL,
		  { 2026, 3, 30, 9, 0 }, "Matin", -1 },
		{ "2026-03-30 09:00,2026-03-30 12:00,Matin,3\r\n", 1, 0, NULL,
		  { 2026, 3, 30, 9, 0 }, "Matin", 3 },
		{ "d\xC3\xA9" "but,fin,libell\xC3\xA9\n2026-03-30T09:00,2026-03-30T12:00,\"Matin, salle 2\"\n",
		  1, 0, NULL, { 2026, 3, 30, 9, 0 }, "Matin, salle 2", -1 },
		{ "30/03/2026 09:00:00;30/03/2026 12:00:00\n\n\n31/03/2026 09:00;31/03/2026 10:00;;\n",
		  2, 0, NULL, { 2026, 3, 30, 9, 0 }, NULL, -1 },
		/* Crossing midnight is a slot too. */
		{ "2026-03-30 22:00;2026-03-31 02:00;Nuit\n", 1, 0, NULL,
		  { 2026, 3, 30, 22, 0 }, "Nuit", -1 },
		{ "\"2026-03-30 09:00\";\"2026-03-30 12:00\";\"Dit \"\"bonjour\"\"\"\n", 1, 0, NULL,
		  { 2026, 3, 30, 9, 0 }, "Dit \"bonjour\"", -1 },
		{ "", -1, 0, "aucun créneau", { 0 }, NULL, 0 },
		{ "début;fin\n", -1, 0, "aucun créneau", { 0 }, NULL, 0 },
		{ "2026-03-30 09:00;2026-03-30 12:00\n2026-03-30 12:00;2026-03-30 09:00\n", -1, 2,
		  "après le début", { 0 }, NULL, 0 },
		{ "début;fin\n2026-02-30 09:00;2026-02-30 12:00\n", -1, 2, "Le début", { 0 }, NULL, 0 },
		{ "2026-03-30 09:00;2026-03-30 25:00\n", -1, 1, "La fin", { 0 }, NULL, 0 },
		{ "2026-03-30 09:00;2026-03-30 12:00;x;0\n", -1, 1, "personnes", { 0 }, NULL, 0 },
		{ "2026-03-30 09:00;2026-03-30 12:00;x;2;z\n", -1, 1, "Trop de colonnes", { 0 }, NULL, 0 },
		{ "2026-03-30 09:00;2026-03-30 12:00;\"x\n", -1, 1, "guillemet", { 0 }, NULL, 0 },
		{ "2026-03-30 09:00;2026-03-30 12:00;\"x\"y\n", -1, 1, "guillemet", { 0 }, NULL, 0 },
		{ "2026-03-30 09:00\n", -1, 1, "deux colonnes", { 0 }, NULL, 0 },
		{ "2026-03-30 09:00;2026-03-30 12:00;\xC3\x28\n", -1, 1, "UTF-8", { 0 }, NULL, 0 },
		{ "2026-03-30 09:00;2026-03-30 12:00;a\tb\n", -1, 1, "UTF-8", { 0 }, NULL, 0 },
		{ "2026-03-30 09:00:30;2026-03-30 12:00\n", -1, 1, "Le début", { 0 }, NULL, 0 },
		{ "1999-12-31 09:00;1999-12-31 12:00\n", -1, 1, "Le début", { 0 }, NULL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct slot_local_list out = { 0 };
		struct slot_errors e;
		int rc;

		slot_errors_init(&e);
		rc = slot_csv_parse(cases[i].text, strlen(cases[i].text), &out, &e);
		if (cases[i].count >= 0) {
			CHECK(rc == 0 && out.n == (size_t)cases[i].count, "CSV %zu : rc %d, %zu créneaux",
			    i, rc, out.n);
			if (out.n > 0) {
				const struct slot_local *s = &out.items[0];

				CHECK(memcmp(&s->start, &cases[i].start, sizeof(s->start)) == 0,
				    "CSV %zu : début", i);
				CHECK(cases[i].label == NULL ? s->label == NULL :
				    (s->label != NULL && strcmp(s->label, cases[i].label) == 0),
				    "CSV %zu : libellé « %s »", i, s->label ? s->label : "(défaut)");
				CHECK(s->besoin == cases[i].besoin, "CSV %zu : besoin %d", i, s->besoin);
			}
		} else {
			int line;
			const char *m;

			CHECK(rc > 0 && out.n == 0, "CSV %zu : accepté (rc %d)", i, rc);
			m = first_message(&e, &line);
			CHECK(line == cases[i].line, "CSV %zu : ligne %d", i, line);
			CHECK(strstr(m, cases[i].msg) != NULL, "CSV %zu : message « %s »", i, m);
		}
		slot_local_free(&out);
		slot_errors_free(&e);
	}

	/* The Excel-style file: BOM, header, CRLF, quotes, an empty label (default label). */
	{
		size_t len = 0;
		char *text = read_fixture("slots_excel.csv", &len);
		struct slot_local_list out = { 0 };
		struct slot_errors e;

		slot_errors_init(&e);
		CHECK(text != NULL, "fixture slots_excel.csv");
		if (text != NULL) {
			CHECK(slot_csv_parse(text, len, &out, &e) == 0 && out.n == 3, "excel : %zu", out.n);
			if (out.n == 3) {
				CHECK(out.items[0].line == 2 && out.items[0].besoin == 2, "excel ligne 2");
				CHECK(out.items[1].label == NULL && out.items[1].besoin == -1, "excel ligne 3");
				CHECK(strcmp(out.items[2].label, "Accueil \"portes ouvertes\"; hall") == 0,
				    "excel ligne 4 « %s »", out.items[2].label);
			}
		}
		free(text);
		slot_local_free(&out);
		slot_errors_free(&e);
	}

	/* Every bad line is listed (up to SLOT_ERRORS_MAX, then one entry saying there are more),
	 * and more than SLOT_BATCH_MAX lines are refused. */
	{
		size_t cap = 700 * 40, len = 0;
		char *text = malloc(cap);
		struct slot_local_list out = { 0 };
		struct slot_errors e;
		int k;

		len += (size_t)snprintf(text + len, cap - len, "début;fin\n");
		for (k = 0; k < 60; k++)
			len += (size_t)snprintf(text + len, cap - len, "x;y\n");
		slot_errors_init(&e);
		CHECK(slot_csv_parse(text, len, &out, &e) == 60, "60 lignes fausses : %d", e.count);
		CHECK(cJSON_GetArraySize(e.array) == SLOT_ERRORS_MAX + 1, "liste bornée : %d",
		    cJSON_GetArraySize(e.array));
		slot_errors_free(&e);
		len = 0;
		for (k = 0; k < 501; k++)
			len += (size_t)snprintf(text + len, cap - len,
			    "2026-03-30 09:00;2026-03-30 10:00;%d\n", k);
		slot_errors_init(&e);
		CHECK(slot_csv_parse(text, len, &out, &e) == 1 && out.n == 0, "501 créneaux refusés");
		{
			int line;
			const char *m = first_message(&e, &line);

			CHECK(line == 501 && strstr(m, "500") != NULL, "501 : ligne %d « %s »", line, m);
		}
		slot_errors_free(&e);
		free(text);
	}
}

static void
test_ics_fixtures(void)
{
	static const struct want google[] = {
		{ "2026-03-16T08:00:00Z", "2026-03-16T11:00:00Z", "Permanence accueil", -1 },
		/* 23 March excluded (EXDATE); after the change of 29 March, 09:00 is 07:00 UTC. */
		{ "2026-03-30T07:00:00Z", "2026-03-30T10:00:00Z", "Permanence accueil", -1 },
		{ "2026-04-02T12:00:00Z", "2026-04-02T13:30:00Z", "Réunion d'équipe, salle B12", -1 },
		/* The 6 April occurrence, moved to 10:00 (RECURRENCE-ID); the cancelled event is
		 * skipped. */
		{ "2026-04-06T08:00:00Z", "2026-04-06T11:00:00Z", "Permanence accueil (décalée)", -1 },
	};
	static const struct want outlook[] = {
		{ "2026-10-23T12:00:00Z", "2026-10-23T13:00:00Z", "Garde du laboratoire", -1 },
		{ "2026-10-24T12:00:00Z", "2026-10-24T13:00:00Z", "Garde du laboratoire", -1 },
		/* 25 October: back to UTC+1, 14:00 is 13:00 UTC. */
		{ "2026-10-25T13:00:00Z", "2026-10-25T14:00:00Z", "Garde du laboratoire", -1 },
		{ "2026-10-26T13:00:00Z", "2026-10-26T14:00:00Z", "Garde du laboratoire", -1 },
	};
	static const struct want thunderbird[] = {
		{ "2026-03-27T16:00:00Z", "2026-03-27T17:30:00Z", "Jury de fin d'année", -1 },
		{ "2026-03-29T15:00:00Z", "2026-03-29T16:30:00Z", "Jury de fin d'année", -1 },
		/* DURATION, no SUMMARY: the default label, in the campaign's zone. */
		{ "2026-04-01T12:00:00Z", "2026-04-01T13:30:00Z",
		  "mercredi 1er avril 2026, 14:00\u201315:30", -1 },
	};
	static const struct {
		const char *file;
		const struct want *want;
		size_t n;
	} files[] = {
		{ "slots_google.ics", google, sizeof(google) / sizeof(google[0]) },
		{ "slots_outlook.ics", outlook, sizeof(outlook) / sizeof(outlook[0]) },
		{ "slots_thunderbird.ics", thunderbird, sizeof(thunderbird) / sizeof(thunderbird[0]) },
	};
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len = 0;
		char *text = read_fixture(files[i].file, &len);
		struct slot_list out = { 0 };
		struct slot_errors e;
		int rc;

		CHECK(text != NULL, "fixture %s", files[i].file);
		if (text == NULL)
			continue;
		slot_errors_init(&e);
		rc = slot_ics_parse(text, len, "Europe/Paris", &out, &e);
		if (rc != 0) {
			char *j = cJSON_PrintUnformatted(e.array);

			fprintf(stderr, "%s : %s\n", files[i].file, j);
			free(j);
		}
		CHECK(rc == 0, "%s : rc %d", files[i].file, rc);
		check_slots(files[i].file, &out, files[i].want, files[i].n);
		slot_list_free(&out);
		slot_errors_free(&e);
		free(text);
	}
}

#define CAL(events) "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Fiable//Tests//FR\r\n" events \
	"END:VCALENDAR\r\n"
#define EV(body) "BEGIN:VEVENT\r\nUID:e1@test\r\nDTSTAMP:20260301T000000Z\r\n" body \
	"END:VEVENT\r\n"

static void
test_ics_cases(void)
{
	static const struct {
		const char *text;
		int count;        /* slots, or -1 when refused */
		int line;         /* refused: line of the first error (BEGIN:VEVENT) */
		const char *msg;
		const char *first; /* accepted: first start in UTC */
	} cases[] = {
		/* A TZID that the file does not describe: libical's zone of that name. New York
		 * changed on 8 March 2026: 09:00 EDT is 13:00 UTC. */
		{ CAL(EV("SUMMARY:New York\r\nDTSTART;TZID=America/New_York:20260310T090000\r\n"
		  "DTEND;TZID=America/New_York:20260310T100000\r\n")), 1, 0, NULL,
		  "2026-03-10T13:00:00Z" },
		/* Floating times: the campaign's zone. */
		{ CAL(EV("SUMMARY:Flottant\r\nDTSTART:20260330T090000\r\nDTEND:20260330T100000\r\n")),
		  1, 0, NULL, "2026-03-30T07:00:00Z" },
		/* A weekly rule in UTC: 3 occurrences. */
		{ CAL(EV("SUMMARY:x\r\nDTSTART:20260302T080000Z\r\nDURATION:PT1H\r\n"
		  "RRULE:FREQ=WEEKLY;COUNT=3\r\n")), 3, 0, NULL, "2026-03-02T08:00:00Z" },
		/* Multi-valued EXDATE. */
		{ CAL(EV("SUMMARY:x\r\nDTSTART:20260302T080000Z\r\nDURATION:PT1H\r\n"
		  "RRULE:FREQ=DAILY;COUNT=5\r\nEXDATE:20260303T080000Z,20260304T080000Z\r\n")),
		  3, 0, NULL, "2026-03-02T08:00:00Z" },
		/* 500 occurrences are allowed, 501 are not. */
		{ CAL(EV("SUMMARY:x\r\nDTSTART:20260302T080000Z\r\nDURATION:PT1H\r\n"
		  "RRULE:FREQ=HOURLY;COUNT=500\r\n")), 500, 0, NULL, "2026-03-02T08:00:00Z" },
		{ CAL(EV("SUMMARY:x\r\nDTSTART:20260302T080000Z\r\nDURATION:PT1H\r\n"
		  "RRULE:FREQ=HOURLY;COUNT=501\r\n")), -1, 4, "500", NULL },
		{ CAL(EV("SUMMARY:Sans fin\r\nDTSTART:20260302T080000Z\r\nDURATION:PT1H\r\n"
		  "RRULE:FREQ=WEEKLY\r\n")), -1, 4, "COUNT", NULL },
		{ CAL(EV("SUMMARY:Journée\r\nDTSTART;VALUE=DATE:20260330\r\n"
		  "DTEND;VALUE=DATE:20260331\r\n")), -1, 4, "journée entière", NULL },
		{ CAL(EV("SUMMARY:x\r\nDTSTART:20260330T090000Z\r\n")), -1, 4, "DURATION", NULL },
		{ CAL(EV("SUMMARY:x\r\nDTSTART:20260330T090000Z\r\nDTEND:20260330T090000Z\r\n")),
		  -1, 4, "finir après", NULL },
		{ CAL(EV("SUMMARY:x\r\nDTSTART;TZID=Mars/Olympus:20260330T090000\r\n"
		  "DTEND;TZID=Mars/Olympus:20260330T100000\r\n")), -1, 4, "Mars/Olympus", NULL },
		{ CAL(EV("SUMMARY:x\r\nDTSTART:20260330T090000Z\r\nDTEND:20260330T100000Z\r\n"
		  "RRULE:FREQ=DAILY;COUNT=2\r\nRDATE:20260401T090000Z\r\n")), -1, 4, "RDATE", NULL },
		{ CAL(EV("SUMMARY:x\r\nDTEND:20260330T100000Z\r\n")), -1, 4, "DTSTART", NULL },
		/* The second event is the faulty one: its line and its name. */
		{ CAL(EV("SUMMARY:bon\r\nDTSTART:20260330T090000Z\r\nDTEND:20260330T100000Z\r\n")
		  EV("SUMMARY:mauvais\r\nDTSTART:20260330T090000Z\r\n")), -1, 11, "DTEND", NULL },
		/* The daylight-saving rule of slot.h, on libical's zones: a time in the gap is
		 * refused, a time that exists twice is its first occurrence (UTC+2). */
		{ CAL(EV("SUMMARY:x\r\nDTSTART;TZID=Europe/Paris:20260329T023000\r\n"
		  "DTEND;TZID=Europe/Paris:20260329T033000\r\n")), -1, 4, "29/03/2026 à 02:30", NULL },
		{ CAL(EV("SUMMARY:x\r\nDTSTART;TZID=Europe/Paris:20261025T023000\r\n"
		  "DTEND;TZID=Europe/Paris:20261025T033000\r\n")), 1, 0, NULL, "2026-10-25T00:30:00Z" },
		/* A daily rule at 02:30 across the March change meets the gap: refused. */
		{ CAL(EV("SUMMARY:x\r\nDTSTART;TZID=Europe/Paris:20260328T023000\r\n"
		  "DURATION:PT30M\r\nRRULE:FREQ=DAILY;COUNT=3\r\n")), -1, 4, "changement d’heure",
		  NULL },
		/* UNTIL in UTC includes an occurrence that starts exactly then (after the change). */
		{ CAL(EV("SUMMARY:x\r\nDTSTART;TZID=Europe/Paris:20260327T140000\r\n"
		  "DURATION:PT1H\r\nRRULE:FREQ=DAILY;UNTIL=20260330T120000Z\r\n")), 4, 0, NULL,
		  "2026-03-27T13:00:00Z" },
		/* A property libical cannot read and that matters: refused, named. */
		{ CAL(EV("SUMMARY:x\r\nDTSTART:20260330T090000Z\r\nDTEND:20260330T100000Z\r\n"
		  "RRULE:FREQ=SOMETIMES;COUNT=3\r\n")), -1, 4, "RRULE", NULL },
		{ CAL(EV("SUMMARY:x\r\nDTSTART:20260330T090000Z\r\nDTEND:20260330T100000Z\r\n"
		  "DESCRIPTION:\r\nLOCATION:\r\n")), 1, 0, NULL, "2026-03-30T09:00:00Z" },
		{ CAL(EV("STATUS:CANCELLED\r\nDTSTART:20260330T090000Z\r\nDTEND:20260330T100000Z\r\n")),
		  -1, 0, "aucun événement", NULL },
		{ CAL(EV("SUMMARY:x\r\nDTSTART:21500330T090000Z\r\nDTEND:21500330T100000Z\r\n")),
		  -1, 4, "2100", NULL },
		{ CAL(EV("SUMMARY:x\r\nDTSTART:20260330T090000Z\r\nDTEND:20260330T100000Z\r\n"
		  "RRULE:FREQ=YEARLY;COUNT=200\r\n")), -1, 4, "au-delà de 2100", NULL },
		{ CAL("BEGIN:VTIMEZONE\r\nTZID:Vieux\r\nBEGIN:STANDARD\r\nDTSTART:00010101T000000\r\n"
		  "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
		  EV("SUMMARY:x\r\nDTSTART;TZID=Vieux:20260330T090000\r\nDURATION:PT1H\r\n")),
		  -1, 0, "VTIMEZONE", NULL },
		{ "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jean\r\nEND:VCARD\r\n", -1, 0, "iCalendar", NULL },
		{ "", -1, 0, "iCalendar", NULL },
		{ "2026-03-30 09:00;2026-03-30 12:00\n", -1, 0, "iCalendar", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct slot_list out = { 0 };
		struct slot_errors e;
		int rc;

		slot_errors_init(&e);
		rc = slot_ics_parse(cases[i].text, strlen(cases[i].text), "Europe/Paris", &out, &e);
		if (cases[i].count >= 0) {
			char a[21] = "";

			if (out.n > 0)
				slot_utc_format(out.items[0].starts_at, a);
			CHECK(rc == 0 && out.n == (size_t)cases[i].count, "ICS %zu : rc %d, %zu créneaux",
			    i, rc, out.n);
			CHECK(strcmp(a, cases[i].first) == 0, "ICS %zu : premier %s", i, a);
		} else {
			int line;
			const char *m = first_message(&e, &line);

			CHECK(rc > 0 && out.n == 0, "ICS %zu : accepté (rc %d)", i, rc);
			CHECK(line == cases[i].line, "ICS %zu : ligne %d", i, line);
			CHECK(strstr(m, cases[i].msg) != NULL, "ICS %zu : message « %s »", i, m);
		}
		slot_list_free(&out);
		slot_errors_free(&e);
	}
}

/* SUMMARY: unescaped, line breaks made spaces, cut at 200 characters with "…". */
static void
test_ics_labels(void)
{
	char text[4096], summary[1200];
	struct slot_list out = { 0 };
	struct slot_errors e;
	size_t i;

	for (i = 0; i < 300; i++)
		memcpy(summary + 2 * i, "\xC3\xA9", 2);	/* 300 × "é" */
	summary[600] = '\0';
	snprintf(text, sizeof(text), CAL(EV("SUMMARY:%s\r\nDTSTART:20260330T090000Z\r\n"
	    "DTEND:20260330T100000Z\r\n")) , summary);
	slot_errors_init(&e);
	CHECK(slot_ics_parse(text, strlen(text), "Europe/Paris", &out, &e) == 0 && out.n == 1,
	    "titre long accepté");
	if (out.n == 1) {
		CHECK(utf8_text_length(out.items[0].label, false) == SLOT_LABEL_MAX_CHARS,
		    "titre coupé à %ld caractères", utf8_text_length(out.items[0].label, false));
		CHECK(strcmp(out.items[0].label + strlen(out.items[0].label) - 3, "\xE2\x80\xA6") == 0,
		    "titre terminé par …");
	}
	slot_list_free(&out);
	slot_errors_free(&e);
	snprintf(text, sizeof(text), "%s", CAL(EV("SUMMARY:Ligne 1\\nLigne 2\\, suite\r\n"
	    "DTSTART:20260330T090000Z\r\nDTEND:20260330T100000Z\r\n")));
	slot_errors_init(&e);
	CHECK(slot_ics_parse(text, strlen(text), "Europe/Paris", &out, &e) == 0 && out.n == 1 &&
	    strcmp(out.items[0].label, "Ligne 1 Ligne 2, suite") == 0, "titre « %s »",
	    out.n ? out.items[0].label : "");
	slot_list_free(&out);
	slot_errors_free(&e);
}

int
main(void)
{
	test_calendar();
	test_series_plan();
	test_csv();
	test_ics_fixtures();
	test_ics_cases();
	test_ics_labels();
	return UNIT_END();
}
