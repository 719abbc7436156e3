/* fiable-metrics — what the administration watches, behind nginx auth_basic (and refused
 * here without REMOTE_USER, which only the /api/admin/ block of nginx passes):
 *   GET /api/admin/metrics?window=24h|7d|30d   indicators against the plan's targets, series,
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
 * Before reading, it ingests what the spool kept during a database outage. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "flags.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "respond.h"
#include "server.h"
#include "submission.h"

#define EP_METRICS "/api/admin/metrics"
#define EP_PROMETHEUS "/api/admin/metrics/prometheus"
#define EP_SUBMISSIONS "/api/admin/submissions"
#define EP_SUBMISSIONS_CSV "/api/admin/submissions.csv"
#define EP_SUBMISSION "/api/admin/submissions/{id}"
#define EP_FLAGS "/api/admin/fonctionnalites"
/* Alert events listed with the metrics. */
#define RECENT_EVENTS 20

struct app {
	struct config cfg;
	struct db *db;
};

/* The windows one can ask for, with the step of their series. */
static const struct window {
	const char *name;
	const char *interval;
	const char *step;
} windows[] = {
	{ "15m", "15 minutes", "1 hour" },
	{ "1h", "1 hour", "1 hour" },
	{ "24h", "24 hours", "1 hour" },
	{ "7d", "7 days", "6 hours" },
	{ "30d", "30 days", "1 day" },
};
#define DEFAULT_WINDOW 2   /* 24h */

/* The plan's targets ("Métriques de succès"), each read from the summary by its path. */
static const struct kpi {
	const char *id;
	const char *path;
	const char *label;
	const char *unit;
	char op;            /* '>' above, '<' below, '=' equal to the target */
	double target;
} kpis[] = {
	{ "taux_succes", "taux_succes", "Taux de succès", "%", '>', 95 },
	{ "temps_reponse", "temps_reponse_ms.p95", "Temps de réponse (95 % des requêtes)", "ms",
	  '<', 2000 },
	{ "file_attente", "file.longueur_moyenne", "File d'attente (moyenne)", "éléments", '<', 5 },
	{ "aucune_perte", "envois_jamais_aboutis", "Envois jamais aboutis", "", '=', 0 },
};

/* --- Requests ------------------------------------------------------------------------------ */

