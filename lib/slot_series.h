/* slot_series.h — a series of slots: a date range × chosen weekdays × one or more time ranges,
 * with dates to skip, in a time zone. The calendar is walked here (no database); the local
 * times are converted to UTC by PostgreSQL with its time zone database (slot_local_resolve),
 * with the daylight-saving rule of slot.h: a time in the spring-forward gap is refused (the
 * message names the date: skip it in "sauf"), a time that exists twice is its first
 * occurrence.
 *
 * The request, a JSON object (every member not listed is refused):
 *   {"du":"2026-03-23", "au":"2026-04-03",        first and last date, both included
 *    "jours":[1,3,5],                              ISO weekdays, 1 = Monday … 7 = Sunday
 *    "plages":[{"debut":"09:00","fin":"12:00",    local times; fin after debut, same day
 *               "libelle":"Matin"}],               optional label of every slot of the range
 *    "sauf":["2026-03-27"],                        optional dates to skip, within du..au
 *    "fuseau":"Europe/Paris",                      optional when the caller gives a default
 *    "besoin":2}                                   optional people needed by every slot
 * A slot without "libelle" gets the French default label "lundi 30 mars 2026, 09:00–12:00".
 * Slots come by date, then by start time of the range. */
#ifndef FIABLE_SLOT_SERIES_H
#define FIABLE_SLOT_SERIES_H

#include <cjson/cJSON.h>

#include "slot.h"

#define SLOT_SERIES_MAX_DAYS   366 /* du..au, both included */
#define SLOT_SERIES_MAX_RANGES 24  /* "plages" */
#define SLOT_SERIES_MAX_SKIPS  366 /* "sauf" */

/* Checks the request and lays out its slots in local time (no database). default_tz is the
 * campaign's zone, used when "fuseau" is absent (NULL: "fuseau" is required); the zone used
 * goes into tz. Returns 0 with out filled; otherwise the number of faulty members, each
 * with its French message in errors ({"member": "message"}); -1 when out of memory. */
int slot_series_plan(const cJSON *request, const char *default_tz, struct slot_local_list *out,
    char tz[SLOT_TZ_MAX_LEN + 1], cJSON *errors);

/* slot_series_plan, then the conversion to UTC: 0 with the slots appended to out; >0 faults
 * in errors (a time in a daylight-saving gap is reported on "plages", a zone PostgreSQL does
 * not know on "fuseau"); -1 on a database failure or out of memory. */
int slot_series_generate(struct db *db, const cJSON *request, const char *default_tz,
    struct slot_list *out, cJSON *errors);

#endif
