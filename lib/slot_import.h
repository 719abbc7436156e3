/* slot_import.h — slots from a file the organiser uploads: CSV or iCalendar (.ics).
 * Both give everything or nothing: when any line or event is faulty, no slot is returned
 * and every fault is listed with its line (struct slot_errors, slot.h).
 *
 * CSV: one slot a line, columns début, fin[, libellé[, besoin]], separated by ';' or ','
 * (the one that follows the first field of the first line), UTF-8 with or without a BOM,
 * LF or CRLF, fields optionally in double quotes ("" for a quote, no line break inside).
 * A first line whose first field does not start with a digit is a header and is skipped.
 * Times are local times of the campaign's zone: "2026-03-30 09:00", "2026-03-30T09:00" or
 * "30/03/2026 09:00", seconds allowed when ":00". An empty libellé gets the French default
 * label (slot.h); besoin is empty or 1–10000. Local times are converted to UTC by
 * PostgreSQL with the daylight-saving rule of slot.h (a time in the gap is refused).
 *
 * iCalendar (RFC 5545, through libical): every VEVENT of every VCALENDAR is a slot, or
 * several when it repeats: DTSTART with DTEND or DURATION (neither: refused); times in UTC
 * ("Z"), with a TZID found in the file's VTIMEZONE or else among libical's zones (the
 * system's tzdata), or floating (read in the campaign's zone). Conversions are libical's
 * (a time in a gap is moved by libical, not refused: calendar programs never write one).
 *  - RRULE is expanded (EXDATE removes occurrences, a VEVENT with RECURRENCE-ID replaces
 *    its occurrence); a rule without COUNT or UNTIL, or the file giving more than SLOT_BATCH_MAX
 *    slots, is refused. RDATE is refused (no calendar program writes it for meetings).
 *  - STATUS:CANCELLED events (and cancelled occurrences) are skipped.
 *  - All-day events (VALUE=DATE) are refused: a slot has a start and an end time.
 *  - The label is SUMMARY (line breaks and tabs made spaces, cut at 200 characters with
 *    "…"); no SUMMARY: the French default label in the campaign's zone.
 * Slots come sorted by start. An error names the line of the event's BEGIN:VEVENT and the
 * event (its SUMMARY, else its UID). */
#ifndef FIABLE_SLOT_IMPORT_H
#define FIABLE_SLOT_IMPORT_H

#include <stddef.h>

#include "slot.h"

#define SLOT_IMPORT_MAX_BYTES (1024 * 1024) /* largest file read */

/* CSV text to local slots, no database: 0 with out filled (file order); otherwise the number
 * of faults, listed in errors, and out left empty; -1 when out of memory. */
int slot_csv_parse(const char *data, size_t len, struct slot_local_list *out,
    struct slot_errors *errors);
/* slot_csv_parse, then the conversion to UTC in tz: 0 with the slots appended to out (file
 * order); >0 faults listed in errors; -1 on a database failure or out of memory. */
int slot_csv_import(struct db *db, const char *data, size_t len, const char *tz,
    struct slot_list *out, struct slot_errors *errors);

/* An .ics file to slots, no database; tz is the campaign's zone (floating times, default
 * labels). 0 with the slots appended to out; >0 faults listed in errors; -1 out of memory. */
int slot_ics_parse(const char *data, size_t len, const char *tz, struct slot_list *out,
    struct slot_errors *errors);

#endif