/* The value of `name` in the query string (copied, at most cap-1 bytes), or false. */
static bool
query_value(FCGX_Request *r, const char *name, char *out, size_t cap)
{
	const char *q = FCGX_GetParam("QUERY_STRING", r->envp);
	size_t n = strlen(name);

	while (q != NULL && *q != '\0') {
		size_t len = strcspn(q, "&");
		if (len > n && strncmp(q, name, n) == 0 && q[n] == '=') {
			if (len - n - 1 >= cap)
				return false;
			memcpy(out, q + n + 1, len - n - 1);
			out[len - n - 1] = '\0';
			return true;
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return false;
}

/* The window asked for (default 24h), or NULL after answering 400. */
static const struct window *
requested_window(FCGX_Request *r, struct app *app, const struct http_request *req,
    const char *endpoint)
{
	char name[16];
	cJSON *errors;
	size_t i;

	if (!query_value(r, "window", name, sizeof(name)))
		return &windows[DEFAULT_WINDOW];
	for (i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
		if (strcmp(name, windows[i].name) == 0)
			return &windows[i];
	errors = cJSON_CreateObject();
	cJSON_AddStringToObject(errors, "window",
	    "Fenêtre inconnue : choisissez 15m, 1h, 24h, 7d ou 30d.");
	respond_error(r, app->db, req, endpoint, ERR_VALIDATION, errors, NULL);
	cJSON_Delete(errors);
	return NULL;
}

/* Parses a JSON text from a one-value result (NULL when the statement failed). */
static cJSON *
query_json(struct db *db, enum stmt s, const char *const *params)
{
	PGresult *res = db_query(db, s, params);
	cJSON *o = NULL;

	if (db_ok(res) && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		o = cJSON_Parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	return o;
}

/* Answers the failure of a read: 503 when the database is gone, else 500. */
static void
fail_read(FCGX_Request *r, struct app *app, const struct http_request *req,
    const char *endpoint)
{
	respond_error(r, app->db, req, endpoint,
	    db_lost(app->db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL, NULL, NULL);
}

/* --- GET /api/admin/metrics ---------------------------------------------------------------- */

/* Whether value meets the target: 1, 0, or -1 when there is no value (no traffic). */
static int
kpi_met(const struct kpi *k, const cJSON *value)
{
	double v;

	if (!cJSON_IsNumber(value))
		return -1;
	v = value->valuedouble;
	switch (k->op) {
	case '>': return v > k->target;
	case '<': return v < k->target;
	default:  return fabs(v - k->target) < 1e-9;
	}
}

static cJSON *
kpis_json(const cJSON *summary)
{
	cJSON *list = cJSON_CreateArray();
	char op[2] = { 0, 0 };
	size_t i;

	for (i = 0; i < sizeof(kpis) / sizeof(kpis[0]); i++) {
		const cJSON *v = metrics_json_path(summary, kpis[i].path);
		cJSON *o = cJSON_CreateObject();
		int met = kpi_met(&kpis[i], v);

		cJSON_AddStringToObject(o, "id", kpis[i].id);
		cJSON_AddStringToObject(o, "libelle", kpis[i].label);
		if (cJSON_IsNumber(v))
			cJSON_AddNumberToObject(o, "valeur", v->valuedouble);
		else
			cJSON_AddNullToObject(o, "valeur");
		cJSON_AddStringToObject(o, "unite", kpis[i].unit);
		op[0] = kpis[i].op;
		cJSON_AddStringToObject(o, "comparaison", op);
		cJSON_AddNumberToObject(o, "cible", kpis[i].target);
		if (met < 0)
			cJSON_AddNullToObject(o, "atteint");
		else
			cJSON_AddBoolToObject(o, "atteint", met == 1);
		cJSON_AddItemToArray(list, o);
	}
	return list;
}

static cJSON *
spool_json(void)
{
	cJSON *o = cJSON_CreateObject();
	long long lines, bytes;

	if (metrics_spool_backlog(&lines, &bytes) != 0) {
		cJSON_AddNullToObject(o, "lignes");
		cJSON_AddNullToObject(o, "octets");
	} else {
		cJSON_AddNumberToObject(o, "lignes", (double)lines);
		cJSON_AddNumberToObject(o, "octets", (double)bytes);
	}
	return o;
}

/* Everything the metrics page shows, for one window; NULL on a database error. */
static cJSON *
load_metrics(struct app *app, const struct window *w)
{
	char events[8];
	const char *params[1] = { events };
	cJSON *o, *summary, *backups, *states, *recent, *alerts;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;

	(void)metrics_spool_ingest(app->db);
	snprintf(events, sizeof(events), "%d", RECENT_EVENTS);
	summary = metrics_summary(app->db, w->interval, w->step, app->cfg.timezone);
	backups = summary ? query_json(app->db, STMT_METRICS_BACKUPS, NULL) : NULL;
	states = backups ? query_json(app->db, STMT_ALERT_STATES_JSON, NULL) : NULL;
	recent = states ? query_json(app->db, STMT_ALERT_EVENTS_JSON, params) : NULL;
	if (recent == NULL) {
		cJSON_Delete(summary);
		cJSON_Delete(backups);
		cJSON_Delete(states);
		return NULL;
	}
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "fenetre", w->name);
	cJSON_AddStringToObject(o, "genere_le", now);
	cJSON_AddStringToObject(o, "fuseau", app->cfg.timezone);
	cJSON_AddItemToObject(o, "objectifs", kpis_json(summary));
	cJSON_AddItemToObject(o, "indicateurs", summary);
	cJSON_AddItemToObject(o, "sauvegardes", backups);
	alerts = cJSON_AddObjectToObject(o, "alertes");
	cJSON_AddItemToObject(alerts, "etats", states);
	cJSON_AddItemToObject(alerts, "evenements", recent);
	cJSON_AddItemToObject(o, "file_durable", spool_json());
	return o;
}

static void
handle_metrics(FCGX_Request *r, struct app *app, const struct http_request *req)
{
	const struct window *w;
	cJSON *o;

	if ((w = requested_window(r, app, req, EP_METRICS)) == NULL)
		return;
	if ((o = load_metrics(app, w)) == NULL) {
		fail_read(r, app, req, EP_METRICS);
		return;
	}
	http_send_json(r->out, 200, NULL, o);
	cJSON_Delete(o);
	metrics_record_outside(app->db, req, EP_METRICS, 200);
}

/* --- GET /api/admin/metrics/prometheus ----------------------------------------------------- */

/* The figures exported, each a gauge read from the summary of a window. */
static const struct gauge {
	const char *name;
	const char *help;
	const char *path;
	double scale;         /* multiplies the summary's value (percent -> ratio, ms -> s) */
	const char *labels;   /* extra labels, or NULL */
} gauges[] = {
	{ "fiable_requests", "Requêtes mesurées dans la fenêtre.", "requetes", 1, NULL },
	{ "fiable_failures", "Requêtes en échec (5xx) dans la fenêtre.", "echecs", 1, NULL },
	{ "fiable_client_errors", "Requêtes refusées (4xx) dans la fenêtre.", "erreurs_client", 1,
	  NULL },
	{ "fiable_success_ratio", "Part des requêtes sans échec (objectif > 0,95).", "taux_succes",
	  0.01, NULL },
	{ "fiable_failure_ratio", "Part des requêtes en échec (alerte > 0,05).", "taux_echec", 0.01,
	  NULL },
	{ "fiable_response_time_seconds", "Temps de réponse (objectif p95 < 2 s).",
	  "temps_reponse_ms.moyenne", 0.001, "stat=\"avg\"" },
	{ "fiable_response_time_seconds", NULL, "temps_reponse_ms.p50", 0.001, "stat=\"p50\"" },
	{ "fiable_response_time_seconds", NULL, "temps_reponse_ms.p95", 0.001, "stat=\"p95\"" },
	{ "fiable_response_time_seconds", NULL, "temps_reponse_ms.p99", 0.001, "stat=\"p99\"" },
	{ "fiable_response_time_seconds", NULL, "temps_reponse_ms.max", 0.001, "stat=\"max\"" },
	{ "fiable_writes", "Écritures (POST, PUT, DELETE) dans la fenêtre.", "ecritures", 1, NULL },
	{ "fiable_submissions", "Premières réponses enregistrées.", "soumissions", 1, NULL },
	{ "fiable_modifications", "Réponses modifiées.", "modifications", 1, NULL },
	{ "fiable_withdrawals", "Réponses retirées.", "retraits", 1, NULL },
	{ "fiable_restores", "Restaurations.", "restaurations", 1, NULL },
	{ "fiable_queue_use_ratio", "Part des écritures envoyées depuis la file du navigateur.",
	  "file.taux_utilisation", 0.01, NULL },
	{ "fiable_queue_length", "Longueur de la file rapportée par les navigateurs "
	  "(objectif : moyenne < 5 ; alerte : > 10).", "file.longueur_moyenne", 1, "stat=\"avg\"" },
	{ "fiable_queue_length", NULL, "file.longueur_max", 1, "stat=\"max\"" },
	{ "fiable_queued_seconds", "Temps passé dans la file du navigateur.",
	  "file.attente_moyenne_ms", 0.001, "stat=\"avg\"" },
	{ "fiable_queued_seconds", NULL, "file.attente_max_ms", 0.001, "stat=\"max\"" },
	{ "fiable_offline_writes", "Écritures abouties envoyées depuis la file (hors ligne).",
	  "hors_ligne", 1, NULL },
	{ "fiable_autosave_seconds", "Durée de la sauvegarde locale du formulaire (p95).",
	  "sauvegarde_auto_p95_ms", 0.001, "stat=\"p95\"" },
	{ "fiable_lost_writes", "Écritures en échec jamais abouties ensuite (objectif : 0).",
	  "envois_jamais_aboutis", 1, NULL },
	{ "fiable_admin_auth_failures", "Authentifications de l'administration refusées "
	  "(identifiants envoyés mais faux) dans la fenêtre.", "echecs_authentification_admin", 1,
	  NULL },
};
/* Windows exported: a short one for alerting, a day for the targets. */
static const size_t prom_windows[] = { 0, DEFAULT_WINDOW };

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
prom_label(struct buf *t, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(t, "\\%c", *v);
		else if (*v == '\n')
			buf_add(t, "\\n", 2);
		else
			buf_add(t, v, 1);
	}
}

static void
prom_header(struct buf *t, const char *name, const char *help)
{
	buf_printf(t, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void
prom_sample(struct buf *t, const char *name, const char *labels, double v)
{
	buf_printf(t, "%s%s%s%s %.10g\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
	    v);
}

static bool
prometheus_text(struct app *app, struct buf *t)
{
	cJSON *summary[sizeof(prom_windows) / sizeof(prom_windows[0])] = { NULL };
	cJSON *backups = NULL, *states = NULL;
	const cJSON *v, *e;
	char labels[256];
	long long lines, bytes;
	size_t g, i;
	bool ok = false;

	(void)metrics_spool_ingest(app->db);
	for (i = 0; i < sizeof(prom_windows) / sizeof(prom_windows[0]); i++) {
		const struct window *w = &windows[prom_windows[i]];
		if ((summary[i] = metrics_summary(app->db, w->interval, w->step,
		    app->cfg.timezone)) == NULL)
			goto out;
	}
	if ((backups = query_json(app->db, STMT_METRICS_BACKUPS, NULL)) == NULL ||
	    (states = query_json(app->db, STMT_ALERT_STATES_JSON, NULL)) == NULL)
		goto out;

	for (g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
		if (gauges[g].help != NULL)
			prom_header(t, gauges[g].name, gauges[g].help);
		for (i = 0; i < sizeof(prom_windows) / sizeof(prom_windows[0]); i++) {
			v = metrics_json_path(summary[i], gauges[g].path);
			if (!cJSON_IsNumber(v))
				continue;	/* no traffic: no sample rather than a made-up 0 */
			snprintf(labels, sizeof(labels), "window=\"%s\"%s%s",
			    windows[prom_windows[i]].name, gauges[g].labels ? "," : "",
			    gauges[g].labels ? gauges[g].labels : "");
			prom_sample(t, gauges[g].name, labels, v->valuedouble * gauges[g].scale);
		}
	}
	prom_header(t, "fiable_errors", "Requêtes refusées ou en échec, par statut et adresse.");
	for (i = 0; i < sizeof(prom_windows) / sizeof(prom_windows[0]); i++) {
		cJSON_ArrayForEach(e, metrics_json_path(summary[i], "erreurs")) {
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "statut");
			const cJSON *ad = cJSON_GetObjectItemCaseSensitive(e, "adresse");
			const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "nombre");
			if (!cJSON_IsNumber(st) || !cJSON_IsString(ad) || !cJSON_IsNumber(n))
				continue;
			buf_printf(t, "fiable_errors{window=\"%s\",status=\"%d\",endpoint=\"",
			    windows[prom_windows[i]].name, (int)st->valuedouble);
			prom_label(t, ad->valuestring);
			buf_printf(t, "\"} %.10g\n", n->valuedouble);
		}
	}
	prom_header(t, "fiable_kpi_target", "Objectif du plan pour chaque indicateur.");
	for (i = 0; i < sizeof(kpis) / sizeof(kpis[0]); i++)
		buf_printf(t, "fiable_kpi_target{kpi=\"%s\"} %.10g\n", kpis[i].id, kpis[i].target);
	prom_header(t, "fiable_kpi_met", "1 si l'indicateur atteint son objectif sur 24 h, 0 sinon.");
	for (i = 0; i < sizeof(kpis) / sizeof(kpis[0]); i++) {
		int met = kpi_met(&kpis[i], metrics_json_path(summary[1], kpis[i].path));
		if (met >= 0)
			buf_printf(t, "fiable_kpi_met{kpi=\"%s\"} %d\n", kpis[i].id, met);
	}
	v = metrics_json_path(backups, "derniere_reussie.age_heures");
	prom_header(t, "fiable_backup_age_seconds", "Âge de la dernière sauvegarde réussie.");
	if (cJSON_IsNumber(v))
		buf_printf(t, "fiable_backup_age_seconds %.10g\n", v->valuedouble * 3600);
	v = metrics_json_path(backups, "derniere_reussie.taille_octets");
	prom_header(t, "fiable_backup_size_bytes", "Taille de la dernière sauvegarde réussie.");
	if (cJSON_IsNumber(v))
		buf_printf(t, "fiable_backup_size_bytes %.15g\n", v->valuedouble);
	prom_header(t, "fiable_alert_firing", "1 si la règle d'alerte est déclenchée (fiable-check-alerts).");
	cJSON_ArrayForEach(e, states) {
		const cJSON *rule = cJSON_GetObjectItemCaseSensitive(e, "regle");
		if (!cJSON_IsString(rule))
			continue;
		buf_add(t, "fiable_alert_firing{rule=\"", 26);
		prom_label(t, rule->valuestring);
		buf_printf(t, "\"} %d\n",
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "declenchee")) ? 1 : 0);
	}
	prom_header(t, "fiable_spool_lines", "Métriques en attente dans la file durable.");
	if (metrics_spool_backlog(&lines, &bytes) == 0)
		buf_printf(t, "fiable_spool_lines %lld\n", lines);
	ok = !t->failed;
out:
	for (i = 0; i < sizeof(summary) / sizeof(summary[0]); i++)
		cJSON_Delete(summary[i]);
	cJSON_Delete(backups);
	cJSON_Delete(states);
	return ok;
}

static void
handle_prometheus(FCGX_Request *r, struct app *app, const struct http_request *req)
{
	struct buf t = BUF_INIT;

	if (!prometheus_text(app, &t)) {
		buf_free(&t);
		fail_read(r, app, req, EP_PROMETHEUS);
		return;
	}
	http_send(r->out, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, t.p, t.len);
	buf_free(&t);
	metrics_record_outside(app->db, req, EP_PROMETHEUS, 200);
}

/* --- GET /api/admin/submissions[.csv] ------------------------------------------------------ */

struct roster {
	PGresult *slots;        /* id, label, start, end, day, title, count */
	PGresult *people;       /* id, email, nom, creneaux, commentaire, version, created,
	                           updated, deleted */
};

static bool
roster_load(struct app *app, struct roster *ro)
{
	const char *params[1] = { app->cfg.timezone };

	ro->people = NULL;
	ro->slots = db_query(app->db, STMT_ADMIN_SLOTS, params);
	if (!db_ok(ro->slots))
		return false;
	ro->people = db_query(app->db, STMT_ADMIN_SUBMISSIONS, NULL);
	return db_ok(ro->people);
}

static void
roster_free(struct roster *ro)
{
	PQclear(ro->slots);
	PQclear(ro->people);
}

static cJSON *
roster_json(const struct roster *ro)
{
	cJSON *o = cJSON_CreateObject(), *slots, *people;
	int i, active = 0;

	slots = cJSON_AddArrayToObject(o, "creneaux");
	for (i = 0; i < PQntuples(ro->slots); i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "id", PQgetvalue(ro->slots, i, 0));
		cJSON_AddStringToObject(c, "libelle", PQgetvalue(ro->slots, i, 1));
		cJSON_AddStringToObject(c, "debut", PQgetvalue(ro->slots, i, 2));
		cJSON_AddStringToObject(c, "fin", PQgetvalue(ro->slots, i, 3));
		cJSON_AddStringToObject(c, "jour", PQgetvalue(ro->slots, i, 4));
		cJSON_AddStringToObject(c, "titre", PQgetvalue(ro->slots, i, 5));
		cJSON_AddNumberToObject(c, "disponibles", strtod(PQgetvalue(ro->slots, i, 6), NULL));
		cJSON_AddItemToArray(slots, c);
	}
	people = cJSON_AddArrayToObject(o, "soumissions");
	for (i = 0; i < PQntuples(ro->people); i++) {
		cJSON *p = cJSON_CreateObject();
		bool withdrawn = !PQgetisnull(ro->people, i, 8);
		cJSON_AddNumberToObject(p, "id", strtod(PQgetvalue(ro->people, i, 0), NULL));
		cJSON_AddStringToObject(p, "email", PQgetvalue(ro->people, i, 1));
		cJSON_AddStringToObject(p, "nom", PQgetvalue(ro->people, i, 2));
		cJSON_AddItemToObject(p, "creneaux", cJSON_Parse(PQgetvalue(ro->people, i, 3)));
		cJSON_AddStringToObject(p, "commentaire", PQgetvalue(ro->people, i, 4));
		cJSON_AddNumberToObject(p, "version", strtod(PQgetvalue(ro->people, i, 5), NULL));
		cJSON_AddStringToObject(p, "created_at", PQgetvalue(ro->people, i, 6));
		cJSON_AddStringToObject(p, "updated_at", PQgetvalue(ro->people, i, 7));
		if (withdrawn)
			cJSON_AddStringToObject(p, "deleted_at", PQgetvalue(ro->people, i, 8));
		else
			cJSON_AddNullToObject(p, "deleted_at");
		active += !withdrawn;
		cJSON_AddItemToArray(people, p);
	}
	cJSON_AddNumberToObject(o, "actives", active);
	cJSON_AddNumberToObject(o, "retirees", PQntuples(ro->people) - active);
	return o;
}

