/* campaigns_participants_import.c — for fiable-campaigns (campaigns.c): a campaign's
 * participants imported from a CSV file (sql/0018, lib/participants.h).
 *   POST   …/N/participants/import     text/csv → 201 {ajoutes} or 422 {erreurs: [{ligne,
 *                                      message}]}, nobody added
 * Audit: a row per participant added (the trigger of sql/0018). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "campaign.h"
#include "campaigns.h"
#include "json.h"
#include "participants.h"
#include "respond.h"

static bool
is_csv(const char *content_type)
{
	return content_type != NULL && strcspn(content_type, "; ") == 8 &&
	    strncasecmp(content_type, "text/csv", 8) == 0;
}

/* The lines of rows that cannot be added (the same e-mail twice in the file, or already on
 * the list) into errs; how many, or -1 on a database failure. */
static int
import_conflicts(struct db *db, const char *id, const char *rows, struct slot_errors *errs)
{
	const char *params[2] = { id, rows };
	PGresult *res = db_exec(db, STMT_PARTICIPANTS_IMPORT_CHECK, params);
	char msg[160];
	int i, n;

	if (!db_ok(res)) {
		PQclear(res);
		return -1;
	}
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		long long line = 0, first = 0;
		db_int(res, i, "ligne", 0, 1 << 30, &line);
		db_int(res, i, "premiere", 0, 1 << 30, &first);
		if (db_bool(res, i, "existe"))
			snprintf(msg, sizeof(msg), "Cette adresse e-mail figure déjà dans la liste "
			    "des participants.");
		else
			snprintf(msg, sizeof(msg), "Cette adresse e-mail est déjà à la ligne %lld du "
			    "fichier.", first);
		slot_errors_add(errs, (int)line, NULL, msg);
	}
	PQclear(res);
	return n;
}

void
handle_participants_import(struct call *call)
{
	struct campaign_address a;
	struct slot_errors errs;
	enum api_error err;
	const char *params[2];
	PGresult *locked = NULL, *res = NULL;
	cJSON *rows = NULL, *o;
	char *text = NULL;
	long long added = 0;
	int n;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	if (!campaign_origin_ok(call))
		return;
	if (!is_csv(call->req->content_type)) {
		respond_error(call, ERR_UNSUPPORTED_MEDIA_TYPE);
		return;
	}
	if (http_read_body(call->req, call->fcgi->in, PARTICIPANT_IMPORT_MAX_BYTES, &err) != 0) {
		respond_error(call, err);
		return;
	}
	if (!slot_errors_init(&errs)) {
		respond_error(call, ERR_INTERNAL);
		return;
	}
	n = participant_csv_parse(call->req->body, call->req->body_len, &rows, &errs);
	if (n != 0) {
		respond_problem(call, n < 0 ? ERR_INTERNAL : ERR_PARTICIPANT_IMPORT_INVALID,
		    "erreurs", errs.array);
		goto done;
	}
	if ((text = json_print(rows)) == NULL) {
		respond_error(call, ERR_INTERNAL);
		goto done;
	}
	if (!campaign_write_begin(call, a.id, &locked))
		goto done;
	if ((n = import_conflicts(call->db, a.id, text, &errs)) != 0) {
		campaign_write_fail(call, n < 0 ? ERR_NONE : ERR_PARTICIPANT_IMPORT_INVALID,
		    "erreurs", errs.array);
		goto done;
	}
	params[0] = a.id;
	params[1] = text;
	res = db_exec(call->db, STMT_PARTICIPANTS_IMPORT, params);
	if (!db_ok(res) || PQntuples(res) != 1 ||
	    !db_int(res, 0, "n", 0, PARTICIPANT_IMPORT_MAX_ROWS, &added) ||
	    added != cJSON_GetArraySize(rows)) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		goto done;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "ajoutes", (double)added);
	campaign_write_commit(call, 201, NULL, o);
	cJSON_Delete(o);
done:
	PQclear(locked);
	PQclear(res);
	cJSON_free(text);
	cJSON_Delete(rows);
	slot_errors_free(&errs);
}
