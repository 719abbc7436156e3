/* The alert rules: the shipped file, files refused and why, the evaluation of a rule against
 * its figures, the transitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "alert_rules.h"
#include "unit.h"

/* A valid rule on requests, completed by each case. */
#define RULE "\"nom\":\"r\",\"titre\":\"T\",\"indicateur\":\"taux_echec\",\"comparaison\":\">\"," \
	"\"seuil\":5"

static struct alert_rule rules[ALERT_RULES_MAX];

static void
test_shipped_file(void)
{
	char err[512] = "";
	size_t n = 0;

	CHECK(alert_rules_load(ALERT_RULES_FILE, rules, &n, err, sizeof(err)) == 0,
	    "cron/alert-rules.json : %s", err);
	CHECK(n == 6, "6 règles, pas %zu", n);
	if (n != 6)
		return;
	CHECK(strcmp(rules[0].name, "taux_echec") == 0 && rules[0].source == ALERT_SRC_REQUESTS &&
	    rules[0].op == '>' && rules[0].threshold == 5 && rules[0].window_minutes == 15 &&
	    rules[0].min_requests == 20 && strcmp(rules[0].unit, "%") == 0 &&
	    !rules[0].fire_when_missing, "taux_echec : %s", rules[0].name);
	CHECK(strcmp(rules[1].indicator, "temps_reponse_ms.p95") == 0, "temps_reponse : %s",
	    rules[1].indicator);
	CHECK(strcmp(rules[3].name, "sauvegarde") == 0 && rules[3].source == ALERT_SRC_BACKUPS &&
	    rules[3].fire_when_missing && rules[3].threshold == 26, "sauvegarde : %s",
	    rules[3].name);
	CHECK(rules[4].min_requests == 0, "authentification_admin sans requetes_min (%ld)",
	    rules[4].min_requests);
	CHECK(strcmp(rules[5].name, "campagne_taux_reponse") == 0 &&
	    rules[5].source == ALERT_SRC_CAMPAIGNS && rules[5].op == '<' &&
	    rules[5].threshold == 80 && rules[5].closing_hours == 24 &&
	    strcmp(rules[5].indicator, "taux_reponse") == 0, "campagne_taux_reponse : %s",
	    rules[5].name);
}