/* One CSV field, always quoted (quotes doubled). A cell a spreadsheet would take for a
 * formula (first character = + - @, tab or CR) starts with an apostrophe instead. */
static void
csv_field(struct buf *t, const char *v, bool first)
{
	if (!first)
		buf_add(t, ";", 1);
	buf_add(t, "\"", 1);
	if (strchr("=+-@\t\r", v[0]) != NULL && v[0] != '\0')
		buf_add(t, "'", 1);
	for (; *v != '\0'; v++) {
		if (*v == '"')
			buf_add(t, "\"\"", 2);
		else
			buf_add(t, v, 1);
	}
	buf_add(t, "\"", 1);
}

/* True when the JSON array text `slots` holds the string id (the list is short). */
static bool
has_slot(const cJSON *slots, const char *id)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, slots)
		if (cJSON_IsString(s) && strcmp(s->valuestring, id) == 0)
			return true;
	return false;
}

/* UTF-8 with BOM, ";" between fields (what a French spreadsheet expects), CRLF line ends:
 * a row per active person, a column per slot, the count of people per slot at the end. */
static void
roster_csv(const struct roster *ro, struct buf *t)
{
	int i, j;

	buf_add(t, "\xEF\xBB\xBF", 3);
	csv_field(t, "Nom", true);
	csv_field(t, "E-mail", false);
	for (j = 0; j < PQntuples(ro->slots); j++)
		csv_field(t, PQgetvalue(ro->slots, j, 5), false);
	csv_field(t, "Commentaire", false);
	buf_add(t, "\r\n", 2);
	for (i = 0; i < PQntuples(ro->people); i++) {
		cJSON *slots;
		if (!PQgetisnull(ro->people, i, 8))
			continue;	/* withdrawn */
		slots = cJSON_Parse(PQgetvalue(ro->people, i, 3));
		csv_field(t, PQgetvalue(ro->people, i, 2), true);
		csv_field(t, PQgetvalue(ro->people, i, 1), false);
		for (j = 0; j < PQntuples(ro->slots); j++)
			csv_field(t, has_slot(slots, PQgetvalue(ro->slots, j, 0)) ? "oui" : "", false);
		csv_field(t, PQgetvalue(ro->people, i, 4), false);
		buf_add(t, "\r\n", 2);
		cJSON_Delete(slots);
	}
	csv_field(t, "Personnes disponibles", true);
	csv_field(t, "", false);
	for (j = 0; j < PQntuples(ro->slots); j++)
		csv_field(t, PQgetvalue(ro->slots, j, 6), false);
	csv_field(t, "", false);
	buf_add(t, "\r\n", 2);
}

