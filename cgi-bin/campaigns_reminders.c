/* campaigns_reminders.c — for fiable-campaigns (campaigns.c): reminding the participants who
 * have not answered (sql/0022, lib/reminders.h), and the list of those.
 *   GET  …/N/relances                   {heures: [72, 24], a_relancer: n, relances: [{id,
 *                                       genre, admin, heures_avant, envoyes, le}]}: the
 *                                       schedule, how many a click would remind, the last
 *                                       100 reminders
 *   PUT  …/N/relances                   {heures: [...]} → 200 {heures}: the automatic
 *                                       reminders, hours before the closing ([] for none)
 *   POST …/N/participants/relancer      → 200 {envoyes: n}; 409 relance_impossible when
 *                                       the campaign takes no answers
 *   GET  …/N/participants/sans-reponse.csv  e-mail;nom;groupe;statut invitation (UTF-8
 *                                       with a BOM, as the other exports)
 * Writes are audited: the schedule by the campaigns' trigger (sql/0014), a reminder by
 * reminder_run with the administrator's name. */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "campaigns.h"
#include "reminders.h"
#include "respond.h"
#include "roster.h"

void
handle_reminders_get(struct call *call)
{
	struct campaign_address a;
	const char *params[1];
	PGresult *res;
	cJSON *o;
	long long n = 0;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	params[0] = a.id;
	res = db_query(call->db, STMT_REMINDERS_LIST, params);
	if (!db_ok(res) || (PQntuples(res) == 1 && !db_int(res, 0, "a_relancer", 0, 1LL << 40,
	    &n))) {
		PQclear(res);
		respond_db_failure(call);
		return;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "heures", cJSON_Parse(db_text_or(res, 0, "heures", "[]")));
	cJSON_AddNumberToObject(o, "a_relancer", (double)n);
	cJSON_AddItemToObject(o, "relances", cJSON_Parse(db_text_or(res, 0, "relances", "[]")));
	PQclear(res);
	respond_json(call, 200, NULL, o);
	cJSON_Delete(o);
}

void
handle_reminders_schedule(struct call *call)
{
	struct campaign_address a;
	char hours[REMINDER_SCHEDULE_MAX * 8 + 4];
	const char *params[2];
	PGresult *locked = NULL, *res = NULL;
	cJSON *root, *errors, *o;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	if ((root = respond_read_json(call)) == NULL)
		return;
	if ((errors = cJSON_CreateObject()) == NULL ||
	    !reminder_schedule_parse(root, hours, sizeof(hours), errors)) {
		respond_problem(call, errors ? ERR_VALIDATION : ERR_INTERNAL, "errors", errors);
		goto done;
	}
	if (!campaign_write_begin(call, a.id, &locked))
		goto done;
	params[0] = a.id;
	params[1] = hours;
	res = db_exec(call->db, STMT_REMINDERS_SCHEDULE_SET, params);
	if (!db_ok(res) || PQntuples(res) != 1) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		goto done;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "heures", cJSON_Parse(db_text_or(res, 0, "heures", "[]")));
	campaign_write_commit(call, 200, NULL, o);
	cJSON_Delete(o);
done:
	PQclear(locked);
	PQclear(res);
	cJSON_Delete(root);
	cJSON_Delete(errors);
}

void
handle_participants_remind(struct call *call)
{
	struct campaign_address a;
	struct reminder r = { NULL, 0 };
	char user[64];
	PGresult *locked = NULL;
	cJSON *o;
	int sent = 0;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	if (!campaign_origin_ok(call) || !campaign_write_begin(call, a.id, &locked))
		return;
	PQclear(locked);
	http_sanitize(user, sizeof(user), call->req->remote_user);
	r.admin = user;
	switch (reminder_run(call->db, call->cfg, call->req, a.id, &r, &sent)) {
	case REMINDER_NOT_OPEN:
		campaign_write_fail(call, ERR_REMINDER_NOT_OPEN, NULL, NULL);
		return;
	case REMINDER_FAILED:
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		return;
	case REMINDER_SENT:
		break;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "envoyes", sent);
	campaign_write_commit(call, 200, NULL, o);
	cJSON_Delete(o);
}

/* The French words of an invitation's state, as the organiser's page says them. */
static const char *
invitation_words(const char *state)
{
	static const struct { const char *state, *words; } words[] = {
		{ "a_inviter", "pas encore invité" },
		{ "a_envoyer", "invitation en cours d’envoi" },
		{ "envoyee", "invitation envoyée" },
		{ "refusee", "invitation refusée par le serveur de courrier" },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(state, words[i].state) == 0)
			return words[i].words;
	return state;
}

void
handle_no_answer_export(struct call *call)
{
	struct campaign_address a;
	struct buf t = BUF_INIT;
	const char *params[1];
	PGresult *res;
	int i, n;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	params[0] = a.id;
	res = db_query(call->db, STMT_CAMPAIGN_GET, params);
	n = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : -1;
	PQclear(res);
	if (n <= 0) {
		if (n == 0)
			respond_error(call, ERR_NOT_FOUND);
		else
			respond_db_failure(call);
		return;
	}
	if (!db_ok(res = db_query(call->db, STMT_PARTICIPANTS_NO_ANSWER, params))) {
		PQclear(res);
		respond_db_failure(call);
		return;
	}
	buf_add(&t, "\xEF\xBB\xBF", 3);
	roster_csv_field(&t, "E-mail", true);
	roster_csv_field(&t, "Nom", false);
	roster_csv_field(&t, "Groupe", false);
	roster_csv_field(&t, "Statut invitation", false);
	buf_add(&t, "\r\n", 2);
	for (i = 0; i < PQntuples(res); i++) {
		const char *smtp = db_text_or(res, i, "erreur_smtp", "");
		char state[1200];

		snprintf(state, sizeof(state), "%s%s%s%s",
		    invitation_words(db_text_or(res, i, "invitation", "")), smtp[0] ? " : " : "", smtp,
		    db_bool(res, i, "desinscrit") ? " (désinscrit des relances)" : "");
		roster_csv_field(&t, db_text_or(res, i, "email", ""), true);
		roster_csv_field(&t, db_text_or(res, i, "nom", ""), false);
		roster_csv_field(&t, db_text_or(res, i, "groupe", ""), false);
		roster_csv_field(&t, state, false);
		buf_add(&t, "\r\n", 2);
	}
	PQclear(res);
	if (t.failed) {
		buf_free(&t);
		respond_error(call, ERR_INTERNAL);
		return;
	}
	FCGX_FPrintF(call->fcgi->out, "Status: 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\n"
	    "Content-Disposition: attachment; filename=\"sans-reponse-%s.csv\"\r\n"
	    "Content-Length: %lu\r\nCache-Control: no-store\r\n\r\n", a.id, (unsigned long)t.len);
	if (strcmp(call->req->method, "HEAD") != 0)
		FCGX_PutStr(t.p, (int)t.len, call->fcgi->out);
	respond_record(call, 200);
	buf_free(&t);
}
