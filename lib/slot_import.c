#include "slot_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libical/ical.h>

#include "csv.h"
#include "num.h"
#include "validate.h"

#define CSV_MAX_FIELDS 4
/* Occurrences of the file's RRULEs looked at (excluded ones included): bounds the work of
 * rules whose occurrences are all removed. */
#define ICS_MAX_ITERATIONS 20000
/* VTIMEZONEs of a file, and the first year of their observances: libical expands each from
 * that year to the slot's on first use (measured: 40 ms for Outlook's 1601). */
#define ICS_MAX_ZONES      10
#define ICS_ZONE_YEAR_MIN  1600

static const char msg_too_big[] = "Le fichier dépasse 1 Mio : découpez-le.";
static const char msg_nul[] = "Le fichier contient un octet nul : ce n’est pas un fichier texte.";
static const char msg_not_ics[] = "Le fichier n’est pas un calendrier iCalendar (.ics) : il "
    "doit commencer par BEGIN:VCALENDAR.";
static const char msg_too_many[] = "Le fichier donne plus de 500 créneaux : découpez-le.";

/* Moves every item of from to the end of to (from is emptied). */
static bool
local_list_move(struct slot_local_list *to, struct slot_local_list *from)
{
	if (to->n == 0) {
		free(to->items);
		*to = *from;
		memset(from, 0, sizeof(*from));
		return true;
	}
	if (to->cap < to->n + from->n) {
		struct slot_local *items = realloc(to->items,
		    (to->n + from->n) * sizeof(*items));

		if (items == NULL)
			return false;
		to->items = items;
		to->cap = to->n + from->n;
	}
	memcpy(to->items + to->n, from->items, from->n * sizeof(*from->items));
	to->n += from->n;
	free(from->items);
	memset(from, 0, sizeof(*from));
	return true;
}

/* s without its leading and trailing spaces and tabs, in place. */
static char *
trim_in_place(char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	return s;
}

/* "2026-03-30 09:00", "2026-03-30T09:00", "30/03/2026 09:00", each with an optional ":00". */
static bool
csv_datetime(const char *s, struct local_time *t)
{
	size_t len = strlen(s);
	int y, mo, d, h, mi, sec;

	if (len != 16 && len != 19)
		return false;
	if (len == 19 && (s[16] != ':' || !slot_digits(s + 17, 2, &sec) || sec != 0))
		return false;
	if (s[4] == '-' && s[7] == '-' && (s[10] == ' ' || s[10] == 'T')) {
		if (!slot_digits(s, 4, &y) || !slot_digits(s + 5, 2, &mo) || !slot_digits(s + 8, 2, &d))
			return false;
	} else if (s[2] == '/' && s[5] == '/' && s[10] == ' ') {
		if (!slot_digits(s, 2, &d) || !slot_digits(s + 3, 2, &mo) || !slot_digits(s + 6, 4, &y))
			return false;
	} else {
		return false;
	}
	if (s[13] != ':' || !slot_digits(s + 11, 2, &h) || !slot_digits(s + 14, 2, &mi) || h > 23 ||
	    mi > 59 || !civil_valid(y, mo, d) || !slot_year_ok(y))
		return false;
	t->year = y;
	t->month = mo;
	t->day = d;
	t->hour = h;
	t->minute = mi;
	return true;
}

/* One data line: a local slot, or a French message in msg. */
static bool
csv_slot(char **fields, int n, struct local_time *start, struct local_time *end,
    const char **label, int *besoin, const char **msg)
{
	int i;
	long chars;

	for (i = 0; i < n; i++) {
		fields[i] = trim_in_place(fields[i]);
		if (utf8_text_length(fields[i], false) < 0) {
			*msg = "La ligne n’est pas du texte UTF-8 valide ou contient des caractères "
			    "de contrôle.";
			return false;
		}
	}
	if (n < 2) {
		*msg = "Il faut au moins deux colonnes : début et fin.";
		return false;
	}
	if (!csv_datetime(fields[0], start)) {
		*msg = "Le début n’est pas une date et une heure valides (exemple : "
		    "2026-03-30 09:00).";
		return false;
	}
	if (!csv_datetime(fields[1], end)) {
		*msg = "La fin n’est pas une date et une heure valides (exemple : 2026-03-30 12:00).";
		return false;
	}
	if (local_minutes_between(start, end) <= 0) {
		*msg = "La fin doit être après le début.";
		return false;
	}
	*label = NULL;
	if (n >= 3 && fields[2][0] != '\0') {
		chars = utf8_text_length(fields[2], false);
		if (chars > SLOT_LABEL_MAX_CHARS) {
			*msg = "Le libellé est trop long (200 caractères au plus).";
			return false;
		}
		*label = fields[2];
	}
	*besoin = -1;
	if (n >= 4 && fields[3][0] != '\0') {
		long long b;

		if (!num_parse(fields[3], 1, SLOT_BESOIN_MAX, &b)) {
			*msg = "Le nombre de personnes nécessaires doit être un nombre entier de 1 "
			    "à 10000.";
			return false;
		}
		*besoin = (int)b;
	}
	return true;
}

