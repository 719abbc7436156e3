#include "admin_metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

/* Alert events listed with the metrics. */
#define RECENT_EVENTS 20

const struct admin_window admin_windows[] = {
	{ "15m", "15 minutes", "1 hour" },
	{ "1h", "1 hour", "1 hour" },
	{ "24h", "24 hours", "1 hour" },
	{ "7d", "7 days", "6 hours" },
	{ "30d", "30 days", "1 day" },
};
const size_t admin_nwindows = sizeof(admin_windows) / sizeof(admin_windows[0]);

const struct admin_kpi admin_kpis[] = {
	{ "taux_succes", "taux_succes", "Taux de succès", "%", '>', 95 },
	{ "temps_reponse", "temps_reponse_ms.p95", "Temps de réponse (95 % des requêtes)", "ms",
	  '<', 2000 },
	{ "file_attente", "file.longueur_moyenne", "File d’attente (moyenne)", "éléments", '<', 5 },
	{ "aucune_perte", "envois_jamais_aboutis", "Envois jamais aboutis", "", '=', 0 },
};
const size_t admin_nkpis = sizeof(admin_kpis) / sizeof(admin_kpis[0]);

const struct admin_window *
admin_window_find(const char *name)
{
	size_t i;

	for (i = 0; i < admin_nwindows; i++)
		if (strcmp(name, admin_windows[i].name) == 0)
			return &admin_windows[i];
	return NULL;
}

cJSON *
admin_query_json(struct db *db, enum stmt s, const char *const *params, const char *column)
{
	PGresult *res = db_query(db, s, params);
	cJSON *o = NULL;

	if (db_ok(res) && PQntuples(res) == 1 && !db_is_null(res, 0, column))
		o = cJSON_Parse(db_text(res, 0, column));
	PQclear(res);
	return o;
}

int
admin_kpi_met(const struct admin_kpi *k, const cJSON *value)
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

	for (i = 0; i < admin_nkpis; i++) {
		const cJSON *v = metrics_json_path(summary, admin_kpis[i].path);
		cJSON *o = cJSON_CreateObject();
		int met = admin_kpi_met(&admin_kpis[i], v);

		cJSON_AddStringToObject(o, "id", admin_kpis[i].id);
		cJSON_AddStringToObject(o, "libelle", admin_kpis[i].label);
		if (cJSON_IsNumber(v))
			cJSON_AddNumberToObject(o, "valeur", v->valuedouble);
		else
			cJSON_AddNullToObject(o, "valeur");
		cJSON_AddStringToObject(o, "unite", admin_kpis[i].unit);
		op[0] = admin_kpis[i].op;
		cJSON_AddStringToObject(o, "comparaison", op);
		cJSON_AddNumberToObject(o, "cible", admin_kpis[i].target);
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

cJSON *
admin_metrics_json(struct db *db, const struct admin_window *w, const char *tz)
{
	char events[8];
	const char *params[1] = { events };
	cJSON *o, *summary, *backups, *states, *recent, *alerts, *campaigns;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;

	(void)metrics_spool_ingest(db);
	snprintf(events, sizeof(events), "%d", RECENT_EVENTS);
	summary = metrics_summary(db, w->interval, w->step, tz);
	backups = summary ? admin_query_json(db, STMT_METRICS_BACKUPS, NULL, "sauvegardes") : NULL;
	states = backups ? admin_query_json(db, STMT_ALERT_STATES_JSON, NULL, "etats") : NULL;
	recent = states ? admin_query_json(db, STMT_ALERT_EVENTS_JSON, params, "evenements") : NULL;
	campaigns = recent ? admin_query_json(db, STMT_METRICS_CAMPAIGN_RESPONSES, NULL,
	    "campagnes") : NULL;
	if (campaigns == NULL) {
		cJSON_Delete(recent);
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
	cJSON_AddStringToObject(o, "fuseau", tz);
	cJSON_AddItemToObject(o, "objectifs", kpis_json(summary));
	cJSON_AddItemToObject(o, "indicateurs", summary);
	cJSON_AddItemToObject(o, "sauvegardes", backups);
	alerts = cJSON_AddObjectToObject(o, "alertes");
	cJSON_AddItemToObject(alerts, "etats", states);
	cJSON_AddItemToObject(alerts, "evenements", recent);
	cJSON_AddItemToObject(o, "file_durable", spool_json());
	cJSON_AddItemToObject(o, "campagnes", campaigns);
	return o;
}
