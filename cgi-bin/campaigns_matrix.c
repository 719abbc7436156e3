/* campaigns_matrix.c — who is available when, for fiable-campaigns:
 *   GET  …/N/matrice?apres=ID&limite=1..500&comptes=oui|non → {creneaux, personnes, suivant}
 *        (keyset paging on the answer id: each page one bounded query, memory flat; with
 *        comptes=non the slots come without "disponibles": the page after the first keeps
 *        the first one's counts, which sql/0021 keeps at write time)
 *   GET  …/N/reponses.csv → the active answers, one column per slot (removed ones marked
 *        « (retiré) »), streamed from a cursor 500 rows at a time. */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "campaign.h"
#include "campaigns.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "num.h"
#include "respond.h"
#include "roster.h"

/* The campaign exists (0), does not (1, answered 404), or the read failed (-1, answered). */
static int
campaign_exists(struct call *call, const char *id)
{
	const char *params[1] = { id };
	PGresult *res = db_query(call->db, STMT_CAMPAIGN_GET, params);
	int rc = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK ?
	    (PQntuples(res) > 0 ? 0 : 1) : -1;

	PQclear(res);
	if (rc == 1)
		respond_error(call, ERR_NOT_FOUND);
	else if (rc < 0)
		respond_db_failure(call);
	return rc;
}

void
handle_matrix(struct call *call)
{
	struct campaign_address a;
	char after[24] = "0", limit[8] = "", rows[24], counts[32] = "oui";
	long long lim = CAMPAIGN_MATRIX_LIMIT_DEF, aft = 0;
	const char *params[3];
	PGresult *slots = NULL, *people = NULL;
	cJSON *o, *list;
	int i, shown;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	if ((http_query_value(call->req->query_string, "apres", after, sizeof(after)) &&
	    !num_parse(after, 0, 999999999999999999LL, &aft)) ||
	    (http_query_value(call->req->query_string, "limite", limit, sizeof(limit)) &&
	    !num_parse(limit, 1, CAMPAIGN_MATRIX_LIMIT_MAX, &lim)) ||
	    (http_query_value(call->req->query_string, "comptes", counts, sizeof(counts)) &&
	    strcmp(counts, "oui") != 0 && strcmp(counts, "non") != 0)) {
		cJSON *errors = cJSON_CreateObject();
		cJSON_AddStringToObject(errors, "limite", "Paramètres invalides : apres est l’id de "
		    "la dernière réponse lue, limite un nombre de 1 à 500, comptes oui ou non.");
		respond_problem(call, ERR_VALIDATION, "errors", errors);
		cJSON_Delete(errors);
		return;
	}
	if (campaign_exists(call, a.id) != 0)
		return;
	snprintf(after, sizeof(after), "%lld", aft);
	snprintf(rows, sizeof(rows), "%lld", lim + 1);
	params[0] = a.id;
	params[1] = after;
	params[2] = rows;
	if (strcmp(counts, "non") != 0)
		slot_counts_compact(call->db);
	slots = db_query(call->db, strcmp(counts, "non") == 0 ? STMT_CAMPAIGN_SLOTS_UNCOUNTED :
	    STMT_CAMPAIGN_SLOTS, params);
	people = db_query(call->db, STMT_CAMPAIGN_MATRIX_PEOPLE, params);
	if (slots == NULL || PQresultStatus(slots) != PGRES_TUPLES_OK || people == NULL ||
	    PQresultStatus(people) != PGRES_TUPLES_OK) {
		respond_db_failure(call);
		goto done;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "creneaux", campaign_slots_json(slots, true));
	list = cJSON_AddArrayToObject(o, "personnes");
	shown = PQntuples(people) > lim ? (int)lim : PQntuples(people);
	for (i = 0; i < shown; i++) {
		cJSON *p = cJSON_CreateObject();
		const char *ticked = db_text(people, i, "creneaux");
		cJSON_AddNumberToObject(p, "id", db_number(people, i, "id"));
		cJSON_AddStringToObject(p, "nom", db_text_or(people, i, "nom", ""));
		cJSON_AddStringToObject(p, "email", db_text_or(people, i, "email", ""));
		cJSON_AddBoolToObject(p, "en_retard", db_bool(people, i, "en_retard"));
		cJSON_AddItemToObject(p, "creneaux", ticked ? cJSON_Parse(ticked) :
		    cJSON_CreateArray());
		cJSON_AddItemToArray(list, p);
	}
	if (PQntuples(people) > lim)
		cJSON_AddNumberToObject(o, "suivant", db_number(people, shown - 1, "id"));
	else
		cJSON_AddNullToObject(o, "suivant");
	respond_json(call, 200, NULL, o);
	cJSON_Delete(o);
done:
	PQclear(slots);
	PQclear(people);
}

/* "30/03/2026 09:00 — Matin" from an answered time "2026-03-30T09:00:00+02:00". */
static void
column_title(struct buf *t, const PGresult *slots, int j)
{
	const char *d = db_text_or(slots, j, "debut", "");

	buf_clear(t);
	if (strlen(d) >= 16)
		buf_printf(t, "%.2s/%.2s/%.4s %.5s — ", d + 8, d + 5, d, d + 11);
	buf_adds(t, db_text_or(slots, j, "libelle", ""));
	if (db_bool(slots, j, "retire"))
		buf_adds(t, " (retiré)");
}