/* The separator of the file: whichever of ';' and ',' follows the first field of the first
 * line (a date or a column name holds neither). */
static char
csv_separator(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len && line[i] == '"') {
		for (i++; i < len; i++)
			if (line[i] == '"') {
				if (i + 1 < len && line[i + 1] == '"')
					i++;
				else
					break;
			}
	}
	for (; i < len; i++)
		if (line[i] == ';' || line[i] == ',')
			return line[i];
	return ';';
}

/* The first line is a header when its first field does not start with a digit. */
static bool
csv_is_header(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '"'))
		i++;
	return !(i < len && line[i] >= '0' && line[i] <= '9');
}

int
slot_csv_parse(const char *data, size_t len, struct slot_local_list *out,
    struct slot_errors *errors)
{
	struct slot_local_list got = { 0 };
	const char *p = data, *end = data + len;
	char *buf = NULL, sep = 0;
	int line = 0, start_count = errors->count, rc = -1;
	bool first = true;

	if (len > SLOT_IMPORT_MAX_BYTES) {
		slot_errors_add(errors, 0, NULL, msg_too_big);
		return 1;
	}
	if (memchr(data, '\0', len) != NULL) {
		slot_errors_add(errors, 0, NULL, msg_nul);
		return 1;
	}
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	if ((buf = malloc(len + CSV_MAX_FIELDS + 2)) == NULL)
		return -1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)((nl != NULL ? nl : end) - p);
		char *fields[CSV_MAX_FIELDS];
		struct local_time a = { 0 }, b = { 0 };
		const char *label, *msg = NULL;
		int n, besoin;
		const char *text = p;

		p = nl != NULL ? nl + 1 : end;
		line++;
		if (l > 0 && text[l - 1] == '\r')
			l--;
		if (csv_blank(text, l))
			continue;
		if (first) {
			first = false;
			sep = csv_separator(text, l);
			if (csv_is_header(text, l))
				continue;
		}
		n = csv_split(text, l, sep, buf, fields, CSV_MAX_FIELDS);
		if (n == -1)
			msg = "Un guillemet n’est pas fermé (un champ entre guillemets ne peut pas "
			    "contenir de retour à la ligne).";
		else if (n == -2)
			msg = "Trop de colonnes : début, fin, libellé et besoin au plus.";
		else if (n == -3)
			msg = "Du texte suit un guillemet fermant : mettez tout le champ entre "
			    "guillemets.";
		if (msg != NULL || !csv_slot(fields, n, &a, &b, &label, &besoin, &msg)) {
			slot_errors_add(errors, line, NULL, msg);
			continue;
		}
		if (got.n == SLOT_BATCH_MAX) {
			slot_errors_add(errors, line, NULL, msg_too_many);
			break;
		}
		if (!slot_local_add(&got, &a, &b, label, besoin, line))
			goto fail;
	}
	if (errors->count == start_count && got.n == 0)
		slot_errors_add(errors, 0, NULL, "Le fichier ne contient aucun créneau.");
	if (errors->count > start_count) {
		rc = errors->count - start_count;
		goto fail;
	}
	if (!local_list_move(out, &got))
		goto fail;
	rc = 0;
fail:
	free(buf);
	slot_local_free(&got);
	return rc;
}

struct csv_report {
	struct slot_errors *errors;
};

static void
csv_report(void *ctx, const struct slot_local *slot, const char *message)
{
	struct csv_report *r = ctx;

	slot_errors_add(r->errors, slot != NULL ? slot->line : 0, NULL, message);
}

int
slot_csv_import(struct db *db, const char *data, size_t len, const char *tz,
    struct slot_list *out, struct slot_errors *errors)
{
	struct slot_local_list local = { 0 };
	struct csv_report r = { errors };
	int rc;

	if (!slot_tz_name_valid(tz)) {
		slot_errors_add(errors, 0, NULL, "Le fuseau horaire n’est pas valide "
		    "(exemple : Europe/Paris).");
		return 1;
	}
	rc = slot_csv_parse(data, len, &local, errors);
	if (rc == 0) {
		rc = slot_local_resolve(db, tz, &local, out, csv_report, &r);
		if (rc == -2)
			rc = 1;
	}
	slot_local_free(&local);
	return rc;
}

/* ---------------------------------------------------------------------------------------
 * iCalendar */

/* An excluded or replaced occurrence: its start in UTC, or its local date (a DATE value). */
struct ics_instant {
	long long utc;
	bool is_date;
	int year, month, day;
	const char *uid;   /* for overrides (RECURRENCE-ID), kept by the parsed tree */
};

