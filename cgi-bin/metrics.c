/* fiable-metrics — what the administration watches, behind nginx auth_basic (and refused
 * here without REMOTE_USER, which only the /api/admin/ block of nginx passes):
 *   GET /api/admin/metrics?window=24h|7d|30d   indicators against the targets of docs/plan-de-deploiement.md, series,
 *                                              alerts, backups, spool (JSON)
 *   GET /api/admin/metrics/prometheus          the same figures, Prometheus text format
 *   GET /api/admin/submissions                 who is available when, counts per slot (JSON)
 *   GET /api/admin/submissions.csv             the same for a spreadsheet
 *   GET /api/admin/submissions/N               one submission with its history
 *   GET /api/admin/fonctionnalites             the feature flags, with when and by whom changed
 *   PUT /api/admin/fonctionnalites             {"nom", "active"}: switches one, audited
 * and, from nginx's internal location @authentification_refusee (error_page 401 of
 * auth_basic), any method on /admin/ or /api/admin/: the refused login is logged and counted
 * when credentials were sent, then answered 401.
 * Before reading, it ingests what the spool kept during a database outage. The renderers
 * live in lib/: admin_metrics.c, prometheus.c, roster.c, admin_flags.c. */
#include <stdio.h>
#include <string.h>

#include "admin_flags.h"
#include "admin_metrics.h"
#include "buf.h"
#include "db.h"
#include "flags.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "prometheus.h"
#include "respond.h"
#include "roster.h"
#include "server.h"
#include "submission.h"

/* GET /api/admin/metrics: the window asked for (default 24h), else 400. */
static void
handle_metrics(struct call *call)
{
	const struct admin_window *w = &admin_windows[ADMIN_WINDOW_DEFAULT];
	char name[16];
	cJSON *o;

	if (http_query_value(call->req->query_string, "window", name, sizeof(name)) &&
	    (w = admin_window_find(name)) == NULL) {
		cJSON *errors = cJSON_CreateObject();
		cJSON_AddStringToObject(errors, "window",
		    "Fenêtre inconnue : choisissez 15m, 1h, 24h, 7d ou 30d.");
		respond_problem(call, ERR_VALIDATION, "errors", errors);
		cJSON_Delete(errors);
		return;
	}
	if ((o = admin_metrics_json(call->db, w, call->cfg->timezone)) == NULL) {
		respond_db_failure(call);
		return;
	}
	respond_json(call, 200, NULL, o);
	cJSON_Delete(o);
}

static void
handle_prometheus(struct call *call)
{
	struct buf t = BUF_INIT;

	if (!prometheus_text(call->db, call->cfg->timezone, &t)) {
		buf_free(&t);
		respond_db_failure(call);
		return;
	}
	http_send(call->fcgi->out, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, t.p,
	    t.len);
	buf_free(&t);
	respond_record(call, 200);
}

/* Writes the text in t to the response and empties it. */
static void
flush(struct call *call, struct buf *t)
{
	if (t->len > 0)
		FCGX_PutStr(t->p, (int)t->len, call->fcgi->out);
	buf_clear(t);
}

/* The roster streamed from a cursor, 500 submissions at a time: the worker's memory does not
 * follow the number of answers. No Content-Length: the rows are written as they are
 * fetched. A failure after the status is sent ends the body early: the CSV then says so on
 * a last line, the JSON is left incomplete (unparsable, never mistaken for a whole one). */
