/* alert_rules.h — the alert rules of fiable-check-alerts: the rules file (JSON, member
 * "regles") read and checked, a rule evaluated against the figures it reads (the metrics
 * summary over its window, or the backups), and the transition a new state makes. The
 * database side (which summary, storing states and events, mail) stays in the program. */
#ifndef FIABLE_ALERT_RULES_H
#define FIABLE_ALERT_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define ALERT_RULES_MAX_BYTES 65536
#define ALERT_RULES_MAX 32

enum alert_source {
	ALERT_SRC_REQUESTS,      /* "requetes" (the default): the metrics summary of a window */
	ALERT_SRC_BACKUPS,       /* "sauvegardes": the backups member of the metrics */
	ALERT_SRC_CAMPAIGNS      /* "campagnes": each open campaign with participants closing
	                          * within fermeture_heures (member "campagnes" of the metrics) */
};

/* The campaigns a firing rule on campaigns names in its mail: "« Titre » (slug) : 50 % ; ..."
 * (as many as fit; detail_count says how many there are). */
#define ALERT_DETAIL_MAX 1024

struct alert_rule {
	char name[65];
	char title[161];
	char indicator[65];      /* path of the figure, "temps_reponse_ms.p95" */
	char unit[17];
	enum alert_source source;
	char op;                 /* '>' or '<' */
	double threshold;
	long window_minutes;     /* requests only */
	long min_requests;       /* requests only */
	long closing_hours;      /* campaigns only: those closing within this many hours */
	bool fire_when_missing;
	/* evaluation (alert_rule_evaluate) */
	bool has_value;
	double value;
	double requests;         /* requests in the window; -1 for a rule on backups */
	bool firing;
	/* campaigns: those that fire, and how many; value is the worst of those considered */
	char detail[ALERT_DETAIL_MAX];
	int detail_count;
};

enum alert_transition {
	ALERT_UNCHANGED,
	ALERT_FIRED,
	ALERT_RESOLVED
};

/* Checks the rules of a JSON text of len bytes; name (the file's) starts the messages.
 * Fills rules (ALERT_RULES_MAX at most) and *n. 0, or -1 with a French message in err. */
int alert_rules_parse(const char *text, size_t len, const char *name,
    struct alert_rule rules[ALERT_RULES_MAX], size_t *n, char *err, size_t errlen);

/* Reads the rules file (ALERT_RULES_MAX_BYTES at most) and checks it (alert_rules_parse). */
int alert_rules_load(const char *path, struct alert_rule rules[ALERT_RULES_MAX], size_t *n,
    char *err, size_t errlen);

/* Sets has_value, value, requests and firing of the rule from figures: the summary of its
 * window (with "requetes"), the backups object, or the array of campaigns; NULL or a figure
 * that is not a number is a missing value (firing only with absente_declenche). A rule on
 * requests stays quiet under its minimum of requests. A rule on campaigns reads its figure in
 * each campaign in phase "ouverte" closing within its hours: it fires when one of them
 * crosses the threshold, names those in detail, and its value is the worst of them (none
 * closing: a missing value). */
void alert_rule_evaluate(struct alert_rule *ru, const cJSON *figures);

/* What a rule's new state makes of its stored one; a rule never stored counts as not firing
 * (its first evaluation only counts if it fires). */
enum alert_transition alert_transition(bool was_firing, bool firing);
/* The kind of the event stored for a transition ("firing", "resolved"); NULL if unchanged. */
const char *alert_transition_kind(enum alert_transition t);

#endif