static bool
has_slot(const cJSON *ticked, const char *id)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, ticked)
		if (cJSON_IsString(s) && strcmp(s->valuestring, id) == 0)
			return true;
	return false;
}

/* Writes the page in t to the response and empties t. */
static void
flush(struct call *call, struct buf *t)
{
	if (t->len > 0)
		FCGX_PutStr(t->p, (int)t->len, call->fcgi->out);
	buf_clear(t);
}

void
handle_export(struct call *call)
{
	struct campaign_address a;
	struct buf t = BUF_INIT, title = BUF_INIT;
	const char *params[1];
	PGresult *slots = NULL, *res = NULL;
	int i, j, nslots;
	bool started = false;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	if (campaign_exists(call, a.id) != 0)
		return;
	params[0] = a.id;
	slot_counts_compact(call->db);
	if (!db_begin(call->db))
		goto fail;
	if ((res = db_exec(call->db, STMT_CAMPAIGN_EXPORT_SNAPSHOT, NULL)) == NULL || !db_ok(res))
		goto fail;
	PQclear(res);
	res = NULL;
	slots = db_exec(call->db, STMT_CAMPAIGN_SLOTS, params);
	if (slots == NULL || PQresultStatus(slots) != PGRES_TUPLES_OK)
		goto fail;
	if ((res = db_exec(call->db, STMT_CAMPAIGN_EXPORT_DECLARE, params)) == NULL || !db_ok(res))
		goto fail;
	PQclear(res);
	res = NULL;
	nslots = PQntuples(slots);

	/* No Content-Length: the rows are written as they are fetched. */
	FCGX_FPrintF(call->fcgi->out, "Status: 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\n"
	    "Content-Disposition: attachment; filename=\"campagne-%s.csv\"\r\n"
	    "Cache-Control: no-store\r\n\r\n", a.id);
	started = true;
	buf_add(&t, "\xEF\xBB\xBF", 3);
	roster_csv_field(&t, "Nom", true);
	roster_csv_field(&t, "E-mail", false);
	roster_csv_field(&t, "En retard", false);
	roster_csv_field(&t, "Modifiée le", false);
	for (j = 0; j < nslots; j++) {
		column_title(&title, slots, j);
		roster_csv_field(&t, title.p ? title.p : "", false);
	}
	roster_csv_field(&t, "Commentaire", false);
	buf_add(&t, "\r\n", 2);
	for (;;) {
		if ((res = db_exec(call->db, STMT_CAMPAIGN_EXPORT_FETCH, NULL)) == NULL ||
		    PQresultStatus(res) != PGRES_TUPLES_OK)
			goto fail;
		if (PQntuples(res) == 0)
			break;
		for (i = 0; i < PQntuples(res); i++) {
			cJSON *ticked = cJSON_Parse(db_text_or(res, i, "creneaux", "[]"));
			roster_csv_field(&t, db_text_or(res, i, "nom", ""), true);
			roster_csv_field(&t, db_text_or(res, i, "email", ""), false);
			roster_csv_field(&t, db_bool(res, i, "en_retard") ? "oui" : "", false);
			roster_csv_field(&t, db_text_or(res, i, "modifiee", ""), false);
			for (j = 0; j < nslots; j++)
				roster_csv_field(&t, has_slot(ticked, db_text_or(slots, j, "id", "")) ?
				    "oui" : "", false);
			roster_csv_field(&t, db_text_or(res, i, "commentaire", ""), false);
			buf_add(&t, "\r\n", 2);
			cJSON_Delete(ticked);
		}
		PQclear(res);
		res = NULL;
		if (t.failed)
			goto fail;
		flush(call, &t);
	}
	PQclear(res);
	res = db_exec(call->db, STMT_CAMPAIGN_EXPORT_CLOSE, NULL);
	PQclear(res);
	res = NULL;
	db_commit(call->db);
	roster_csv_field(&t, "Personnes disponibles", true);
	roster_csv_field(&t, "", false);
	roster_csv_field(&t, "", false);
	roster_csv_field(&t, "", false);
	for (j = 0; j < nslots; j++)
		roster_csv_field(&t, db_text_or(slots, j, "disponibles", "0"), false);
	roster_csv_field(&t, "", false);
	buf_add(&t, "\r\n", 2);
	flush(call, &t);
	respond_record(call, 200);
	goto done;
fail:
	PQclear(res);
	if (!db_lost(call->db))
		log_error("export de la campagne %s interrompu : %s", a.id, db_error(call->db));
	db_rollback(call->db);
	if (!started)
		respond_db_failure(call);
	else
		/* The status is sent: a last line says the file is incomplete. */
		FCGX_PutS("\r\n\"EXPORT INTERROMPU : fichier incomplet, recommencez.\"\r\n",
		    call->fcgi->out);
done:
	PQclear(slots);
	buf_free(&t);
	buf_free(&title);
}