static void
handle_roster(struct call *call, bool csv)
{
	struct roster ro;
	struct buf t = BUF_INIT;
	char name[64];
	PGresult *res = NULL;
	bool started = false;

	if (!roster_open(call->db, call->cfg->timezone, !csv, &ro))
		goto fail;
	if (csv) {
		roster_csv_name(name, sizeof(name));
		FCGX_FPrintF(call->fcgi->out, "Status: 200 OK\r\nContent-Type: text/csv; "
		    "charset=utf-8\r\nContent-Disposition: attachment; filename=\"%s\"\r\n"
		    "Cache-Control: no-store\r\n\r\n", name);
		roster_csv_head(&ro, &t);
	} else {
		FCGX_PutS("Status: 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
		    "Cache-Control: no-store\r\n\r\n", call->fcgi->out);
		roster_json_head(&ro, &t);
	}
	started = true;
	for (;;) {
		if ((res = roster_fetch(&ro)) == NULL)
			goto fail;
		if (PQntuples(res) == 0)
			break;
		if (csv)
			roster_csv_rows(&ro, res, &t);
		else
			roster_json_rows(&ro, res, &t);
		PQclear(res);
		res = NULL;
		if (t.failed)
			goto fail;
		flush(call, &t);
	}
	PQclear(res);
	res = NULL;
	if (csv)
		roster_csv_tail(&ro, &t);
	else
		roster_json_tail(&ro, &t);
	if (t.failed)
		goto fail;
	flush(call, &t);
	roster_close(&ro, true);
	buf_free(&t);
	respond_record(call, 200);
	return;
fail:
	PQclear(res);
	if (!db_lost(call->db))
		log_error("liste des soumissions interrompue : %s", db_error(call->db));
	roster_close(&ro, false);
	buf_free(&t);
	if (!started)
		respond_db_failure(call);
	else if (csv)
		FCGX_PutS("\r\n\"EXPORT INTERROMPU : fichier incomplet, recommencez.\"\r\n",
		    call->fcgi->out);
}

static void
handle_submissions(struct call *call)
{
	handle_roster(call, false);
}

static void
handle_submissions_csv(struct call *call)
{
	handle_roster(call, true);
}

/* GET /api/admin/submissions/{id} */
static void
handle_submission(struct call *call)
{
	cJSON *o;
	char *body;

	if (!db_ensure(call->db)) {
		respond_db_failure(call);
		return;
	}
	/* A connection found dead (the database restarted while idle) gets one fresh try. */
	if ((o = submission_load(call->db, call->id)) == NULL && db_lost(call->db) &&
	    db_ensure(call->db))
		o = submission_load(call->db, call->id);
	if (o == NULL) {
		respond_error(call, db_lost(call->db) ? ERR_DATABASE_UNAVAILABLE : ERR_NOT_FOUND);
		return;
	}
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (body == NULL) {
		respond_error(call, ERR_INTERNAL);
		return;
	}
	respond_representation(call, 200, body, NULL);
	cJSON_free(body);
	respond_record(call, 200);
}

static void
handle_flags_get(struct call *call)
{
	cJSON *list, *o;

	if ((list = flags_list(call->db)) == NULL) {
		respond_db_failure(call);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "fonctionnalites", list);
	respond_json(call, 200, NULL, o);
	cJSON_Delete(o);
}

/* Switches one flag: the change, its audit row and the request's metric in ONE transaction;
 * answers the change and every flag as they now are. */
static void
handle_flags_put(struct call *call)
{
	const struct flag_def *d = NULL;
	char actor[96], user[64];
	enum flag_set_result res;
	enum api_error e;
	cJSON *root, *o, *list, *errors;
	bool enabled = false, was = false, lost;

	if ((root = respond_read_json(call)) == NULL)
		return;
	e = admin_flag_request(root, &d, &enabled, &errors);
	cJSON_Delete(root);
	if (e != ERR_NONE) {
		respond_problem(call, e, "errors", errors);
		cJSON_Delete(errors);
		return;
	}
	http_sanitize(user, sizeof(user), call->req->remote_user);
	snprintf(actor, sizeof(actor), "admin:%s", user);

	if (!db_begin(call->db))
		goto fail;
	res = flag_set(call->db, call->req, d->name, enabled, actor, &was);
	if (res == FLAG_SET_FAILED)
		goto fail;
	if (res == FLAG_SET_UNKNOWN) {
		/* Known to the code but its row is missing: the migrations are not applied. */
		db_rollback(call->db);
		log_error("fonctionnalité %s absente de la table feature_flags", d->name);
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	if (!metrics_record(call->db, call->req, call->endpoint, 200) || !db_commit(call->db))
		goto fail;
	if (res == FLAG_SET_CHANGED)
		log_info("fonctionnalité %s %s par %s", d->name, enabled ? "activée" : "désactivée",
		    actor);

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "nom", d->name);
	cJSON_AddBoolToObject(o, "avant", was);
	cJSON_AddBoolToObject(o, "apres", enabled);
	cJSON_AddBoolToObject(o, "modifiee", res == FLAG_SET_CHANGED);
	/* The change is committed: a failed re-read only leaves the list out. */
	if ((list = flags_list(call->db)) != NULL)
		cJSON_AddItemToObject(o, "fonctionnalites", list);
	http_send_json(call->fcgi->out, 200, NULL, o);
	cJSON_Delete(o);
	return;
fail:
	lost = db_lost(call->db);
	db_rollback(call->db);
	if (!lost)
		log_error("fonctionnalité non modifiée : %s", db_error(call->db));
	respond_error(call, lost ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL);
}

