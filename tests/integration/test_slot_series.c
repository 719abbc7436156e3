/* integration.test_slot_series — the slot producers against the test PostgreSQL (as the
 * application role): series generation (weekdays, skipped dates, both daylight-saving
 * changes of 2026 in Europe/Paris, another zone, the bounds), the CSV import, and the same
 * daylight-saving rule on both sides: PostgreSQL's statement slot_local_to_utc (series,
 * CSV) and libical's zone data (iCalendar), compared minute by minute around each change.
 * Started by `scripts/dev test`, which exports FIABLE_TEST_APP_PG; fails without it. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "log.h"
#include "slot.h"
#include "slot_import.h"
#include "slot_series.h"
#include "unit.h"

struct want {
	const char *start, *end, *label;
	int besoin;
};

static struct db *db;

static void
check_slots(const char *what, const struct slot_list *got, const struct want *want, size_t n)
{
	size_t i;

	CHECK(got->n == n, "%s : %zu créneaux au lieu de %zu", what, got->n, n);
	for (i = 0; i < n && i < got->n; i++) {
		char a[21], b[21];

		slot_utc_format(got->items[i].starts_at, a);
		slot_utc_format(got->items[i].ends_at, b);
		CHECK(strcmp(a, want[i].start) == 0 && strcmp(b, want[i].end) == 0,
		    "%s [%zu] : %s–%s au lieu de %s–%s", what, i, a, b, want[i].start, want[i].end);
		if (want[i].label != NULL)
			CHECK(strcmp(got->items[i].label, want[i].label) == 0, "%s [%zu] : « %s »",
			    what, i, got->items[i].label);
		CHECK(got->items[i].besoin == want[i].besoin, "%s [%zu] : besoin %d", what, i,
		    got->items[i].besoin);
	}
}

/* Runs one series; returns its result code, the slots in out, the errors in *errors. */
static int
series(const char *json, struct slot_list *out, cJSON **errors)
{
	cJSON *req = cJSON_Parse(json);
	int rc;

	*errors = cJSON_CreateObject();
	CHECK(req != NULL, "JSON du test : %s", json);
	rc = slot_series_generate(db, req, "Europe/Paris", out, *errors);
	cJSON_Delete(req);
	return rc;
}

