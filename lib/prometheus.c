#include "prometheus.h"

#include <stdio.h>

#include <cjson/cJSON.h>

#include "admin_metrics.h"
#include "metrics.h"

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
static const size_t prom_windows[] = { ADMIN_WINDOW_SHORT, ADMIN_WINDOW_DEFAULT };

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

/* The response rate of each campaign with participants (STMT_METRICS_CAMPAIGN_RESPONSES):
 * its participants per answer state, and the rate of those who answered. */
static void
prom_campaigns(struct buf *t, const cJSON *campaigns)
{
	static const char *const states[] = { "repondu", "sans_reponse", "retire" };
	const cJSON *c, *slug, *v;
	size_t i;

	prom_header(t, "fiable_campagne_participants", "Participants d'une campagne selon leur "
	    "réponse (repondu, sans_reponse, retire ; vue participants_reponses).");
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
	prom_header(t, "fiable_campagne_taux_reponse", "Part des participants d'une campagne qui "
	    "ont répondu (alerte : < 0,8 moins de 24 h avant la fermeture).");
	cJSON_ArrayForEach(c, campaigns) {
		if (!cJSON_IsString(slug = cJSON_GetObjectItemCaseSensitive(c, "slug")) ||
		    !cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(c, "taux_reponse")))
			continue;
		buf_add(t, "fiable_campagne_taux_reponse{campagne=\"", 39);
		prom_label(t, slug->valuestring);
		buf_printf(t, "\"} %.10g\n", v->valuedouble / 100);
	}
	prom_header(t, "fiable_campagne_fermeture_secondes", "Secondes avant la fermeture d'une "
	    "campagne (absente sans date de fermeture ou une fois passée).");
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

bool
prometheus_text(struct db *db, const char *tz, struct buf *t)
{
	cJSON *summary[sizeof(prom_windows) / sizeof(prom_windows[0])] = { NULL };
	cJSON *backups = NULL, *states = NULL, *campaigns = NULL;
	const cJSON *v, *e;
	char labels[256];
	long long lines, bytes;
	size_t g, i;
	bool ok = false;

	(void)metrics_spool_ingest(db);
	for (i = 0; i < sizeof(prom_windows) / sizeof(prom_windows[0]); i++) {
		const struct admin_window *w = &admin_windows[prom_windows[i]];
		if ((summary[i] = metrics_summary(db, w->interval, w->step,
		    tz)) == NULL)
			goto out;
	}
	if ((backups = admin_query_json(db, STMT_METRICS_BACKUPS, NULL, "sauvegardes")) == NULL ||
	    (states = admin_query_json(db, STMT_ALERT_STATES_JSON, NULL, "etats")) == NULL ||
	    (campaigns = admin_query_json(db, STMT_METRICS_CAMPAIGN_RESPONSES, NULL,
	    "campagnes")) == NULL)
		goto out;

	for (g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
		if (gauges[g].help != NULL)
			prom_header(t, gauges[g].name, gauges[g].help);
		for (i = 0; i < sizeof(prom_windows) / sizeof(prom_windows[0]); i++) {
			v = metrics_json_path(summary[i], gauges[g].path);
			if (!cJSON_IsNumber(v))
				continue;	/* no traffic: no sample rather than a made-up 0 */
			snprintf(labels, sizeof(labels), "window=\"%s\"%s%s",
			    admin_windows[prom_windows[i]].name, gauges[g].labels ? "," : "",
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
			    admin_windows[prom_windows[i]].name, (int)st->valuedouble);
			prom_label(t, ad->valuestring);
			buf_printf(t, "\"} %.10g\n", n->valuedouble);
		}
	}
	prom_header(t, "fiable_kpi_target", "Objectif (docs/plan-de-deploiement.md) pour chaque indicateur.");
	for (i = 0; i < admin_nkpis; i++)
		buf_printf(t, "fiable_kpi_target{kpi=\"%s\"} %.10g\n", admin_kpis[i].id, admin_kpis[i].target);
	prom_header(t, "fiable_kpi_met", "1 si l'indicateur atteint son objectif sur 24 h, 0 sinon.");
	for (i = 0; i < admin_nkpis; i++) {
		int met = admin_kpi_met(&admin_kpis[i], metrics_json_path(summary[1], admin_kpis[i].path));
		if (met >= 0)
			buf_printf(t, "fiable_kpi_met{kpi=\"%s\"} %d\n", admin_kpis[i].id, met);
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
	prom_campaigns(t, campaigns);
	ok = !t->failed;
out:
	for (i = 0; i < sizeof(summary) / sizeof(summary[0]); i++)
		cJSON_Delete(summary[i]);
	cJSON_Delete(backups);
	cJSON_Delete(states);
	cJSON_Delete(campaigns);
	return ok;
}