/* Any other address under /api/admin/ (GET or HEAD; other methods get 405). */
static void
handle_unknown(struct call *call)
{
	respond_error(call, ERR_NOT_FOUND);
}

/* nginx's auth_basic refused a request to /admin/ or /api/admin/ and handed it over from
 * @authentification_refusee, the only place that sets FIABLE_AUTHENTIFICATION_REFUSEE. It
 * passes no header (neither Authorization nor the user name tried: both may hold a
 * password), only whether credentials were sent, as 0 or 1. A refusal of sent credentials is
 * logged with the address and counted in the metrics; a visit without credentials (how every
 * browser starts, before it asks for the password) is only answered. */
static void
handle_auth_refused(struct call *call)
{
	const char *sent = FCGX_GetParam("FIABLE_IDENTIFIANTS_ENVOYES", call->fcgi->envp);
	const struct http_request *req = call->req;
	char method[16], uri[128], addr[64];

	if (sent == NULL || strcmp(sent, "1") != 0) {
		call->endpoint = NULL;	/* not counted */
		respond_error(call, ERR_ADMIN_AUTH_FAILED);
		return;
	}
	http_sanitize(method, sizeof(method), req->method);
	http_sanitize(uri, sizeof(uri), req->uri);
	http_sanitize(addr, sizeof(addr), req->remote_addr);
	log_warn("administration : identifiants refusés (%s %s depuis %s)", method, uri, addr);
	call->endpoint = METRICS_ADMIN_AUTH_ENDPOINT;
	respond_error(call, ERR_ADMIN_AUTH_FAILED);
}

/* Before any route: a login nginx refused, then the defence in depth (nginx asks for the
 * password; a request that did not pass it has no REMOTE_USER and is refused here too). */
static bool
admit(struct call *call, const struct route *route)
{
	(void)route;
	if (FCGX_GetParam("FIABLE_AUTHENTIFICATION_REFUSEE", call->fcgi->envp) != NULL) {
		handle_auth_refused(call);
		return false;
	}
	if (call->req->remote_user == NULL || call->req->remote_user[0] == '\0') {
		respond_error(call, ERR_ADMIN_REQUIRED);
		return false;
	}
	return true;
}

static const struct route routes[] = {
	{ "/api/admin/metrics", "GET, HEAD", handle_metrics },
	{ "/api/admin/metrics/prometheus", "GET, HEAD", handle_prometheus },
	{ "/api/admin/submissions", "GET, HEAD", handle_submissions },
	{ "/api/admin/submissions.csv", "GET, HEAD", handle_submissions_csv },
	{ "/api/admin/submissions/{id}", "GET, HEAD", handle_submission },
	{ "/api/admin/fonctionnalites", "GET, HEAD", handle_flags_get },
	{ "/api/admin/fonctionnalites", "PUT", handle_flags_put },
	{ "/api/admin/*", "GET, HEAD", handle_unknown },
};

int
main(int argc, char **argv)
{
	static const struct program p = {
		.name = "fiable-metrics",
		.summary = "métriques, liste des disponibilités et fonctionnalités pour "
		    "l’administration (/api/admin/metrics, /api/admin/submissions, "
		    "/api/admin/fonctionnalites)",
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.admit = admit,
	};

	return server_main(argc, argv, &p);
}
