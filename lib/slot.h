/* slot.h — what the slot producers share (series, CSV and iCalendar imports): a list of
 * slots in UTC, the local wall-clock times they come from, their French default label, the
 * conversion of local times to UTC in a time zone (through PostgreSQL), and line-numbered
 * errors.
 *
 * Local times that a daylight-saving change makes odd (one rule for the series and CSV):
 *  - a local time that does not exist (spring-forward gap: 02:00–02:59 on 2026-03-29 in
 *    Europe/Paris) is refused with an error naming the date and time;
 *  - a local time that exists twice (fall-back: 02:00–02:59 on 2026-10-25 in Europe/Paris)
 *    is its FIRST occurrence (summer time, UTC+2 in Paris), the reading of someone who
 *    looks at the clock before it goes back. PostgreSQL's own default would be the second. */
#ifndef FIABLE_SLOT_H
#define FIABLE_SLOT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct db;

/* The limits, in one place. */
#define SLOT_LABEL_MAX_CHARS 200   /* creneaux.label CHECK (sql/0001) */
#define SLOT_BESOIN_MAX      10000 /* people needed by one slot */
#define SLOT_BATCH_MAX       500   /* slots one generation or import may give */
#define SLOT_ERRORS_MAX      50    /* errors listed; one more entry says there were more */
#define SLOT_TZ_MAX_LEN      64    /* an IANA zone name ("America/Argentina/Buenos_Aires") */
/* Years a slot may be in: a campaign is about now, and a far year would make libical expand
 * a file's VTIMEZONE over millennia (a cheap way to load the server). */
#define SLOT_YEAR_MIN        2000
#define SLOT_YEAR_MAX        2100

/* A slot in UTC: seconds since the epoch. besoin is -1 when not given. */
struct slot {
	long long starts_at, ends_at;
	char *label;
	int besoin;
};

struct slot_list {
	struct slot *items;
	size_t n, cap;
};

/* A wall-clock time of a time zone (proleptic Gregorian calendar, minutes). */
struct local_time {
	int year, month, day, hour, minute;
};

/* A slot still in local time; label NULL means the French default. line: where it came from
 * (a CSV line), 0 otherwise. */
struct slot_local {
	struct local_time start, end;
	char *label;
	int besoin;
	int line;
};

struct slot_local_list {
	struct slot_local *items;
	size_t n, cap;
};

/* Appends a copy of label (NULL: the default label of the local times is the caller's
 * business; here label must not be NULL). False when out of memory. */
bool slot_list_add(struct slot_list *l, long long starts_at, long long ends_at,
    const char *label, int besoin);
/* Orders by start, then end, then label (stable for equal slots). */
void slot_list_sort(struct slot_list *l);
void slot_list_free(struct slot_list *l);
/* [{"debut":"2026-03-30T07:00:00Z","fin":"2026-03-30T10:00:00Z","libelle":"…",
 *   "besoin":null}] — besoin is a number when given. NULL when out of memory. */
cJSON *slot_list_json(const struct slot_list *l);

/* label is copied (NULL allowed: default label). False when out of memory. */
bool slot_local_add(struct slot_local_list *l, const struct local_time *start,
    const struct local_time *end, const char *label, int besoin, int line);
void slot_local_free(struct slot_local_list *l);

/* "2026-03-30T07:00:00Z" (always 20 characters and a NUL). False outside years 1–9999. */
bool slot_utc_format(long long t, char out[21]);

/* Calendar arithmetic on civil dates. Days are counted from 1970-01-01. */
long long civil_to_days(int year, int month, int day);
void civil_from_days(long long days, int *year, int *month, int *day);
/* 1 (Monday) to 7 (Sunday). */
int iso_weekday(long long days);
/* True when year/month/day is a date of years 1–9999. */
bool civil_valid(int year, int month, int day);
/* Minutes between two local times (b - a), wall clock. */
long long local_minutes_between(const struct local_time *a, const struct local_time *b);

/* True when year is within SLOT_YEAR_MIN..SLOT_YEAR_MAX. */
bool slot_year_ok(int year);

/* n decimal digits exactly (no sign, no space) into *out; false otherwise. */
bool slot_digits(const char *s, int n, int *out);
/* Strict readers (years SLOT_YEAR_MIN..SLOT_YEAR_MAX): "2026-03-30" (ISO) ; "09:00" (00:00–23:59, two digits each). */
bool local_date_parse(const char *s, struct local_time *out);
bool local_hm_parse(const char *s, int *hour, int *minute);
/* "2026-03-30 09:00" for PostgreSQL (out holds at least 17 bytes). */
void local_time_format(const struct local_time *t, char *out, size_t len);
/* "30/03/2026 à 02:30", for messages. */
void local_time_french(const struct local_time *t, char *out, size_t len);

/* The French default label: "lundi 30 mars 2026, 09:00–12:00", or with two dates when the
 * slot ends on another day: "lundi 30 mars 2026, 22:00 – mardi 31 mars 2026, 02:00". */
void slot_label_default(const struct local_time *start, const struct local_time *end,
    char *out, size_t len);

/* True when name looks like an IANA zone name ("Europe/Paris", "Etc/GMT+1", "UTC"): it is
 * then given to PostgreSQL or libical, which say whether they know it. POSIX strings
 * ("UTC+3", "EST5EDT") and abbreviations are refused here, being no campaign's zone. */
bool slot_tz_name_valid(const char *name);

/* Converts every local start and end of in to UTC in time zone tz (one statement,
 * STMT_SLOT_LOCAL_TO_UTC), giving out in the same order, default labels filled in.
 * Returns 0 on success; otherwise nothing is added to out and, for each faulty slot,
 * report(ctx, slot, message) is called with a French message (a time in the gap of a
 * daylight-saving change, a slot not ending after its start); the number of faulty slots is
 * returned. -2 when PostgreSQL does not know the zone (report called once with slot NULL),
 * -1 on a database failure or out of memory. */
typedef void (*slot_report_fn)(void *ctx, const struct slot_local *slot, const char *message);
int slot_local_resolve(struct db *db, const char *tz, const struct slot_local_list *in,
    struct slot_list *out, slot_report_fn report, void *ctx);

/* Line-numbered errors of an import, as a JSON array
 * [{"ligne":3,"message":"…"}] or [{"ligne":12,"evenement":"Permanence","message":"…"}]:
 * line 0 is left out (the file as a whole), event NULL too. After SLOT_ERRORS_MAX entries,
 * one last {"message":"… et d'autres erreurs."} and nothing more. */
struct slot_errors {
	cJSON *array;
	int count;  /* all errors, listed or not */
};
bool slot_errors_init(struct slot_errors *e);
void slot_errors_add(struct slot_errors *e, int line, const char *event, const char *message);
void slot_errors_free(struct slot_errors *e);

#endif
