#include "slot_series.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "validate.h"

struct range {
	int start_min, end_min; /* minutes after midnight */
	char *label;            /* NULL: default label */
};

struct series {
	long long first, last;  /* days since 1970-01-01 */
	bool weekdays[8];       /* [1..7] */
	struct range ranges[SLOT_SERIES_MAX_RANGES];
	int nranges;
	long long skips[SLOT_SERIES_MAX_SKIPS];
	int nskips;
	int besoin;
	bool dates_ok, days_ok, ranges_ok;
};

static const char *const request_members[] = {
	"du", "au", "jours", "plages", "sauf", "fuseau", "besoin",
};
static const char *const range_members[] = { "debut", "fin", "libelle" };

/* The first message of a member wins. */
static void
fault(cJSON *errors, int *faults, const char *member, const char *message)
{
	if (cJSON_GetObjectItemCaseSensitive(errors, member) != NULL)
		return;
	cJSON_AddStringToObject(errors, member, message);
	(*faults)++;
}

/* An integer JSON number within [min, max]. */
static bool
json_int(const cJSON *item, int min, int max, int *out)
{
	double v;

	if (!cJSON_IsNumber(item))
		return false;
	v = item->valuedouble;
	if (!(v >= min && v <= max) || v != (double)(int)v)
		return false;
	*out = (int)v;
	return true;
}

static bool
json_date(const cJSON *item, long long *days)
{
	struct local_time t;

	if (!cJSON_IsString(item) || !local_date_parse(item->valuestring, &t))
		return false;
	*days = civil_to_days(t.year, t.month, t.day);
	return true;
}

static void
check_dates(const cJSON *request, struct series *s, cJSON *errors, int *faults)
{
	const cJSON *du = cJSON_GetObjectItemCaseSensitive(request, "du");
	const cJSON *au = cJSON_GetObjectItemCaseSensitive(request, "au");
	bool ok = true;

	if (du == NULL || cJSON_IsNull(du)) {
		fault(errors, faults, "du", "La date de début est obligatoire.");
		ok = false;
	} else if (!json_date(du, &s->first)) {
		fault(errors, faults, "du", "La date de début n’est pas valide (exemple : 2026-03-23).");
		ok = false;
	}
	if (au == NULL || cJSON_IsNull(au)) {
		fault(errors, faults, "au", "La date de fin est obligatoire.");
		ok = false;
	} else if (!json_date(au, &s->last)) {
		fault(errors, faults, "au", "La date de fin n’est pas valide (exemple : 2026-04-03).");
		ok = false;
	}
	if (!ok)
		return;
	if (s->last < s->first) {
		fault(errors, faults, "au", "La date de fin doit être la date de début ou une date "
		    "qui la suit.");
		return;
	}
	if (s->last - s->first + 1 > SLOT_SERIES_MAX_DAYS) {
		char msg[128];

		snprintf(msg, sizeof(msg), "La période dépasse %d jours : raccourcissez-la.",
		    SLOT_SERIES_MAX_DAYS);
		fault(errors, faults, "au", msg);
		return;
	}
	s->dates_ok = true;
}

static void
check_weekdays(const cJSON *request, struct series *s, cJSON *errors, int *faults)
{
	const cJSON *jours = cJSON_GetObjectItemCaseSensitive(request, "jours"), *it;
	int n = 0;

	if (jours == NULL || cJSON_IsNull(jours)) {
		fault(errors, faults, "jours", "Choisissez au moins un jour de la semaine.");
		return;
	}
	if (!cJSON_IsArray(jours) || cJSON_GetArraySize(jours) > 7) {
		fault(errors, faults, "jours", "Les jours doivent être une liste de 1 (lundi) à "
		    "7 (dimanche).");
		return;
	}
	cJSON_ArrayForEach(it, jours) {
		int d;

		if (!json_int(it, 1, 7, &d)) {
			fault(errors, faults, "jours", "Un jour doit être un nombre de 1 (lundi) à "
			    "7 (dimanche).");
			return;
		}
		if (s->weekdays[d]) {
			fault(errors, faults, "jours", "Un même jour est choisi deux fois.");
			return;
		}
		s->weekdays[d] = true;
		n++;
	}
	if (n == 0) {
		fault(errors, faults, "jours", "Choisissez au moins un jour de la semaine.");
		return;
	}
	s->days_ok = true;
}