static void
test_series(void)
{
	static const struct want weekdays[] = {
		{ "2026-03-23T08:00:00Z", "2026-03-23T11:00:00Z",
		  "lundi 23 mars 2026, 09:00\u201312:00", -1 },
		{ "2026-03-25T08:00:00Z", "2026-03-25T11:00:00Z", NULL, -1 },
		/* Friday 27 skipped; from Sunday 29 Paris is UTC+2. */
		{ "2026-03-30T07:00:00Z", "2026-03-30T10:00:00Z", NULL, -1 },
		{ "2026-04-01T07:00:00Z", "2026-04-01T10:00:00Z",
		  "mercredi 1er avril 2026, 09:00\u201312:00", -1 },
		{ "2026-04-03T07:00:00Z", "2026-04-03T10:00:00Z", NULL, -1 },
	};
	static const struct want spring[] = {
		/* 01:00–04:00 on the night of the change lasts two hours. */
		{ "2026-03-28T00:00:00Z", "2026-03-28T03:00:00Z", "Nuit", 3 },
		{ "2026-03-29T00:00:00Z", "2026-03-29T02:00:00Z", "Nuit", 3 },
		{ "2026-03-29T23:00:00Z", "2026-03-30T02:00:00Z", "Nuit", 3 },
	};
	static const struct want autumn_night[] = {
		/* 01:00–02:30: an hour and a half; 02:30–03:30: two hours (the clock goes back). */
		{ "2026-10-24T23:00:00Z", "2026-10-25T00:30:00Z",
		  "dimanche 25 octobre 2026, 01:00\u201302:30", -1 },
		{ "2026-10-25T00:30:00Z", "2026-10-25T02:30:00Z", NULL, -1 },
	};
	static const struct want autumn[] = {
		{ "2026-10-24T07:00:00Z", "2026-10-24T08:00:00Z", NULL, -1 },
		{ "2026-10-25T08:00:00Z", "2026-10-25T09:00:00Z", NULL, -1 },
		{ "2026-10-26T08:00:00Z", "2026-10-26T09:00:00Z", NULL, -1 },
	};
	static const struct want new_york[] = {
		{ "2026-03-07T14:00:00Z", "2026-03-07T15:00:00Z", NULL, -1 },
		/* The United States change on the second Sunday of March. */
		{ "2026-03-08T13:00:00Z", "2026-03-08T14:00:00Z", NULL, -1 },
		{ "2026-03-09T13:00:00Z", "2026-03-09T14:00:00Z", NULL, -1 },
	};
	struct slot_list out = { 0 };
	cJSON *errors;
	const cJSON *m;
	int rc;

	rc = series("{\"du\":\"2026-03-23\",\"au\":\"2026-04-03\",\"jours\":[1,3,5],"
	    "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"12:00\"}],\"sauf\":[\"2026-03-27\"],"
	    "\"fuseau\":\"Europe/Paris\"}", &out, &errors);
	CHECK(rc == 0, "série des jours ouvrables : %d", rc);
	check_slots("jours ouvrables", &out, weekdays, sizeof(weekdays) / sizeof(weekdays[0]));
	slot_list_free(&out);
	cJSON_Delete(errors);

	/* The zone by default (the campaign's), a label and a need given. */
	rc = series("{\"du\":\"2026-03-28\",\"au\":\"2026-03-30\",\"jours\":[1,6,7],\"besoin\":3,"
	    "\"plages\":[{\"debut\":\"01:00\",\"fin\":\"04:00\",\"libelle\":\" Nuit \"}]}",
	    &out, &errors);
	CHECK(rc == 0, "série de mars : %d", rc);
	check_slots("passage à l'heure d'été", &out, spring, sizeof(spring) / sizeof(spring[0]));
	slot_list_free(&out);
	cJSON_Delete(errors);

	/* A range inside the gap of 29 March: refused, the message names the date. */
	rc = series("{\"du\":\"2026-03-23\",\"au\":\"2026-04-05\",\"jours\":[7],"
	    "\"plages\":[{\"debut\":\"02:30\",\"fin\":\"03:30\"}]}", &out, &errors);
	m = cJSON_GetObjectItemCaseSensitive(errors, "plages");
	CHECK(rc > 0 && out.n == 0, "heure inexistante acceptée : %d, %zu", rc, out.n);
	CHECK(cJSON_IsString(m) && strstr(m->valuestring, "29/03/2026 à 02:30") != NULL,
	    "message : %s", cJSON_IsString(m) ? m->valuestring : "(aucun)");
	slot_list_free(&out);
	cJSON_Delete(errors);
	/* The same series with that Sunday skipped is accepted. */
	rc = series("{\"du\":\"2026-03-23\",\"au\":\"2026-04-05\",\"jours\":[7],"
	    "\"sauf\":[\"2026-03-29\"],\"plages\":[{\"debut\":\"02:30\",\"fin\":\"03:30\"}]}",
	    &out, &errors);
	CHECK(rc == 0 && out.n == 1, "dimanche sauté : %d, %zu", rc, out.n);
	slot_list_free(&out);
	cJSON_Delete(errors);

	/* 02:30 exists twice on 25 October: the first (UTC+2); 01:00 and 03:30 once. */
	rc = series("{\"du\":\"2026-10-25\",\"au\":\"2026-10-25\",\"jours\":[7],\"plages\":["
	    "{\"debut\":\"02:30\",\"fin\":\"03:30\"},{\"debut\":\"01:00\",\"fin\":\"02:30\"}],"
	    "\"sauf\":[]}", &out, &errors);
	CHECK(rc == 0, "nuit d'octobre : %d", rc);
	check_slots("nuit du retour à l'heure d'hiver", &out, autumn_night,
	    sizeof(autumn_night) / sizeof(autumn_night[0]));
	slot_list_free(&out);
	cJSON_Delete(errors);
	rc = series("{\"du\":\"2026-10-24\",\"au\":\"2026-10-26\",\"jours\":[1,6,7],\"plages\":["
	    "{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", &out, &errors);
	CHECK(rc == 0, "série d'octobre : %d", rc);
	check_slots("retour à l'heure d'hiver", &out, autumn, sizeof(autumn) / sizeof(autumn[0]));
	slot_list_free(&out);
	cJSON_Delete(errors);

	rc = series("{\"du\":\"2026-03-07\",\"au\":\"2026-03-09\",\"jours\":[1,2,3,4,5,6,7],"
	    "\"fuseau\":\"America/New_York\",\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}",
	    &out, &errors);
	CHECK(rc == 0, "New York : %d", rc);
	check_slots("New York", &out, new_york, sizeof(new_york) / sizeof(new_york[0]));
	slot_list_free(&out);
	cJSON_Delete(errors);

	/* A zone name PostgreSQL does not know: refused on "fuseau". */
	rc = series("{\"du\":\"2026-03-23\",\"au\":\"2026-03-23\",\"jours\":[1],"
	    "\"fuseau\":\"Mars/Olympus\",\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}",
	    &out, &errors);
	m = cJSON_GetObjectItemCaseSensitive(errors, "fuseau");
	CHECK(rc > 0 && out.n == 0 && cJSON_IsString(m) && strstr(m->valuestring, "Mars/Olympus"),
	    "fuseau inconnu : %d", rc);
	slot_list_free(&out);
	cJSON_Delete(errors);
	/* The connection is still usable after that refusal. */
	rc = series("{\"du\":\"2026-03-23\",\"au\":\"2026-03-23\",\"jours\":[1],"
	    "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"}]}", &out, &errors);
	CHECK(rc == 0 && out.n == 1, "après un refus : %d", rc);
	slot_list_free(&out);
	cJSON_Delete(errors);

	/* The bound: 250 days × 2 ranges = 500 slots in one statement; one more day is refused. */
	rc = series("{\"du\":\"2026-01-01\",\"au\":\"2026-09-07\",\"jours\":[1,2,3,4,5,6,7],"
	    "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"},{\"debut\":\"14:00\",\"fin\":\"15:00\"}]}",
	    &out, &errors);
	CHECK(rc == 0 && out.n == SLOT_BATCH_MAX, "500 créneaux : %d, %zu", rc, out.n);
	if (out.n == SLOT_BATCH_MAX) {
		char a[21];

		slot_utc_format(out.items[SLOT_BATCH_MAX - 1].starts_at, a);
		CHECK(strcmp(a, "2026-09-07T12:00:00Z") == 0, "dernier : %s", a);
	}
	slot_list_free(&out);
	cJSON_Delete(errors);
	rc = series("{\"du\":\"2026-01-01\",\"au\":\"2026-09-08\",\"jours\":[1,2,3,4,5,6,7],"
	    "\"plages\":[{\"debut\":\"09:00\",\"fin\":\"10:00\"},{\"debut\":\"14:00\",\"fin\":\"15:00\"}]}",
	    &out, &errors);
	m = cJSON_GetObjectItemCaseSensitive(errors, "plages");
	CHECK(rc > 0 && out.n == 0 && cJSON_IsString(m) && strstr(m->valuestring, "502"),
	    "502 créneaux refusés : %d", rc);
	slot_list_free(&out);
	cJSON_Delete(errors);
}