static void
handle_submissions(FCGX_Request *r, struct app *app, const struct http_request *req, bool csv)
{
	const char *endpoint = csv ? EP_SUBMISSIONS_CSV : EP_SUBMISSIONS;
	struct roster ro;

	if (!roster_load(app, &ro)) {
		roster_free(&ro);
		fail_read(r, app, req, endpoint);
		return;
	}
	if (csv) {
		struct buf t = BUF_INIT;
		char name[64], headers[160];
		time_t now = time(NULL);
		struct tm tm;

		roster_csv(&ro, &t);
		gmtime_r(&now, &tm);
		strftime(name, sizeof(name), "disponibilites-%Y-%m-%d.csv", &tm);
		snprintf(headers, sizeof(headers),
		    "Content-Disposition: attachment; filename=\"%s\"\r\n", name);
		if (t.failed)
			http_send_error(r->out, ERR_INTERNAL, NULL, NULL, NULL);
		else
			http_send(r->out, 200, "text/csv; charset=utf-8", headers, t.p, t.len);
		buf_free(&t);
	} else {
		cJSON *o = roster_json(&ro);
		http_send_json(r->out, 200, NULL, o);
		cJSON_Delete(o);
	}
	roster_free(&ro);
	metrics_record_outside(app->db, req, endpoint, 200);
}