struct ics_instants {
	struct ics_instant *items;
	size_t n, cap;
};

struct ics {
	icalcomponent *root;
	icaltimezone *campaign;
	int *event_lines;      /* line of the k-th BEGIN:VEVENT, or NULL when they disagree */
	size_t nevent_lines;
	struct ics_instants overrides;
	struct slot_list got;
	struct slot_errors *errors;
	int start_count;
	size_t occurrences;
	int iterations;
	bool too_many;
};

static bool
instants_add(struct ics_instants *l, const struct ics_instant *it)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ics_instant *items = realloc(l->items, cap * sizeof(*items));

		if (items == NULL)
			return false;
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n++] = *it;
	return true;
}

/* The line (1-based) of each BEGIN:VEVENT, unfolded lines (starting with a space or tab)
 * not counting as a new property. */
static int *
ics_event_lines(const char *data, size_t len, size_t *n)
{
	const char *p = data, *end = data + len;
	int *lines = NULL, line = 0;
	size_t cap = 0;

	*n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)((nl != NULL ? nl : end) - p);

		line++;
		if (l >= 12 && strncasecmp(p, "BEGIN:VEVENT", 12) == 0 &&
		    (l == 12 || (l == 13 && p[12] == '\r'))) {
			if (*n == cap) {
				size_t c = cap ? cap * 2 : 16;
				int *more = realloc(lines, c * sizeof(*more));

				if (more == NULL) {
					free(lines);
					*n = 0;
					return NULL;
				}
				lines = more;
				cap = c;
			}
			lines[(*n)++] = line;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return lines;
}

/* SUMMARY made a label: NULL when absent or blank; "" when it is not text. Line breaks and
 * tabs become spaces; cut at SLOT_LABEL_MAX_CHARS characters, the last one "…". */
static char *
ics_label(const char *summary)
{
	char *s, *t;
	size_t i, len, chars = 0;

	if (summary == NULL)
		return NULL;
	if ((s = strdup(summary)) == NULL)
		return NULL;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
			s[i] = ' ';
	t = trim_dup(s);
	free(s);
	if (t == NULL)
		return NULL;
	if (utf8_text_length(t, false) < 0) {
		t[0] = '\0';
		return t;
	}
	if (t[0] == '\0') {
		free(t);
		return NULL;
	}
	len = strlen(t);
	for (i = 0; i < len; i++) {
		if (((unsigned char)t[i] & 0xc0) == 0x80)
			continue;
		if (++chars == SLOT_LABEL_MAX_CHARS) {
			/* t[i] starts the 200th character: replace it and what follows by "…",
			 * when something follows. */
			size_t j = i + 1;

			while (j < len && ((unsigned char)t[j] & 0xc0) == 0x80)
				j++;
			if (j < len) {
				char *cut = realloc(t, i + 4);

				if (cut == NULL) {
					free(t);
					return NULL;
				}
				memcpy(cut + i, "\xE2\x80\xA6", 4);
				return cut;
			}
			break;
		}
	}
	return t;
}

/* The zone of a DATE-TIME property: NULL for UTC, *zone otherwise (the file's VTIMEZONE,
 * libical's zone of that name, or the campaign's for a floating time). False with a
 * message when its TZID is known nowhere. */
static bool
ics_zone(struct ics *ics, icalcomponent *calendar, icalproperty *prop,
    struct icaltimetype t, icaltimezone **zone, char *msg, size_t msglen)
{
	icalparameter *param = icalproperty_get_first_parameter(prop, ICAL_TZID_PARAMETER);
	const char *tzid;

	*zone = NULL;
	if (icaltime_is_utc(t))
		return true;
	if (param == NULL || (tzid = icalparameter_get_tzid(param)) == NULL) {
		*zone = ics->campaign;
		return true;
	}
	*zone = icalcomponent_get_timezone(calendar, tzid);
	if (*zone == NULL)
		*zone = icaltimezone_get_builtin_timezone(tzid);
	if (*zone == NULL) {
		snprintf(msg, msglen, "Le fuseau horaire « %.60s » (TZID) n’est décrit ni dans le "
		    "fichier (VTIMEZONE) ni dans la base des fuseaux.", tzid);
		return false;
	}
	return true;
}

/* Seconds of a local time counted as if it were UTC (wall-clock arithmetic). */
static long long
wall_seconds(struct icaltimetype t)
{
	return civil_to_days(t.year, t.month, t.day) * 86400LL + t.hour * 3600LL +
	    t.minute * 60LL + t.second;
}

