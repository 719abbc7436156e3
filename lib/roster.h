/* roster.h — who is available when, for the administration: GET /api/admin/submissions
 * (JSON: every slot with its count of people, every submission, withdrawn ones included)
 * and /api/admin/submissions.csv (a spreadsheet of the active ones). */
#ifndef FIABLE_ROSTER_H
#define FIABLE_ROSTER_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "db.h"

struct roster {
	PGresult *slots;        /* STMT_ADMIN_SLOTS */
	PGresult *people;       /* STMT_ADMIN_SUBMISSIONS */
};

/* Reads the slots (days in time zone tz) and the submissions. False on a database error;
 * call roster_free either way. */
bool roster_load(struct db *db, const char *tz, struct roster *ro);
void roster_free(struct roster *ro);

/* {creneaux: [{id, libelle, debut, fin, jour, titre, disponibles}], soumissions: [...],
 * actives, retirees}. */
cJSON *roster_json(const struct roster *ro);

/* UTF-8 with BOM, ";" between fields (what a French spreadsheet expects), CRLF line ends:
 * a row per active person, a column per slot, the count of people per slot at the end.
 * Every field is quoted; a cell a spreadsheet would take for a formula starts with an
 * apostrophe. Check t->failed once done. */
void roster_csv(const struct roster *ro, struct buf *t);

/* One CSV field (';' before it unless first), always quoted (quotes doubled). A cell a
 * spreadsheet would take for a formula (first character = + - @, tab or CR) starts with an
 * apostrophe instead. */
void roster_csv_field(struct buf *t, const char *v, bool first);
/* The file name of today's export: "disponibilites-YYYY-MM-DD.csv" (UTC). */
void roster_csv_name(char *name, size_t cap);

#endif