static void
test_parse(void)
{
	static const struct { const char *json; const char *err; } cases[] = {
		/* accepted: err is NULL */
		{ "{\"regles\":[]}", NULL },
		{ "{\"regles\":[{" RULE ",\"fenetre_minutes\":1}]}", NULL },
		{ "{\"regles\":[{" RULE ",\"source\":\"requetes\",\"fenetre_minutes\":1440,"
		    "\"requetes_min\":0}]}", NULL },
		{ "{\"regles\":[{" RULE ",\"source\":\"sauvegardes\"}]}", NULL },
		{ "{\"regles\":[{" RULE ",\"source\":\"campagnes\",\"fermeture_heures\":24}]}", NULL },
		{ "{\"regles\":[{\"nom\":\"r\",\"titre\":\"T\",\"indicateur\":\"x\",\"comparaison\":\"<\","
		    "\"seuil\":-1e12,\"fenetre_minutes\":5}]}", NULL },
		/* refused */
		{ "", "JSON invalide ou sans tableau « regles »" },
		{ "{\"regles\":{}}", "JSON invalide ou sans tableau « regles »" },
		{ "{\"rules\":[]}", "JSON invalide ou sans tableau « regles »" },
		{ "{\"regles\":[{" RULE ",\"fenetre_minutes\":1}]", "JSON invalide" },
		{ "{\"regles\":[{\"nom\":\"Mauvais Nom\",\"titre\":\"x\",\"indicateur\":\"x\","
		    "\"comparaison\":\">\",\"seuil\":1,\"fenetre_minutes\":5}]}",
		    "règle 1 : « nom » en minuscules, chiffres et _" },
		{ "{\"regles\":[{\"titre\":\"x\"}]}", "règle 1 : « nom »" },
		{ "{\"regles\":[{\"nom\":\"r\",\"indicateur\":\"x\",\"comparaison\":\">\",\"seuil\":1,"
		    "\"fenetre_minutes\":5}]}", "règle « r » : titre, indicateur, comparaison et seuil" },
		{ "{\"regles\":[{\"nom\":\"r\",\"titre\":\"\",\"indicateur\":\"x\",\"comparaison\":\">\","
		    "\"seuil\":1,\"fenetre_minutes\":5}]}", "titre, indicateur, comparaison et seuil" },
		{ "{\"regles\":[{\"nom\":\"r\",\"titre\":\"T\",\"indicateur\":\"x\",\"comparaison\":\">\","
		    "\"seuil\":\"5\",\"fenetre_minutes\":5}]}", "titre, indicateur, comparaison et seuil" },
		{ "{\"regles\":[{\"nom\":\"r\",\"titre\":\"T\",\"indicateur\":\"x\",\"comparaison\":\">\","
		    "\"seuil\":2e12,\"fenetre_minutes\":5}]}", "titre, indicateur, comparaison et seuil" },
		{ "{\"regles\":[{\"nom\":\"r\",\"titre\":\"T\",\"indicateur\":\"x\",\"comparaison\":\">=\","
		    "\"seuil\":1,\"fenetre_minutes\":5}]}", "comparaison « > » ou « < »" },
		{ "{\"regles\":[{\"nom\":\"r\",\"titre\":\"T\",\"indicateur\":\"x\",\"comparaison\":\"=\","
		    "\"seuil\":1,\"fenetre_minutes\":5}]}", "comparaison « > » ou « < »" },
		{ "{\"regles\":[{" RULE "}]}", "fenetre_minutes entre 1 et 1440" },
		{ "{\"regles\":[{" RULE ",\"fenetre_minutes\":0}]}", "fenetre_minutes entre 1 et 1440" },
		{ "{\"regles\":[{" RULE ",\"fenetre_minutes\":1441}]}", "fenetre_minutes entre 1 et 1440" },
		{ "{\"regles\":[{" RULE ",\"fenetre_minutes\":5,\"requetes_min\":-1}]}",
		    "requetes_min invalide" },
		{ "{\"regles\":[{" RULE ",\"fenetre_minutes\":5,\"requetes_min\":null}]}",
		    "requetes_min invalide" },
		{ "{\"regles\":[{" RULE ",\"source\":\"journal\"}]}",
		    "source « requetes », « sauvegardes » ou « campagnes »" },
		{ "{\"regles\":[{" RULE ",\"source\":\"campagnes\"}]}",
		    "fermeture_heures entre 1 et 8760" },
		{ "{\"regles\":[{" RULE ",\"source\":\"campagnes\",\"fermeture_heures\":0}]}",
		    "fermeture_heures entre 1 et 8760" },
		{ "{\"regles\":[{" RULE ",\"unite\":\"unité bien trop longue\",\"fenetre_minutes\":5}]}",
		    "titre, indicateur" },
	};
	char err[512], text[8192];
	size_t i, n, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		err[0] = '\0';
		n = 99;
		rc = alert_rules_parse(cases[i].json, strlen(cases[i].json), "regles.json", rules, &n,
		    err, sizeof(err));
		if (cases[i].err == NULL)
			CHECK(rc == 0 && n == (strcmp(cases[i].json, "{\"regles\":[]}") == 0 ? 0u : 1u),
			    "cas %zu accepté : %s", i, err);
		else
			CHECK(rc == -1 && n == 0 && strncmp(err, "regles.json : ", 14) == 0 &&
			    strstr(err, cases[i].err) != NULL, "cas %zu refusé (%s) : %s", i,
			    cases[i].err, err);
	}

	/* Defaults: no unit, no minimum of requests, not firing when missing. */
	alert_rules_parse(cases[1].json, strlen(cases[1].json), "r", rules, &n, err, sizeof(err));
	CHECK(rules[0].unit[0] == '\0' && rules[0].min_requests == 0 &&
	    !rules[0].fire_when_missing && rules[0].window_minutes == 1, "valeurs par défaut");

	/* 32 rules at most. */
	for (len = 0, i = 0; i < ALERT_RULES_MAX + 1; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s{" RULE
		    ",\"fenetre_minutes\":5}", i == 0 ? "{\"regles\":[" : ",");
	snprintf(text + len, sizeof(text) - len, "]}");
	CHECK(alert_rules_parse(text, strlen(text), "r", rules, &n, err, sizeof(err)) == -1 &&
	    strstr(err, "32 règles au plus") != NULL, "33 règles : %s", err);
	text[len - strlen(",{" RULE ",\"fenetre_minutes\":5}")] = '\0';
	strcat(text, "]}");
	CHECK(alert_rules_parse(text, strlen(text), "r", rules, &n, err, sizeof(err)) == 0 &&
	    n == ALERT_RULES_MAX, "32 règles : %s", err);
}

