#include "prometheus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admin_metrics.h"
#include "metrics.h"

/* The histograms, each over the bounds of metriques_bornes(kind). */
static const struct histogram {
	const char *name;
	const char *help;
	const char *kind;
	double scale;	/* bounds and values to base units (ms -> s) */
} histograms[] = {
	{ "fiable_http_request_duration_seconds", "Temps de réponse des requêtes mesurées "
	  "(objectif : p95 < 2 s ; alerte : p95 > 5 s).", "duree", 0.001 },
	{ "fiable_client_autosave_duration_seconds", "Durée de la sauvegarde locale du "
	  "formulaire, rapportée par le navigateur (en-tête Fiable-Client).", "autosave", 0.001 },
	{ "fiable_client_queue_length", "Longueur de la file du navigateur rapportée avec une "
	  "requête (objectif : moyenne < 5 ; alerte : > 10).", "file", 1 },
};
#define BOUNDS_MAX 32

/* A float column (db_number reads integers only); 0 when NULL or not a number. */
static double
column_double(const PGresult *res, int row, const char *column)
{
	const char *v = db_text(res, row, column);
	char *end;
	double d;

	if (v == NULL || *v == '\0')
		return 0;
	d = strtod(v, &end);
	return *end == '\0' ? d : 0;
}

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
prom_header(struct buf *t, const char *name, const char *type, const char *help)
{
	buf_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* fiable_http_requests_total{endpoint,status}: every request measured in request_metrics. */
static bool
prom_requests(struct db *db, struct buf *t)
{
	PGresult *res = db_query(db, STMT_PROM_REQUESTS, NULL);
	int i;

	if (!db_ok(res)) {
		PQclear(res);
		return false;
	}
	prom_header(t, "fiable_http_requests_total", "counter", "Requêtes mesurées, par adresse "
	    "et statut (la collecte elle-même n'est pas comptée).");
	for (i = 0; i < PQntuples(res); i++) {
		buf_add(t, "fiable_http_requests_total{endpoint=\"", 37);
		prom_label(t, db_text(res, i, "endpoint"));
		buf_printf(t, "\",status=\"%s\"} %s\n", db_text(res, i, "status"),
		    db_text(res, i, "n"));
	}
	PQclear(res);
	return true;
}

/* One histogram: cumulative _bucket{le} per bound, then +Inf, _sum and _count. */
static bool
prom_histogram(struct db *db, struct buf *t, const struct histogram *h)
{
	const char *params[1] = { h->kind };
	double bounds[BOUNDS_MAX], sum = 0;
	long long counts[BOUNDS_MAX + 1] = { 0 }, idx, n, total = 0;
	PGresult *res;
	int nb, i;

	res = db_query(db, STMT_PROM_BOUNDS, params);
	if (!db_ok(res) || (nb = PQntuples(res)) > BOUNDS_MAX) {
		PQclear(res);
		return false;
	}
	for (i = 0; i < nb; i++)
		bounds[i] = column_double(res, i, "b");
	PQclear(res);
	res = db_query(db, STMT_PROM_HISTOGRAM, params);
	if (!db_ok(res)) {
		PQclear(res);
		return false;
	}
	for (i = 0; i < PQntuples(res); i++) {
		if (!db_int(res, i, "idx", 0, nb, &idx) ||
		    !db_int(res, i, "n", 0, 1LL << 62, &n)) {
			PQclear(res);
			return false;
		}
		counts[idx] += n;
		sum += column_double(res, i, "somme");
	}
	PQclear(res);
	prom_header(t, h->name, "histogram", h->help);
	for (i = 0; i < nb; i++) {
		total += counts[i];
		buf_printf(t, "%s_bucket{le=\"%.10g\"} %lld\n", h->name, bounds[i] * h->scale,
		    total);
	}
	total += counts[nb];
	buf_printf(t, "%s_bucket{le=\"+Inf\"} %lld\n%s_sum %.15g\n%s_count %lld\n", h->name,
	    total, h->name, sum * h->scale, h->name, total);
	return true;
}

/* A target in base units: a percentage as a ratio, milliseconds as seconds. */
static double
kpi_target(const struct admin_kpi *k)
{
	if (strcmp(k->unit, "%") == 0)
		return k->target / 100;
	if (strcmp(k->unit, "ms") == 0)
		return k->target / 1000;
	return k->target;
}

/* The response rate of each campaign with participants (STMT_METRICS_CAMPAIGN_RESPONSES):
 * its participants per answer state, and the rate of those who answered. */
static void
prom_campaigns(struct buf *t, const cJSON *campaigns)
{
	static const char *const states[] = { "repondu", "sans_reponse", "retire" };
	const cJSON *c, *slug, *v;
	size_t i;

	prom_header(t, "fiable_campagne_participants", "gauge", "Participants d'une campagne "
	    "selon leur réponse (repondu, sans_reponse, retire ; vue participants_reponses).");
	cJSON_ArrayForEach(c, campaigns) {
		if (!cJSON_IsString(slug = cJSON_GetObjectItemCaseSensitive(c, "slug")))
			continue;
		for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
			if (!cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(c, states[i])))
				continue;
			buf_add(t, "fiable_campagne_participants{campagne=\"", 39);
			prom_label(t, slug->valuestring);
			buf_printf(t, "\",reponse=\"%s\"} %.10g\n", states[i], v->valuedouble);
		}
	}
	prom_header(t, "fiable_campagne_taux_reponse", "gauge", "Part des participants d'une "
	    "campagne qui ont répondu (alerte : < 0,8 moins de 24 h avant la fermeture).");
	cJSON_ArrayForEach(c, campaigns) {
		if (!cJSON_IsString(slug = cJSON_GetObjectItemCaseSensitive(c, "slug")) ||
		    !cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(c, "taux_reponse")))
			continue;
		buf_add(t, "fiable_campagne_taux_reponse{campagne=\"", 39);
		prom_label(t, slug->valuestring);
		buf_printf(t, "\"} %.10g\n", v->valuedouble / 100);
	}
	prom_header(t, "fiable_campagne_fermeture_secondes", "gauge", "Secondes avant la "
	    "fermeture d'une campagne (absente sans date de fermeture ou une fois passée).");
	cJSON_ArrayForEach(c, campaigns) {
		if (!cJSON_IsString(slug = cJSON_GetObjectItemCaseSensitive(c, "slug")) ||
		    !cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(c,
		    "heures_avant_fermeture")))
			continue;
		buf_add(t, "fiable_campagne_fermeture_secondes{campagne=\"", 45);
		prom_label(t, slug->valuestring);
		buf_printf(t, "\"} %.10g\n", v->valuedouble * 3600);
	}
}