static void
handle_submission(FCGX_Request *r, struct app *app, const struct http_request *req,
    const char *id)
{
	cJSON *o;
	char *body;

	if (!db_ensure(app->db)) {
		fail_read(r, app, req, EP_SUBMISSION);
		return;
	}
	/* A connection found dead (the database restarted while idle) gets one fresh try. */
	if ((o = submission_load(app->db, id)) == NULL && db_lost(app->db) && db_ensure(app->db))
		o = submission_load(app->db, id);
	if (o == NULL) {
		if (db_lost(app->db))
			fail_read(r, app, req, EP_SUBMISSION);
		else
			respond_error(r, app->db, req, EP_SUBMISSION, ERR_NOT_FOUND, NULL, NULL);
		return;
	}
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (body == NULL) {
		respond_error(r, app->db, req, EP_SUBMISSION, ERR_INTERNAL, NULL, NULL);
		return;
	}
	respond_representation(r, 200, body, NULL);
	cJSON_free(body);
	metrics_record_outside(app->db, req, EP_SUBMISSION, 200);
}

/* --- GET/PUT /api/admin/fonctionnalites ---------------------------------------------------- */

static void
handle_flags_get(FCGX_Request *r, struct app *app, const struct http_request *req)
{
	cJSON *list, *o;

	if ((list = flags_list(app->db)) == NULL) {
		fail_read(r, app, req, EP_FLAGS);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "fonctionnalites", list);
	http_send_json(r->out, 200, NULL, o);
	cJSON_Delete(o);
	metrics_record_outside(app->db, req, EP_FLAGS, 200);
}