static struct icaltimetype
wall_time(long long secs, bool utc)
{
	struct icaltimetype t = icaltime_null_time();
	long long days = secs / 86400, rem = secs % 86400;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &t.year, &t.month, &t.day);
	t.hour = (int)(rem / 3600);
	t.minute = (int)(rem / 60 % 60);
	t.second = (int)(rem % 60);
	if (utc)
		t.zone = icaltimezone_get_utc_timezone();
	return t;
}

/* A local time of zone (NULL: UTC) to UTC, by the rule of slot.h, on libical's zone data:
 * of the offsets in force a day before and a day after, the candidates that read back as
 * the same local time, the earliest (the first of a time that exists twice). False when
 * there is none (the time is in the gap of a daylight-saving change). The same rule as the
 * statement slot_local_to_utc, checked against it by integration.test_slot_series. */
static bool
ics_to_utc(struct icaltimetype t, icaltimezone *zone, long long *out)
{
	long long l = wall_seconds(t), best = 0;
	bool found = false;
	int k;

	if (zone == NULL || zone == icaltimezone_get_utc_timezone()) {
		*out = l;
		return true;
	}
	for (k = -1; k <= 1; k += 2) {
		struct icaltimetype probe = wall_time(l + k * 86400LL, true), back;
		int dst, off = icaltimezone_get_utc_offset_of_utc_time(zone, &probe, &dst);
		long long u = l - off;

		back = wall_time(u, true);
		if (u + icaltimezone_get_utc_offset_of_utc_time(zone, &back, &dst) == l &&
		    (!found || u < best)) {
			best = u;
			found = true;
		}
	}
	*out = best;
	return found;
}

/* The message for a local time that ics_to_utc found in a gap. */
static void
ics_gap_message(struct icaltimetype t, char *msg, size_t msglen)
{
	struct local_time lt = { t.year, t.month, t.day, t.hour, t.minute };
	char when[64];

	local_time_french(&lt, when, sizeof(when));
	snprintf(msg, msglen, "Le %s n’existe pas dans le fuseau de l’événement (changement "
	    "d’heure).", when);
}

/* A DATE or DATE-TIME value of one of the time properties, with its zone. */
static bool
ics_prop_time(struct ics *ics, icalcomponent *calendar, icalproperty *prop,
    struct icaltimetype *t, icaltimezone **zone, char *msg, size_t msglen)
{
	icalvalue *v = icalproperty_get_value(prop);

	if (v == NULL) {
		snprintf(msg, msglen, "La propriété %s n’a pas de valeur lisible.",
		    icalproperty_kind_to_string(icalproperty_isa(prop)));
		return false;
	}
	*t = icalvalue_get_datetime(v);
	if (icaltime_is_null_time(*t) || !icaltime_is_valid_time(*t) ||
	    !civil_valid(t->year, t->month, t->day)) {
		snprintf(msg, msglen, "La date de %s n’est pas valide.",
		    icalproperty_kind_to_string(icalproperty_isa(prop)));
		return false;
	}
	if (!slot_year_ok(t->year)) {
		snprintf(msg, msglen, "La date de %s n’est pas entre %d et %d.",
		    icalproperty_kind_to_string(icalproperty_isa(prop)), SLOT_YEAR_MIN,
		    SLOT_YEAR_MAX);
		return false;
	}
	if (t->is_date) {
		*zone = NULL;
		return true;
	}
	return ics_zone(ics, calendar, prop, *t, zone, msg, msglen);
}

static const char *
ics_event_name(icalcomponent *ev)
{
	const char *s = icalcomponent_get_summary(ev);

	if (s != NULL && s[0] != '\0')
		return s;
	s = icalcomponent_get_uid(ev);
	return s != NULL && s[0] != '\0' ? s : "(sans titre)";
}

static void
ics_error(struct ics *ics, size_t k, icalcomponent *ev, const char *msg)
{
	char name[128];
	const char *n = ev != NULL ? ics_event_name(ev) : NULL;
	int line = ics->event_lines != NULL && k < ics->nevent_lines ? ics->event_lines[k] : 0;

	if (n != NULL) {
		/* Bounded, cut on a character boundary, control characters made spaces. */
		size_t len = strlen(n), i;

		if (len > sizeof(name) - 1) {
			len = sizeof(name) - 1;
			while (len > 0 && ((unsigned char)n[len] & 0xc0) == 0x80)
				len--;
		}
		memcpy(name, n, len);
		name[len] = '\0';
		for (i = 0; i < len; i++)
			if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
				name[i] = ' ';
		if (utf8_text_length(name, false) < 0)
			snprintf(name, sizeof(name), "(nom illisible)");
	}
	slot_errors_add(ics->errors, line, n != NULL ? name : NULL, msg);
}