static bool
check_range(const cJSON *item, struct range *r, cJSON *errors, int *faults)
{
	const cJSON *debut, *fin, *libelle;
	cJSON *unknown;
	int h, m, n;

	if (!cJSON_IsObject(item)) {
		fault(errors, faults, "plages", "Une plage horaire doit être un objet "
		    "{\"debut\": \"09:00\", \"fin\": \"12:00\"}.");
		return false;
	}
	if ((unknown = cJSON_CreateObject()) == NULL)
		return false;
	n = json_unknown_members(item, range_members,
	    sizeof(range_members) / sizeof(range_members[0]), unknown);
	cJSON_Delete(unknown);
	if (n != 0) {
		fault(errors, faults, "plages", "Une plage horaire a un champ inconnu : seuls "
		    "« debut », « fin » et « libelle » sont permis.");
		return false;
	}
	debut = cJSON_GetObjectItemCaseSensitive(item, "debut");
	fin = cJSON_GetObjectItemCaseSensitive(item, "fin");
	if (!cJSON_IsString(debut) || !local_hm_parse(debut->valuestring, &h, &m)) {
		fault(errors, faults, "plages", "L’heure de début d’une plage n’est pas valide "
		    "(exemple : 09:00).");
		return false;
	}
	r->start_min = h * 60 + m;
	if (!cJSON_IsString(fin) || !local_hm_parse(fin->valuestring, &h, &m)) {
		fault(errors, faults, "plages", "L’heure de fin d’une plage n’est pas valide "
		    "(exemple : 12:00).");
		return false;
	}
	r->end_min = h * 60 + m;
	if (r->end_min <= r->start_min) {
		fault(errors, faults, "plages", "Une plage horaire doit finir après son début, le "
		    "même jour.");
		return false;
	}
	libelle = cJSON_GetObjectItemCaseSensitive(item, "libelle");
	if (libelle != NULL && !cJSON_IsNull(libelle)) {
		long chars;

		if (!cJSON_IsString(libelle)) {
			fault(errors, faults, "plages", "Le libellé d’une plage doit être un texte.");
			return false;
		}
		if ((r->label = trim_dup(libelle->valuestring)) == NULL)
			return false;
		chars = utf8_text_length(r->label, false);
		if (chars < 0) {
			fault(errors, faults, "plages", "Le libellé d’une plage contient des "
			    "caractères non autorisés.");
			return false;
		}
		if (chars > SLOT_LABEL_MAX_CHARS) {
			fault(errors, faults, "plages", "Le libellé d’une plage est trop long "
			    "(200 caractères au plus).");
			return false;
		}
		if (chars == 0) {
			free(r->label);
			r->label = NULL;
		}
	}
	return true;
}

static int
range_compare(const void *pa, const void *pb)
{
	const struct range *a = pa, *b = pb;

	if (a->start_min != b->start_min)
		return a->start_min - b->start_min;
	return a->end_min - b->end_min;
}

static void
check_ranges(const cJSON *request, struct series *s, cJSON *errors, int *faults)
{
	const cJSON *plages = cJSON_GetObjectItemCaseSensitive(request, "plages"), *it;
	int i;

	if (plages == NULL || cJSON_IsNull(plages) ||
	    (cJSON_IsArray(plages) && cJSON_GetArraySize(plages) == 0)) {
		fault(errors, faults, "plages", "Donnez au moins une plage horaire.");
		return;
	}
	if (!cJSON_IsArray(plages)) {
		fault(errors, faults, "plages", "Les plages horaires doivent être une liste.");
		return;
	}
	if (cJSON_GetArraySize(plages) > SLOT_SERIES_MAX_RANGES) {
		char msg[96];

		snprintf(msg, sizeof(msg), "Trop de plages horaires (%d au plus).",
		    SLOT_SERIES_MAX_RANGES);
		fault(errors, faults, "plages", msg);
		return;
	}
	cJSON_ArrayForEach(it, plages) {
		if (!check_range(it, &s->ranges[s->nranges++], errors, faults))
			return;
	}
	qsort(s->ranges, (size_t)s->nranges, sizeof(s->ranges[0]), range_compare);
	for (i = 1; i < s->nranges; i++)
		if (s->ranges[i].start_min == s->ranges[i - 1].start_min &&
		    s->ranges[i].end_min == s->ranges[i - 1].end_min) {
			fault(errors, faults, "plages", "Une même plage horaire est donnée deux fois.");
			return;
		}
	s->ranges_ok = true;
}

static void
check_skips(const cJSON *request, struct series *s, cJSON *errors, int *faults)
{
	const cJSON *sauf = cJSON_GetObjectItemCaseSensitive(request, "sauf"), *it;

	if (sauf == NULL || cJSON_IsNull(sauf))
		return;
	if (!cJSON_IsArray(sauf)) {
		fault(errors, faults, "sauf", "Les dates à sauter doivent être une liste.");
		return;
	}
	if (cJSON_GetArraySize(sauf) > SLOT_SERIES_MAX_SKIPS) {
		char msg[96];

		snprintf(msg, sizeof(msg), "Trop de dates à sauter (%d au plus).",
		    SLOT_SERIES_MAX_SKIPS);
		fault(errors, faults, "sauf", msg);
		return;
	}
	cJSON_ArrayForEach(it, sauf) {
		long long d;

		if (!json_date(it, &d)) {
			fault(errors, faults, "sauf", "Une date à sauter n’est pas valide "
			    "(exemple : 2026-03-27).");
			return;
		}
		/* A date outside the period is most likely a typing error (the year). */
		if (s->dates_ok && (d < s->first || d > s->last)) {
			char msg[160];

			snprintf(msg, sizeof(msg), "La date à sauter %s est hors de la période.",
			    it->valuestring);
			fault(errors, faults, "sauf", msg);
			return;
		}
		s->skips[s->nskips++] = d;
	}
}