static void
test_csv(void)
{
	static const struct want excel[] = {
		{ "2026-03-28T08:00:00Z", "2026-03-28T11:00:00Z", "Samedi matin", 2 },
		{ "2026-03-30T07:00:00Z", "2026-03-30T10:00:00Z",
		  "lundi 30 mars 2026, 09:00\u201312:00", -1 },
		{ "2026-10-25T09:00:00Z", "2026-10-25T10:30:00Z", "Accueil \"portes ouvertes\"; hall", 1 },
	};
	static const char excel_text[] =
	    "\xEF\xBB\xBF" "début;fin;libellé;besoin\r\n"
	    "2026-03-28 09:00;2026-03-28 12:00;Samedi matin;2\r\n"
	    "30/03/2026 09:00;30/03/2026 12:00;;\r\n"
	    "\"2026-10-25 10:00\";\"2026-10-25 11:30\";\"Accueil \"\"portes ouvertes\"\"; hall\";1\r\n";
	static const char gap_text[] =
	    "début,fin\n2026-03-28 02:15,2026-03-28 03:30\n2026-03-29 02:15,2026-03-29 03:30\n"
	    "2026-03-29 01:15,2026-03-29 02:00\n";
	struct slot_list out = { 0 };
	struct slot_errors e;
	int rc;

	slot_errors_init(&e);
	rc = slot_csv_import(db, excel_text, sizeof(excel_text) - 1, "Europe/Paris", &out, &e);
	CHECK(rc == 0, "CSV : %d", rc);
	check_slots("CSV", &out, excel, sizeof(excel) / sizeof(excel[0]));
	slot_list_free(&out);
	slot_errors_free(&e);

	/* Lines 3 and 4 touch the gap (start, end): both listed, nothing returned. */
	slot_errors_init(&e);
	rc = slot_csv_import(db, gap_text, sizeof(gap_text) - 1, "Europe/Paris", &out, &e);
	CHECK(rc == 2 && out.n == 0, "CSV dans le trou : %d, %zu", rc, out.n);
	{
		const cJSON *a = cJSON_GetArrayItem(e.array, 0), *b = cJSON_GetArrayItem(e.array, 1);
		const cJSON *la = cJSON_GetObjectItemCaseSensitive(a, "ligne");
		const cJSON *lb = cJSON_GetObjectItemCaseSensitive(b, "ligne");
		const cJSON *mb = cJSON_GetObjectItemCaseSensitive(b, "message");

		CHECK(cJSON_IsNumber(la) && la->valueint == 3, "première ligne fautive");
		CHECK(cJSON_IsNumber(lb) && lb->valueint == 4 && cJSON_IsString(mb) &&
		    strstr(mb->valuestring, "29/03/2026 à 02:00") != NULL, "seconde ligne fautive");
	}
	slot_list_free(&out);
	slot_errors_free(&e);

	slot_errors_init(&e);
	rc = slot_csv_import(db, excel_text, sizeof(excel_text) - 1, "Mars/Olympus", &out, &e);
	CHECK(rc > 0 && out.n == 0, "CSV, fuseau inconnu : %d", rc);
	slot_list_free(&out);
	slot_errors_free(&e);
}