static void
test_load(void)
{
	char path[] = "/tmp/test_alert_rules.XXXXXX", err[512] = "";
	size_t n = 99;
	FILE *f;
	int fd, i;

	CHECK(alert_rules_load("/nonexistent/alert-rules.json", rules, &n, err, sizeof(err)) == -1
	    && n == 0 && strstr(err, "règles illisibles (/nonexistent/alert-rules.json)") != NULL,
	    "fichier absent : %s", err);
	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		CHECK(0, "fichier temporaire");
		return;
	}
	fputs("{\"regles\":[], \"description\":\"", f);
	for (i = 0; i < ALERT_RULES_MAX_BYTES; i++)
		fputc('x', f);
	fputs("\"}", f);
	fclose(f);
	CHECK(alert_rules_load(path, rules, &n, err, sizeof(err)) == -1 &&
	    strstr(err, "fichier trop grand (64 Kio au plus)") != NULL, "fichier trop grand : %s",
	    err);
	unlink(path);
}

static void
test_evaluate(void)
{
	static const struct {
		const char *rule;        /* the members after RULE-like name/title */
		const char *figures;     /* NULL: no figures at all */
		bool has_value;
		double value, requests;
		bool firing;
	} cases[] = {
		/* above, below, at the threshold */
		{ "\"indicateur\":\"taux_echec\",\"comparaison\":\">\",\"seuil\":5,\"fenetre_minutes\":15",
		    "{\"requetes\":100,\"taux_echec\":6}", true, 6, 100, true },
		{ "\"indicateur\":\"taux_echec\",\"comparaison\":\">\",\"seuil\":5,\"fenetre_minutes\":15",
		    "{\"requetes\":100,\"taux_echec\":5}", true, 5, 100, false },
		{ "\"indicateur\":\"taux_echec\",\"comparaison\":\"<\",\"seuil\":5,\"fenetre_minutes\":15",
		    "{\"requetes\":100,\"taux_echec\":4.5}", true, 4.5, 100, true },
		{ "\"indicateur\":\"taux_echec\",\"comparaison\":\"<\",\"seuil\":5,\"fenetre_minutes\":15",
		    "{\"requetes\":100,\"taux_echec\":5}", true, 5, 100, false },
		/* a path into the summary */
		{ "\"indicateur\":\"temps_reponse_ms.p95\",\"comparaison\":\">\",\"seuil\":5000,"
		    "\"fenetre_minutes\":15", "{\"requetes\":3,\"temps_reponse_ms\":{\"p95\":7200}}",
		    true, 7200, 3, true },
		/* under the minimum of requests: quiet; at it: evaluated; no "requetes": 0 */
		{ "\"indicateur\":\"taux_echec\",\"comparaison\":\">\",\"seuil\":5,\"fenetre_minutes\":15,"
		    "\"requetes_min\":20", "{\"requetes\":19,\"taux_echec\":50}", true, 50, 19, false },
		{ "\"indicateur\":\"taux_echec\",\"comparaison\":\">\",\"seuil\":5,\"fenetre_minutes\":15,"
		    "\"requetes_min\":20", "{\"requetes\":20,\"taux_echec\":50}", true, 50, 20, true },
		{ "\"indicateur\":\"taux_echec\",\"comparaison\":\">\",\"seuil\":5,\"fenetre_minutes\":15,"
		    "\"requetes_min\":1", "{\"taux_echec\":50}", true, 50, 0, false },
		/* missing or not a number: firing only with absente_declenche */
		{ "\"indicateur\":\"taux_echec\",\"comparaison\":\">\",\"seuil\":5,\"fenetre_minutes\":15",
		    "{\"requetes\":0,\"taux_echec\":null}", false, 0, 0, false },
		{ "\"indicateur\":\"taux_echec\",\"comparaison\":\">\",\"seuil\":5,\"fenetre_minutes\":15,"
		    "\"absente_declenche\":true", "{\"requetes\":0}", false, 0, 0, true },
		{ "\"indicateur\":\"file.longueur_max\",\"comparaison\":\">\",\"seuil\":10,"
		    "\"fenetre_minutes\":15", "{\"requetes\":5,\"file\":\"12\"}", false, 0, 5, false },
		/* backups: no requests, no minimum */
		{ "\"source\":\"sauvegardes\",\"indicateur\":\"derniere_reussie.age_heures\","
		    "\"comparaison\":\">\",\"seuil\":26,\"absente_declenche\":true",
		    "{\"derniere_reussie\":{\"age_heures\":30.5}}", true, 30.5, -1, true },
		{ "\"source\":\"sauvegardes\",\"indicateur\":\"derniere_reussie.age_heures\","
		    "\"comparaison\":\">\",\"seuil\":26,\"absente_declenche\":true",
		    "{\"derniere_reussie\":{\"age_heures\":2}}", true, 2, -1, false },
		{ "\"source\":\"sauvegardes\",\"indicateur\":\"derniere_reussie.age_heures\","
		    "\"comparaison\":\">\",\"seuil\":26,\"absente_declenche\":true",
		    "{\"derniere_reussie\":null}", false, 0, -1, true },
		{ "\"source\":\"sauvegardes\",\"indicateur\":\"derniere_reussie.age_heures\","
		    "\"comparaison\":\">\",\"seuil\":26", NULL, false, 0, -1, false },
	};
	char text[1024], err[512];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *figures = cases[i].figures ? cJSON_Parse(cases[i].figures) : NULL;
		struct alert_rule *ru = &rules[0];

		snprintf(text, sizeof(text), "{\"regles\":[{\"nom\":\"r\",\"titre\":\"T\",%s}]}",
		    cases[i].rule);
		if (alert_rules_parse(text, strlen(text), "r", rules, &n, err, sizeof(err)) != 0) {
			CHECK(0, "cas %zu : règle refusée : %s", i, err);
			cJSON_Delete(figures);
			continue;
		}
		ru->firing = !cases[i].firing;
		alert_rule_evaluate(ru, figures);
		CHECK(ru->has_value == cases[i].has_value && ru->value == cases[i].value &&
		    ru->requests == cases[i].requests && ru->firing == cases[i].firing,
		    "cas %zu : valeur %d %g, requêtes %g, %s", i, ru->has_value, ru->value,
		    ru->requests, ru->firing ? "déclenchée" : "normale");
		cJSON_Delete(figures);
	}
}