static bool
skipped(const struct series *s, long long day)
{
	int i;

	for (i = 0; i < s->nskips; i++)
		if (s->skips[i] == day)
			return true;
	return false;
}

static void
series_free(struct series *s)
{
	int i;

	for (i = 0; i < s->nranges; i++)
		free(s->ranges[i].label);
}

int
slot_series_plan(const cJSON *request, const char *default_tz, struct slot_local_list *out,
    char tz[SLOT_TZ_MAX_LEN + 1], cJSON *errors)
{
	struct series *s;
	const cJSON *fuseau, *besoin;
	cJSON *unknown;
	int faults = 0, n;
	long long day, count = 0;

	tz[0] = '\0';
	if (!cJSON_IsObject(request) || (s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->besoin = -1;
	if ((unknown = cJSON_CreateObject()) == NULL) {
		free(s);
		return -1;
	}
	n = json_unknown_members(request, request_members,
	    sizeof(request_members) / sizeof(request_members[0]), unknown);
	if (n > 0) {
		const cJSON *m;

		cJSON_ArrayForEach(m, unknown)
			fault(errors, &faults, m->string, m->valuestring);
	}
	cJSON_Delete(unknown);

	check_dates(request, s, errors, &faults);
	check_weekdays(request, s, errors, &faults);
	check_ranges(request, s, errors, &faults);
	check_skips(request, s, errors, &faults);

	fuseau = cJSON_GetObjectItemCaseSensitive(request, "fuseau");
	if (fuseau != NULL && !cJSON_IsNull(fuseau)) {
		if (!cJSON_IsString(fuseau) || !slot_tz_name_valid(fuseau->valuestring))
			fault(errors, &faults, "fuseau", "Le fuseau horaire n’est pas valide "
			    "(exemple : Europe/Paris).");
		else
			snprintf(tz, SLOT_TZ_MAX_LEN + 1, "%s", fuseau->valuestring);
	} else if (default_tz != NULL && slot_tz_name_valid(default_tz)) {
		snprintf(tz, SLOT_TZ_MAX_LEN + 1, "%s", default_tz);
	} else {
		fault(errors, &faults, "fuseau", "Le fuseau horaire est obligatoire "
		    "(exemple : Europe/Paris).");
	}

	besoin = cJSON_GetObjectItemCaseSensitive(request, "besoin");
	if (besoin != NULL && !cJSON_IsNull(besoin) &&
	    !json_int(besoin, 1, SLOT_BESOIN_MAX, &s->besoin))
		fault(errors, &faults, "besoin", "Le nombre de personnes nécessaires doit être un "
		    "nombre entier de 1 à 10000.");

	if (faults > 0 || !s->dates_ok || !s->days_ok || !s->ranges_ok)
		goto done;

	/* Count first: a refused request allocates nothing. */
	for (day = s->first; day <= s->last; day++)
		if (s->weekdays[iso_weekday(day)] && !skipped(s, day))
			count += s->nranges;
	if (count == 0) {
		fault(errors, &faults, "jours", "Aucun créneau : aucun des jours choisis ne tombe "
		    "dans la période (hors dates sautées).");
		goto done;
	}
	if (count > SLOT_BATCH_MAX) {
		char msg[200];

		snprintf(msg, sizeof(msg), "La série donnerait %lld créneaux, %d au plus : "
		    "raccourcissez la période ou retirez des jours ou des plages.", count,
		    SLOT_BATCH_MAX);
		fault(errors, &faults, "plages", msg);
		goto done;
	}
	for (day = s->first; day <= s->last; day++) {
		struct local_time t = { 0 };
		int i;

		if (!s->weekdays[iso_weekday(day)] || skipped(s, day))
			continue;
		civil_from_days(day, &t.year, &t.month, &t.day);
		for (i = 0; i < s->nranges; i++) {
			struct local_time a = t, b = t;

			a.hour = s->ranges[i].start_min / 60;
			a.minute = s->ranges[i].start_min % 60;
			b.hour = s->ranges[i].end_min / 60;
			b.minute = s->ranges[i].end_min % 60;
			if (!slot_local_add(out, &a, &b, s->ranges[i].label, s->besoin, 0)) {
				faults = -1;
				goto done;
			}
		}
	}
done:
	series_free(s);
	free(s);
	return faults;
}

struct series_report {
	cJSON *errors;
	int faults;
};

static void
series_report(void *ctx, const struct slot_local *slot, const char *message)
{
	struct series_report *r = ctx;

	fault(r->errors, &r->faults, slot == NULL ? "fuseau" : "plages", message);
}

int
slot_series_generate(struct db *db, const cJSON *request, const char *default_tz,
    struct slot_list *out, cJSON *errors)
{
	struct slot_local_list local = { 0 };
	struct series_report r = { errors, 0 };
	char tz[SLOT_TZ_MAX_LEN + 1];
	int rc;

	rc = slot_series_plan(request, default_tz, &local, tz, errors);
	if (rc == 0) {
		rc = slot_local_resolve(db, tz, &local, out, series_report, &r);
		if (rc > 0 || rc == -2)
			rc = r.faults > 0 ? r.faults : 1;
	}
	slot_local_free(&local);
	return rc;
}