/* The body {"nom": a known flag, "active": true|false}; NULL after answering 400. */
static const struct flag_def *
flag_request(FCGX_Request *r, struct app *app, const struct http_request *req, cJSON *root,
    bool *enabled)
{
	const cJSON *nom = cJSON_GetObjectItemCaseSensitive(root, "nom");
	const cJSON *active = cJSON_GetObjectItemCaseSensitive(root, "active");
	static const char *const members[] = { "nom", "active" };
	const struct flag_def *d = cJSON_IsString(nom) ? flag_find(nom->valuestring) : NULL;
	cJSON *errors = cJSON_CreateObject();
	struct buf t = BUF_INIT;
	size_t i;
	int unknown;

	if (errors == NULL || (unknown = json_unknown_members(root, members,
	    sizeof(members) / sizeof(members[0]), errors)) < 0) {
		cJSON_Delete(errors);
		respond_error(r, app->db, req, EP_FLAGS, ERR_INTERNAL, NULL, NULL);
		return NULL;
	}

	if (d == NULL) {
		buf_printf(&t, "%s", "Fonctionnalité inconnue. Choisissez l'une de celles-ci :");
		for (i = 0; flag_at(i) != NULL; i++)
			buf_printf(&t, "%s %s", i ? "," : "", flag_at(i)->name);
		buf_add(&t, ".", 1);
		cJSON_AddStringToObject(errors, "nom", t.failed ? "Fonctionnalité inconnue." : t.p);
		buf_free(&t);
	}
	if (!cJSON_IsBool(active))
		cJSON_AddStringToObject(errors, "active",
		    "Indiquez true pour activer la fonctionnalité ou false pour la désactiver.");
	else
		*enabled = cJSON_IsTrue(active);
	if (d == NULL || !cJSON_IsBool(active) || unknown > 0) {
		respond_error(r, app->db, req, EP_FLAGS, ERR_VALIDATION, errors, NULL);
		d = NULL;
	}
	cJSON_Delete(errors);
	return d;
}