/* One occurrence: a slot unless excluded. */
static bool
ics_emit(struct ics *ics, long long su, long long eu, const char *label, size_t k,
    icalcomponent *ev)
{
	char def[160];

	if (ics->too_many)
		return true;
	if (++ics->occurrences > SLOT_BATCH_MAX) {
		ics->too_many = true;
		ics_error(ics, k, ev, msg_too_many);
		return true;
	}
	if (label == NULL) {
		icaltimezone *z = ics->campaign;
		struct icaltimetype a = icaltime_from_timet_with_zone((time_t)su, 0, z);
		struct icaltimetype b = icaltime_from_timet_with_zone((time_t)eu, 0, z);
		struct local_time la = { a.year, a.month, a.day, a.hour, a.minute };
		struct local_time lb = { b.year, b.month, b.day, b.hour, b.minute };

		slot_label_default(&la, &lb, def, sizeof(def));
		label = def;
	}
	return slot_list_add(&ics->got, su, eu, label, -1);
}

static bool
ics_excluded(const struct ics_instants *ex, long long utc, struct icaltimetype local)
{
	size_t i;

	for (i = 0; i < ex->n; i++) {
		const struct ics_instant *x = &ex->items[i];

		if (x->is_date ? (x->year == local.year && x->month == local.month &&
		    x->day == local.day) : x->utc == utc)
			return true;
	}
	return false;
}

static bool
ics_overridden(const struct ics *ics, const char *uid, long long utc)
{
	size_t i;

	if (uid == NULL)
		return false;
	for (i = 0; i < ics->overrides.n; i++)
		if (ics->overrides.items[i].utc == utc && strcmp(ics->overrides.items[i].uid, uid) == 0)
			return true;
	return false;
}

/* A property that libical could not read is dropped and replaced by an X-LIC-ERROR
 * ("Can't parse as RECUR value in RRULE property. Removing entire property: ..."). Dropping
 * one of these would change the slots (a repetition lost, an exclusion ignored): such an
 * event is refused, naming the property. Others (an empty DESCRIPTION, as Google writes
 * it) do not matter here. */
static const char *
ics_unreadable_property(icalcomponent *ev)
{
	static const char *const names[] = {
		"DTSTART", "DTEND", "DURATION", "RRULE", "EXDATE", "RDATE", "RECURRENCE-ID",
		"STATUS",
	};
	icalproperty *p;
	size_t i;

	for (p = icalcomponent_get_first_property(ev, ICAL_XLICERROR_PROPERTY); p != NULL;
	    p = icalcomponent_get_next_property(ev, ICAL_XLICERROR_PROPERTY)) {
		const char *text = icalproperty_get_xlicerror(p);

		if (text == NULL)
			continue;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char pattern[32];

			snprintf(pattern, sizeof(pattern), " %s property", names[i]);
			if (strstr(text, pattern) != NULL)
				return names[i];
		}
	}
	return NULL;
}

/* The end of RRULE's UNTIL in UTC (libical 3.0 compares a UTC UNTIL with local occurrences
 * as if they were UTC, losing the last occurrence of an Outlook series east of Greenwich:
 * the bound is applied here instead). A DATE is the end of that day in the event's zone. */
static bool
ics_until(struct icaltimetype until, icaltimezone *zone, long long *out)
{
	if (until.is_date) {
		until.is_date = 0;
		until.hour = 23;
		until.minute = 59;
		until.second = 59;
	}
	if (icaltime_is_utc(until)) {
		*out = wall_seconds(until);
		return true;
	}
	return ics_to_utc(until, zone, out);
}