/* ICS side: a floating DTSTART read in zone tz; returns false in a gap. */
static bool
ics_local(const struct local_time *t, const char *tz, long long *utc)
{
	char text[512];
	struct slot_list out = { 0 };
	struct slot_errors e;
	bool ok;

	snprintf(text, sizeof(text), "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//FR\r\n"
	    "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY:x\r\nDTSTART:%04d%02d%02dT%02d%02d00\r\n"
	    "DURATION:PT1M\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", t->year, t->month, t->day,
	    t->hour, t->minute);
	slot_errors_init(&e);
	ok = slot_ics_parse(text, strlen(text), tz, &out, &e) == 0 && out.n == 1;
	if (ok)
		*utc = out.items[0].starts_at;
	slot_list_free(&out);
	slot_errors_free(&e);
	return ok;
}

static void
ignore_report(void *ctx, const struct slot_local *slot, const char *message)
{
	(void)ctx;
	(void)slot;
	(void)message;
}

/* The two implementations of the daylight-saving rule agree, every 15 minutes around each
 * change of 2026 in three zones (Lord Howe moves by 30 minutes). */
static void
test_same_rule(void)
{
	static const struct {
		const char *tz;
		int y, m, d;
	} nights[] = {
		{ "Europe/Paris", 2026, 3, 29 }, { "Europe/Paris", 2026, 10, 25 },
		{ "America/New_York", 2026, 3, 8 }, { "America/New_York", 2026, 11, 1 },
		{ "Australia/Lord_Howe", 2026, 4, 5 }, { "Australia/Lord_Howe", 2026, 10, 4 },
	};
	size_t i;
	int minutes, gaps = 0, compared = 0;

	for (i = 0; i < sizeof(nights) / sizeof(nights[0]); i++) {
		for (minutes = 0; minutes < 4 * 60; minutes += 15) {
			struct local_time a = { nights[i].y, nights[i].m, nights[i].d, minutes / 60,
			    minutes % 60 };
			struct local_time b = a;
			struct slot_local_list one = { 0 };
			struct slot_list out = { 0 };
			long long ics = 0;
			bool ics_ok, pg_ok;
			char when[32];

			b.minute += 1;
			slot_local_add(&one, &a, &b, "x", -1, 0);
			pg_ok = slot_local_resolve(db, nights[i].tz, &one, &out, ignore_report, NULL) == 0;
			ics_ok = ics_local(&a, nights[i].tz, &ics);
			local_time_format(&a, when, sizeof(when));
			CHECK(pg_ok == ics_ok, "%s %s : PostgreSQL %s, libical %s", nights[i].tz, when,
			    pg_ok ? "oui" : "non", ics_ok ? "oui" : "non");
			if (pg_ok && ics_ok && out.n == 1) {
				CHECK(out.items[0].starts_at == ics, "%s %s : %lld et %lld", nights[i].tz,
				    when, out.items[0].starts_at, ics);
				compared++;
			}
			if (!pg_ok)
				gaps++;
			slot_list_free(&out);
			slot_local_free(&one);
		}
	}
	/* Paris and New York lose an hour (4 quarters each), Lord Howe half an hour (2). */
	CHECK(gaps == 4 + 4 + 2, "%d heures inexistantes", gaps);
	CHECK(compared == 6 * 16 - gaps, "%d comparaisons", compared);
}

int
main(void)
{
	const char *conninfo = getenv("FIABLE_TEST_APP_PG");

	if (conninfo == NULL || conninfo[0] == '\0') {
		fprintf(stderr, "FIABLE_TEST_APP_PG n'est pas défini : lancez ce test par "
		    "`scripts/dev test` (il démarre PostgreSQL et l'exporte).\n");
		return 1;
	}
	log_init("test_slot_series");
	if ((db = db_open(conninfo)) == NULL || !db_ensure(db)) {
		fprintf(stderr, "connexion impossible à la base de test\n");
		return 1;
	}
	test_series();
	test_csv();
	test_same_rule();
	db_close(db);
	return UNIT_END();
}