/* A rule on campaigns: only open ones closing within its hours count; it names those under
 * the threshold; its value is the lowest rate considered. */
static void
test_evaluate_campaigns(void)
{
#define CAMP(slug, phase, hours, rate) "{\"slug\":\"" slug "\",\"phase\":\"" phase "\"," \
	"\"heures_avant_fermeture\":" hours ",\"taux_reponse\":" rate "}"
	static const struct {
		const char *figures;
		bool has_value, firing;
		double value;
		int count;
		const char *detail;
	} cases[] = {
		{ "[]", false, false, 0, 0, "" },
		{ "[" CAMP("a", "ouverte", "10", "50") "]", true, true, 50, 1, "a : 50 %" },
		{ "[" CAMP("a", "ouverte", "10", "90") "]", true, false, 90, 0, "" },
		{ "[" CAMP("a", "ouverte", "10", "80") "]", true, false, 80, 0, "" },
		{ "[" CAMP("a", "ouverte", "72", "50") "]", false, false, 0, 0, "" },
		{ "[" CAMP("a", "ouverte", "null", "50") "]", false, false, 0, 0, "" },
		{ "[" CAMP("a", "retard", "10", "50") "]", false, false, 0, 0, "" },
		{ "[" CAMP("a", "ouverte", "10", "33.33") "," CAMP("b", "ouverte", "3", "90") ","
		    "{\"slug\":\"c\",\"titre\":\"Réunion « C »\",\"phase\":\"ouverte\","
		    "\"heures_avant_fermeture\":23.9,\"taux_reponse\":12.5}" "," CAMP("d", "ouverte", "30", "0") "]",
		    true, true, 12.5, 2, "a : 33,33 % ; « Réunion « C » » (c) : 12,5 %" },
	};
	const char *text = "{\"regles\":[{\"nom\":\"c\",\"titre\":\"T\",\"source\":\"campagnes\","
	    "\"indicateur\":\"taux_reponse\",\"comparaison\":\"<\",\"seuil\":80,\"unite\":\"%\","
	    "\"fermeture_heures\":24}]}";
	char err[512];
	size_t i, n;

	CHECK(alert_rules_parse(text, strlen(text), "c", rules, &n, err, sizeof(err)) == 0 &&
	    n == 1, "règle sur les campagnes : %s", err);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *figures = cJSON_Parse(cases[i].figures);
		struct alert_rule *ru = &rules[0];

		ru->firing = !cases[i].firing;
		alert_rule_evaluate(ru, figures);
		CHECK(ru->has_value == cases[i].has_value && ru->firing == cases[i].firing &&
		    ru->value == cases[i].value && ru->detail_count == cases[i].count &&
		    strcmp(ru->detail, cases[i].detail) == 0 && ru->requests == -1,
		    "campagnes, cas %zu : %d %g %s, %d « %s »", i, ru->has_value, ru->value,
		    ru->firing ? "déclenchée" : "normale", ru->detail_count, ru->detail);
		cJSON_Delete(figures);
	}
#undef CAMP
}

static void
test_transitions(void)
{
	static const struct { bool was, now; enum alert_transition t; const char *kind; } cases[] = {
		{ false, false, ALERT_UNCHANGED, NULL },
		{ false, true, ALERT_FIRED, "firing" },
		{ true, true, ALERT_UNCHANGED, NULL },
		{ true, false, ALERT_RESOLVED, "resolved" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum alert_transition t = alert_transition(cases[i].was, cases[i].now);
		const char *kind = alert_transition_kind(t);
		CHECK(t == cases[i].t && (kind == NULL ? cases[i].kind == NULL :
		    cases[i].kind != NULL && strcmp(kind, cases[i].kind) == 0),
		    "%d -> %d : %d (%s)", cases[i].was, cases[i].now, t, kind ? kind : "-");
	}
}

int
main(void)
{
	test_shipped_file();
	test_parse();
	test_load();
	test_evaluate();
	test_evaluate_campaigns();
	test_transitions();
	return UNIT_END();
}