/* Switches one flag: the change, its audit row and the request's metric in ONE transaction;
 * answers the change and every flag as they now are. */
static void
handle_flags_put(FCGX_Request *r, struct app *app, struct http_request *req)
{
	const struct flag_def *d;
	char actor[96], user[64];
	enum flag_set_result res;
	cJSON *root, *o, *list;
	bool enabled = false, was = false, lost;

	if ((root = respond_read_json(r, app->db, req, EP_FLAGS, &app->cfg)) == NULL)
		return;
	d = flag_request(r, app, req, root, &enabled);
	cJSON_Delete(root);
	if (d == NULL)
		return;
	http_sanitize(user, sizeof(user), req->remote_user);
	snprintf(actor, sizeof(actor), "admin:%s", user);

	if (!db_begin(app->db))
		goto fail;
	res = flag_set(app->db, req, d->name, enabled, actor, &was);
	if (res == FLAG_SET_FAILED)
		goto fail;
	if (res == FLAG_SET_UNKNOWN) {
		/* Known to the code but its row is missing: the migrations are not applied. */
		db_rollback(app->db);
		log_error("fonctionnalité %s absente de la table feature_flags", d->name);
		respond_error(r, app->db, req, EP_FLAGS, ERR_NOT_FOUND, NULL, NULL);
		return;
	}
	if (!metrics_record(app->db, req, EP_FLAGS, 200) || !db_commit(app->db))
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
	if ((list = flags_list(app->db)) != NULL)
		cJSON_AddItemToObject(o, "fonctionnalites", list);
	http_send_json(r->out, 200, NULL, o);
	cJSON_Delete(o);
	return;
fail:
	lost = db_lost(app->db);
	db_rollback(app->db);
	if (!lost)
		log_error("fonctionnalité non modifiée : %s", db_error(app->db));
	respond_error(r, app->db, req, EP_FLAGS, lost ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL,
	    NULL, NULL);
}

/* --- Refused administration logins ------------------------------------------------------- */

/* nginx's auth_basic refused a request to /admin/ or /api/admin/ and handed it over from
 * @authentification_refusee, the only place that sets FIABLE_AUTHENTIFICATION_REFUSEE. It
 * passes no header (neither Authorization nor the user name tried: both may hold a
 * password), only whether credentials were sent, as 0 or 1. A refusal of sent credentials is
 * logged with the address and counted in the metrics; a visit without credentials (how every
 * browser starts, before it asks for the password) is only answered. */