/* -1 out of memory, 0 done (faults reported through ics_error). */
static int
ics_event(struct ics *ics, icalcomponent *calendar, icalcomponent *ev, size_t k)
{
	icalproperty *pstart, *pend, *pdur, *prule, *p;
	struct icaltimetype start, end = icaltime_null_time();
	icaltimezone *zone = NULL, *ezone = NULL;
	struct ics_instants exdates = { 0 };
	char msg[256], *label = NULL;
	long long duration, su, eu;
	const char *uid = icalcomponent_get_uid(ev), *bad;
	int rc = 0;

	/* A cancelled event is skipped whatever else it holds. */
	if (icalcomponent_get_status(ev) == ICAL_STATUS_CANCELLED)
		return 0;
	if ((bad = ics_unreadable_property(ev)) != NULL) {
		snprintf(msg, sizeof(msg), "La propriété %s de l’événement est illisible.", bad);
		ics_error(ics, k, ev, msg);
		return 0;
	}
	if ((pstart = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY)) == NULL) {
		ics_error(ics, k, ev, "L’événement n’a pas de début (DTSTART).");
		return 0;
	}
	if (!ics_prop_time(ics, calendar, pstart, &start, &zone, msg, sizeof(msg))) {
		ics_error(ics, k, ev, msg);
		return 0;
	}
	if (start.is_date) {
		ics_error(ics, k, ev, "Événement sur une journée entière (sans heure) : un "
		    "créneau a une heure de début et une heure de fin.");
		return 0;
	}
	if (!ics_to_utc(start, zone, &su)) {
		ics_gap_message(start, msg, sizeof(msg));
		ics_error(ics, k, ev, msg);
		return 0;
	}
	pend = icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY);
	pdur = icalcomponent_get_first_property(ev, ICAL_DURATION_PROPERTY);
	if (pend != NULL) {
		struct icaltimetype e;

		if (!ics_prop_time(ics, calendar, pend, &end, &ezone, msg, sizeof(msg))) {
			ics_error(ics, k, ev, msg);
			return 0;
		}
		if (end.is_date) {
			ics_error(ics, k, ev, "La fin (DTEND) est une date sans heure.");
			return 0;
		}
		if (!ics_to_utc(end, ezone, &eu)) {
			ics_gap_message(end, msg, sizeof(msg));
			ics_error(ics, k, ev, msg);
			return 0;
		}
		/* The duration on the wall clock of the start's zone: a weekly 09:00–10:00 stays
		 * 09:00–10:00 across a daylight-saving change. */
		e = icaltime_from_timet_with_zone((time_t)eu, 0,
		    zone != NULL ? zone : icaltimezone_get_utc_timezone());
		duration = wall_seconds(e) - wall_seconds(start);
	} else if (pdur != NULL) {
		struct icaldurationtype d = icalproperty_get_duration(pdur);

		if (icaldurationtype_is_bad_duration(d) || d.is_neg) {
			ics_error(ics, k, ev, "La durée (DURATION) n’est pas valide.");
			return 0;
		}
		duration = (long long)d.weeks * 604800 + (long long)d.days * 86400 +
		    (long long)d.hours * 3600 + (long long)d.minutes * 60 + d.seconds;
	} else {
		ics_error(ics, k, ev, "L’événement n’a ni fin (DTEND) ni durée (DURATION).");
		return 0;
	}
	if (duration <= 0) {
		ics_error(ics, k, ev, "L’événement doit finir après son début.");
		return 0;
	}
	if (duration > 366LL * 86400) {
		ics_error(ics, k, ev, "L’événement dure plus d’un an.");
		return 0;
	}
	label = ics_label(icalcomponent_get_summary(ev));
	if (label != NULL && label[0] == '\0') {
		ics_error(ics, k, ev, "Le titre (SUMMARY) n’est pas du texte UTF-8 valide.");
		goto done;
	}
	if (icalcomponent_get_first_property(ev, ICAL_RDATE_PROPERTY) != NULL) {
		ics_error(ics, k, ev, "Les dates ajoutées une à une (RDATE) ne sont pas prises en "
		    "charge : exportez l’événement sans elles.");
		goto done;
	}
	prule = icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY);
	if (prule == NULL || icalcomponent_get_first_property(ev,
	    ICAL_RECURRENCEID_PROPERTY) != NULL) {
		struct icaltimetype e = wall_time(wall_seconds(start) + duration, zone == NULL);

		if (!ics_to_utc(e, zone, &eu)) {
			ics_gap_message(e, msg, sizeof(msg));
			ics_error(ics, k, ev, msg);
		} else if (eu <= su) {
			ics_error(ics, k, ev, "L’événement doit finir après son début.");
		} else if (!ics_emit(ics, su, eu, label, k, ev)) {
			rc = -1;
		}
		goto done;
	}
	if (icalcomponent_get_next_property(ev, ICAL_RRULE_PROPERTY) != NULL) {
		ics_error(ics, k, ev, "L’événement a plusieurs règles de répétition (RRULE).");
		goto done;
	}
	for (p = icalcomponent_get_first_property(ev, ICAL_EXDATE_PROPERTY); p != NULL;
	    p = icalcomponent_get_next_property(ev, ICAL_EXDATE_PROPERTY)) {
		struct ics_instant x = { 0 };
		struct icaltimetype t;
		icaltimezone *xz;

		if (!ics_prop_time(ics, calendar, p, &t, &xz, msg, sizeof(msg))) {
			ics_error(ics, k, ev, msg);
			goto done;
		}
		x.is_date = t.is_date;
		x.year = t.year;
		x.month = t.month;
		x.day = t.day;
		/* An excluded time in a gap excludes nothing that exists. */
		if (!t.is_date && !ics_to_utc(t, xz, &x.utc))
			continue;
		if (!instants_add(&exdates, &x)) {
			rc = -1;
			goto done;
		}
	}
	{
		struct icalrecurrencetype rule = icalproperty_get_rrule(prule);
		icalrecur_iterator *it;
		struct icaltimetype occ;
		long long until = 0;
		bool has_until = !icaltime_is_null_time(rule.until);
		if (rule.freq == ICAL_NO_RECURRENCE) {
			ics_error(ics, k, ev, "La règle de répétition (RRULE) n’est pas lisible.");
			goto done;
		}
		if (rule.count == 0 && !has_until) {
			ics_error(ics, k, ev, "La répétition (RRULE) n’a pas de fin (ni COUNT ni "
			    "UNTIL) : donnez-lui une fin avant d’exporter le calendrier.");
			goto done;
		}
		if (has_until) {
			if (!ics_until(rule.until, zone, &until)) {
				ics_error(ics, k, ev, "La fin de la répétition (UNTIL) n’existe pas "
				    "dans le fuseau de l’événement.");
				goto done;
			}
			rule.until = icaltime_null_time();
		}
		if ((it = icalrecur_iterator_new(rule, start)) == NULL) {
			ics_error(ics, k, ev, "La règle de répétition (RRULE) n’est pas valide.");
			goto done;
		}
		for (occ = icalrecur_iterator_next(it); !icaltime_is_null_time(occ) &&
		    !ics->too_many; occ = icalrecur_iterator_next(it)) {
			struct icaltimetype e;
			long long ou, oe;

			if (++ics->iterations > ICS_MAX_ITERATIONS) {
				ics_error(ics, k, ev, "La répétition (RRULE) donne trop d’occurrences.");
				break;
			}
			if (!slot_year_ok(occ.year)) {
				snprintf(msg, sizeof(msg), "La répétition (RRULE) va au-delà de %d.",
				    SLOT_YEAR_MAX);
				ics_error(ics, k, ev, msg);
				break;
			}
			e = wall_time(wall_seconds(occ) + duration, zone == NULL);
			if (!ics_to_utc(occ, zone, &ou) || !ics_to_utc(e, zone, &oe)) {
				ics_gap_message(!ics_to_utc(occ, zone, &ou) ? occ : e, msg, sizeof(msg));
				ics_error(ics, k, ev, msg);
				break;
			}
			if (has_until && ou > until)
				break;
			if (ics_excluded(&exdates, ou, occ) || ics_overridden(ics, uid, ou))
				continue;
			if (oe <= ou)
				continue;
			if (!ics_emit(ics, ou, oe, label, k, ev)) {
				rc = -1;
				break;
			}
		}
		icalrecur_iterator_free(it);
	}