/* The gauges: targets, backups, alert states, spool. */
static void
prom_gauges(struct buf *t, const cJSON *backups, const cJSON *states)
{
	const cJSON *v, *e;
	long long lines, bytes;
	size_t i;

	prom_header(t, "fiable_kpi_target", "gauge", "Objectif (docs/plan-de-deploiement.md) de "
	    "chaque indicateur, en unités de base (secondes, part de 0 à 1).");
	for (i = 0; i < admin_nkpis; i++)
		buf_printf(t, "fiable_kpi_target{kpi=\"%s\"} %.10g\n", admin_kpis[i].id,
		    kpi_target(&admin_kpis[i]));
	v = metrics_json_path(backups, "derniere_reussie.age_heures");
	prom_header(t, "fiable_backup_age_seconds", "gauge",
	    "Âge de la dernière sauvegarde réussie.");
	if (cJSON_IsNumber(v))
		buf_printf(t, "fiable_backup_age_seconds %.10g\n", v->valuedouble * 3600);
	v = metrics_json_path(backups, "derniere_reussie.taille_octets");
	prom_header(t, "fiable_backup_size_bytes", "gauge",
	    "Taille de la dernière sauvegarde réussie.");
	if (cJSON_IsNumber(v))
		buf_printf(t, "fiable_backup_size_bytes %.15g\n", v->valuedouble);
	prom_header(t, "fiable_alert_firing", "gauge",
	    "1 si la règle d'alerte est déclenchée (fiable-check-alerts).");
	cJSON_ArrayForEach(e, states) {
		const cJSON *rule = cJSON_GetObjectItemCaseSensitive(e, "regle");
		if (!cJSON_IsString(rule))
			continue;
		buf_add(t, "fiable_alert_firing{rule=\"", 26);
		prom_label(t, rule->valuestring);
		buf_printf(t, "\"} %d\n",
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "declenchee")) ? 1 : 0);
	}
	prom_header(t, "fiable_spool_lines", "gauge",
	    "Métriques en attente dans la file durable.");
	if (metrics_spool_backlog(&lines, &bytes) == 0)
		buf_printf(t, "fiable_spool_lines %lld\n", lines);
}

bool
prometheus_text(struct db *db, struct buf *t)
{
	cJSON *backups = NULL, *states = NULL, *campaigns = NULL;
	size_t i;
	bool ok = false;

	if (!db_begin_read_only(db))
		return false;
	if (!prom_requests(db, t))
		goto out;
	for (i = 0; i < sizeof(histograms) / sizeof(histograms[0]); i++)
		if (!prom_histogram(db, t, &histograms[i]))
			goto out;
	if ((backups = admin_query_json(db, STMT_METRICS_BACKUPS, NULL, "sauvegardes")) == NULL ||
	    (states = admin_query_json(db, STMT_ALERT_STATES_JSON, NULL, "etats")) == NULL ||
	    (campaigns = admin_query_json(db, STMT_METRICS_CAMPAIGN_RESPONSES, NULL,
	    "campagnes")) == NULL)
		goto out;
	prom_gauges(t, backups, states);
	prom_campaigns(t, campaigns);
	ok = !t->failed;
out:
	/* Nothing to keep: a read-only transaction ends the same either way. */
	db_rollback(db);
	cJSON_Delete(backups);
	cJSON_Delete(states);
	cJSON_Delete(campaigns);
	return ok;
}