static void
handle_auth_refused(FCGX_Request *r, struct app *app, const struct http_request *req)
{
	const char *sent = FCGX_GetParam("FIABLE_IDENTIFIANTS_ENVOYES", r->envp);
	char method[16], uri[128], addr[64];

	if (sent == NULL || strcmp(sent, "1") != 0) {
		http_send_error(r->out, ERR_ADMIN_AUTH_FAILED, NULL, NULL, NULL);
		return;
	}
	http_sanitize(method, sizeof(method), req->method);
	http_sanitize(uri, sizeof(uri), req->uri);
	http_sanitize(addr, sizeof(addr), req->remote_addr);
	log_warn("administration : identifiants refusés (%s %s depuis %s)", method, uri, addr);
	respond_error(r, app->db, req, METRICS_ADMIN_AUTH_ENDPOINT, ERR_ADMIN_AUTH_FAILED, NULL,
	    NULL);
}

/* --- Routing ------------------------------------------------------------------------------- */

/* The id of /api/admin/submissions/N (1 to 18 digits), or false. */
static bool
submission_id(const char *uri, char out[24])
{
	static const char prefix[] = EP_SUBMISSIONS "/";
	const char *p;
	size_t n;

	if (strncmp(uri, prefix, sizeof(prefix) - 1) != 0)
		return false;
	p = uri + sizeof(prefix) - 1;
	n = strspn(p, "0123456789");
	if (n == 0 || n > 18 || p[n] != '\0' || p[0] == '0')
		return false;
	memcpy(out, p, n + 1);
	return true;
}

static void
handle_admin(FCGX_Request *r, struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	const char *endpoint = req->uri;
	char id[24];
	bool known, single = false;

	if (FCGX_GetParam("FIABLE_AUTHENTIFICATION_REFUSEE", r->envp) != NULL) {
		handle_auth_refused(r, app, req);
		return;
	}
	known = strcmp(req->uri, EP_METRICS) == 0 || strcmp(req->uri, EP_PROMETHEUS) == 0 ||
	    strcmp(req->uri, EP_SUBMISSIONS) == 0 || strcmp(req->uri, EP_SUBMISSIONS_CSV) == 0 ||
	    strcmp(req->uri, EP_FLAGS) == 0;
	if (!known && (single = submission_id(req->uri, id)))
		endpoint = EP_SUBMISSION;
	else if (!known)
		endpoint = "/api/admin/*";
	/* Defence in depth: nginx asks for the password; a request that did not pass it has
	 * no REMOTE_USER and is refused here too. */
	if (req->remote_user == NULL || req->remote_user[0] == '\0') {
		respond_error(r, app->db, req, endpoint, ERR_ADMIN_REQUIRED, NULL, NULL);
		return;
	}
	if (strcmp(req->uri, EP_FLAGS) == 0) {
		if (strcmp(req->method, "PUT") == 0)
			handle_flags_put(r, app, req);
		else if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
			handle_flags_get(r, app, req);
		else
			respond_error(r, app->db, req, endpoint, ERR_METHOD_NOT_ALLOWED, NULL,
			    "GET, HEAD, PUT");
		return;
	}
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		respond_error(r, app->db, req, endpoint, ERR_METHOD_NOT_ALLOWED, NULL, "GET, HEAD");
		return;
	}
	if (strcmp(req->uri, EP_METRICS) == 0)
		handle_metrics(r, app, req);
	else if (strcmp(req->uri, EP_PROMETHEUS) == 0)
		handle_prometheus(r, app, req);
	else if (strcmp(req->uri, EP_SUBMISSIONS) == 0)
		handle_submissions(r, app, req, false);
	else if (strcmp(req->uri, EP_SUBMISSIONS_CSV) == 0)
		handle_submissions(r, app, req, true);
	else if (single)
		handle_submission(r, app, req, id);
	else
		respond_error(r, app->db, req, endpoint, ERR_NOT_FOUND, NULL, NULL);
}

int
main(int argc, char **argv)
{
	struct app app = { 0 };
	int rc;

	if ((rc = server_setup(argc, argv, "fiable-metrics",
	    "métriques, liste des disponibilités et fonctionnalités pour l'administration "
	    "(/api/admin/metrics, /api/admin/submissions, /api/admin/fonctionnalites)",
	    &app.cfg)) != 0)
		return rc == 2 ? 0 : rc;
	if ((app.db = db_open(app.cfg.database_url)) == NULL)
		return 1;
	rc = server_run(handle_admin, &app);
	db_close(app.db);
	return rc;
}