done:
	free(label);
	free(exdates.items);
	return rc;
}

/* Every VCALENDAR of the parsed file: the root, or the children of an XROOT. */
static icalcomponent *
ics_next_calendar(icalcomponent *root, icalcomponent *prev)
{
	if (icalcomponent_isa(root) == ICAL_VCALENDAR_COMPONENT)
		return prev == NULL ? root : NULL;
	if (icalcomponent_isa(root) != ICAL_XROOT_COMPONENT)
		return NULL;
	return prev == NULL ? icalcomponent_get_first_component(root, ICAL_VCALENDAR_COMPONENT) :
	    icalcomponent_get_next_component(root, ICAL_VCALENDAR_COMPONENT);
}

/* The file's own zones, bounded in number and in their first year; false with a message. */
static bool
ics_zones_bounded(struct ics *ics, char *msg, size_t msglen)
{
	icalcomponent *cal = NULL, *z, *o;
	int n = 0;

	while ((cal = ics_next_calendar(ics->root, cal)) != NULL) {
		for (z = icalcomponent_get_first_component(cal, ICAL_VTIMEZONE_COMPONENT); z != NULL;
		    z = icalcomponent_get_next_component(cal, ICAL_VTIMEZONE_COMPONENT)) {
			if (++n > ICS_MAX_ZONES) {
				snprintf(msg, msglen, "Le fichier décrit plus de %d fuseaux horaires "
				    "(VTIMEZONE).", ICS_MAX_ZONES);
				return false;
			}
			for (o = icalcomponent_get_first_component(z, ICAL_ANY_COMPONENT); o != NULL;
			    o = icalcomponent_get_next_component(z, ICAL_ANY_COMPONENT)) {
				icalproperty *p = icalcomponent_get_first_property(o,
				    ICAL_DTSTART_PROPERTY);
				struct icaltimetype t;

				if (p == NULL)
					continue;
				t = icalproperty_get_dtstart(p);
				if (t.year < ICS_ZONE_YEAR_MIN || t.year > SLOT_YEAR_MAX) {
					snprintf(msg, msglen, "Un fuseau horaire du fichier (VTIMEZONE) "
					    "commence en %d : l’année doit être entre %d et %d.", t.year,
					    ICS_ZONE_YEAR_MIN, SLOT_YEAR_MAX);
					return false;
				}
			}
		}
	}
	return true;
}

/* First pass: the occurrences that a VEVENT with RECURRENCE-ID replaces. */
static int
ics_collect_overrides(struct ics *ics)
{
	icalcomponent *cal = NULL, *ev;

	while ((cal = ics_next_calendar(ics->root, cal)) != NULL) {
		for (ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); ev != NULL;
		    ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
			icalproperty *p = icalcomponent_get_first_property(ev,
			    ICAL_RECURRENCEID_PROPERTY);
			struct ics_instant x = { 0 };
			struct icaltimetype t;
			icaltimezone *z;
			char msg[256];

			if (p == NULL || (x.uid = icalcomponent_get_uid(ev)) == NULL)
				continue;
			/* An unreadable one is reported with its own event, in the second pass. */
			if (!ics_prop_time(ics, cal, p, &t, &z, msg, sizeof(msg)) || t.is_date ||
			    !ics_to_utc(t, z, &x.utc))
				continue;
			if (!instants_add(&ics->overrides, &x))
				return -1;
		}
	}
	return 0;
}

int
slot_ics_parse(const char *data, size_t len, const char *tz, struct slot_list *out,
    struct slot_errors *errors)
{
	struct ics ics = { 0 };
	icalcomponent *cal = NULL, *ev;
	char *text = NULL;
	size_t k = 0, i, nevents = 0;
	int rc = -1;

	ics.errors = errors;
	ics.start_count = errors->count;
	if (len > SLOT_IMPORT_MAX_BYTES) {
		slot_errors_add(errors, 0, NULL, msg_too_big);
		return 1;
	}
	if (memchr(data, '\0', len) != NULL) {
		slot_errors_add(errors, 0, NULL, msg_nul);
		return 1;
	}
	if (!slot_tz_name_valid(tz) ||
	    (ics.campaign = strcmp(tz, "UTC") == 0 ? icaltimezone_get_utc_timezone() :
	    icaltimezone_get_builtin_timezone(tz)) == NULL) {
		slot_errors_add(errors, 0, NULL, "Le fuseau horaire de la campagne est inconnu.");
		return 1;
	}
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	/* Anything else is refused before libical, which writes its parser's complaints to
	 * stderr (the program's log). */
	{
		size_t lead = 0;

		while (lead < len && (data[lead] == ' ' || data[lead] == '\t' ||
		    data[lead] == '\r' || data[lead] == '\n'))
			lead++;
		if (len - lead < 15 || strncasecmp(data + lead, "BEGIN:VCALENDAR", 15) != 0) {
			slot_errors_add(errors, 0, NULL, msg_not_ics);
			return 1;
		}
	}
	if ((text = malloc(len + 1)) == NULL)
		return -1;
	memcpy(text, data, len);
	text[len] = '\0';
	icalerror_set_errors_are_fatal(0);
	ics.event_lines = ics_event_lines(text, len, &ics.nevent_lines);
	ics.root = icalparser_parse_string(text);
	icalerror_clear_errno();
	if (ics.root == NULL || ics_next_calendar(ics.root, NULL) == NULL) {
		slot_errors_add(errors, 0, NULL, msg_not_ics);
		rc = 1;
		goto done;
	}
	/* The k-th VEVENT is named by the k-th BEGIN:VEVENT line only if they agree in number. */
	while ((cal = ics_next_calendar(ics.root, cal)) != NULL)
		nevents += (size_t)icalcomponent_count_components(cal, ICAL_VEVENT_COMPONENT);
	if (nevents != ics.nevent_lines) {
		free(ics.event_lines);
		ics.event_lines = NULL;
	}
	{
		char msg[256];

		if (!ics_zones_bounded(&ics, msg, sizeof(msg))) {
			slot_errors_add(errors, 0, NULL, msg);
			rc = 1;
			goto done;
		}
	}
	if (ics_collect_overrides(&ics) < 0)
		goto done;
	cal = NULL;
	while ((cal = ics_next_calendar(ics.root, cal)) != NULL && !ics.too_many) {
		for (ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
		    ev != NULL && !ics.too_many;
		    ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT), k++) {
			if (ics_event(&ics, cal, ev, k) < 0)
				goto done;
		}
	}
	if (errors->count == ics.start_count && ics.got.n == 0)
		slot_errors_add(errors, 0, NULL, "Le calendrier ne contient aucun événement à "
		    "importer.");
	if (errors->count > ics.start_count) {
		rc = errors->count - ics.start_count;
		goto done;
	}
	slot_list_sort(&ics.got);
	for (i = 0; i < ics.got.n; i++)
		if (!slot_list_add(out, ics.got.items[i].starts_at, ics.got.items[i].ends_at,
		    ics.got.items[i].label, -1))
			goto done;
	rc = 0;
done:
	if (ics.root != NULL)
		icalcomponent_free(ics.root);
	slot_list_free(&ics.got);
	free(ics.overrides.items);
	free(ics.event_lines);
	free(text);
	return rc;
}
