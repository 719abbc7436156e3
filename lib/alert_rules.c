/* alert_rules.c — the rules file of fiable-check-alerts and the evaluation of a rule. */
#include "alert_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"

static bool
copy_string(const cJSON *o, const char *name, char *out, size_t cap, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (v == NULL && !required) {
		out[0] = '\0';
		return true;
	}
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strlen(v->valuestring) >= cap)
		return false;
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return true;
}

static bool
read_number(const cJSON *o, const char *name, double min, double max, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= max))
		return false;
	*out = v->valuedouble;
	return true;
}

/* One rule of the file; 0, or -1 with a message naming it. */
static int
parse_rule(const cJSON *o, size_t index, const char *name, struct alert_rule *ru, char *err,
    size_t errlen)
{
	char source[16], op[4];
	double d;

	memset(ru, 0, sizeof(*ru));
	if (!copy_string(o, "nom", ru->name, sizeof(ru->name), true) ||
	    strspn(ru->name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(ru->name)) {
		snprintf(err, errlen, "%s : règle %zu : « nom » en minuscules, chiffres et _", name,
		    index + 1);
		return -1;
	}
	if (!copy_string(o, "titre", ru->title, sizeof(ru->title), true) ||
	    !copy_string(o, "indicateur", ru->indicator, sizeof(ru->indicator), true) ||
	    !copy_string(o, "unite", ru->unit, sizeof(ru->unit), false) ||
	    !copy_string(o, "source", source, sizeof(source), false) ||
	    !copy_string(o, "comparaison", op, sizeof(op), true) ||
	    !read_number(o, "seuil", -1e12, 1e12, &ru->threshold)) {
		snprintf(err, errlen, "%s : règle « %s » : titre, indicateur, comparaison et seuil "
		    "sont obligatoires", name, ru->name);
		return -1;
	}
	if (strcmp(op, ">") != 0 && strcmp(op, "<") != 0) {
		snprintf(err, errlen, "%s : règle « %s » : comparaison « > » ou « < »", name,
		    ru->name);
		return -1;
	}
	ru->op = op[0];
	if (source[0] == '\0' || strcmp(source, "requetes") == 0) {
		ru->source = ALERT_SRC_REQUESTS;
		if (!read_number(o, "fenetre_minutes", 1, 1440, &d)) {
			snprintf(err, errlen, "%s : règle « %s » : fenetre_minutes entre 1 et 1440",
			    name, ru->name);
			return -1;
		}
		ru->window_minutes = (long)d;
		ru->min_requests = 0;
		if (cJSON_GetObjectItemCaseSensitive(o, "requetes_min") != NULL) {
			if (!read_number(o, "requetes_min", 0, 1e9, &d)) {
				snprintf(err, errlen, "%s : règle « %s » : requetes_min invalide", name,
				    ru->name);
				return -1;
			}
			ru->min_requests = (long)d;
		}
	} else if (strcmp(source, "sauvegardes") == 0) {
		ru->source = ALERT_SRC_BACKUPS;
	} else if (strcmp(source, "campagnes") == 0) {
		ru->source = ALERT_SRC_CAMPAIGNS;
		if (!read_number(o, "fermeture_heures", 1, 8760, &d)) {
			snprintf(err, errlen, "%s : règle « %s » : fermeture_heures entre 1 et 8760",
			    name, ru->name);
			return -1;
		}
		ru->closing_hours = (long)d;
	} else {
		snprintf(err, errlen, "%s : règle « %s » : source « requetes », « sauvegardes » ou "
		    "« campagnes »", name, ru->name);
		return -1;
	}
	ru->fire_when_missing = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "absente_declenche"));
	return 0;
}

int
alert_rules_parse(const char *text, size_t len, const char *name,
    struct alert_rule rules[ALERT_RULES_MAX], size_t *n, char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "regles"), *o;
	size_t count = 0;
	int rc = -1;

	*n = 0;
	if (!cJSON_IsArray(list)) {
		snprintf(err, errlen, "%s : JSON invalide ou sans tableau « regles »", name);
		goto out;
	}
	cJSON_ArrayForEach(o, list) {
		if (count == ALERT_RULES_MAX) {
			snprintf(err, errlen, "%s : %d règles au plus", name, ALERT_RULES_MAX);
			goto out;
		}
		if (parse_rule(o, count, name, &rules[count], err, errlen) != 0)
			goto out;
		count++;
	}
	*n = count;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int
alert_rules_load(const char *path, struct alert_rule rules[ALERT_RULES_MAX], size_t *n,
    char *err, size_t errlen)
{
	char *text = NULL;
	struct stat st;
	size_t got = 0;
	int fd, rc = -1;

	*n = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "règles illisibles (%s) : %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || st.st_size > ALERT_RULES_MAX_BYTES ||
	    (text = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s : fichier trop grand (64 Kio au plus)", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	text[got] = '\0';
	rc = alert_rules_parse(text, got, path, rules, n, err, errlen);
out:
	free(text);
	close(fd);
	return rc;
}

static bool
crosses(const struct alert_rule *ru, double v)
{
	return ru->op == '>' ? v > ru->threshold : v < ru->threshold;
}

/* A rule on campaigns (alert_rule_evaluate). */
static void
evaluate_campaigns(struct alert_rule *ru, const cJSON *campaigns)
{
	const cJSON *c, *phase, *hours, *slug, *title, *v;
	char number[32], *comma;
	size_t len = 0;
	int w;

	ru->requests = -1;
	ru->has_value = false;
	ru->value = 0;
	ru->detail[0] = '\0';
	ru->detail_count = 0;
	cJSON_ArrayForEach(c, campaigns) {
		phase = cJSON_GetObjectItemCaseSensitive(c, "phase");
		hours = cJSON_GetObjectItemCaseSensitive(c, "heures_avant_fermeture");
		slug = cJSON_GetObjectItemCaseSensitive(c, "slug");
		v = metrics_json_path(c, ru->indicator);
		if (!cJSON_IsString(phase) || strcmp(phase->valuestring, "ouverte") != 0 ||
		    !cJSON_IsNumber(hours) || hours->valuedouble > (double)ru->closing_hours ||
		    !cJSON_IsString(slug) || !cJSON_IsNumber(v))
			continue;
		/* the worst: the highest against '>', the lowest against '<' */
		if (!ru->has_value ||
		    (ru->op == '>' ? v->valuedouble > ru->value : v->valuedouble < ru->value))
			ru->value = v->valuedouble;
		ru->has_value = true;
		if (!crosses(ru, v->valuedouble))
			continue;
		ru->detail_count++;
		/* The names that fit; the count says how many there are. */
		snprintf(number, sizeof(number), "%.4g", v->valuedouble);
		if ((comma = strchr(number, '.')) != NULL)
			*comma = ',';	/* read by French speakers */
		title = cJSON_GetObjectItemCaseSensitive(c, "titre");
		if (cJSON_IsString(title))
			w = snprintf(ru->detail + len, sizeof(ru->detail) - len,
			    "%s« %s » (%s) : %s%s%s", len ? " ; " : "", title->valuestring,
			    slug->valuestring, number, ru->unit[0] ? " " : "", ru->unit);
		else
			w = snprintf(ru->detail + len, sizeof(ru->detail) - len, "%s%s : %s%s%s",
			    len ? " ; " : "", slug->valuestring, number, ru->unit[0] ? " " : "",
			    ru->unit);
		if (w > 0 && (size_t)w < sizeof(ru->detail) - len)
			len += (size_t)w;
		else
			ru->detail[len] = '\0';
	}
	ru->firing = ru->has_value ? ru->detail_count > 0 : ru->fire_when_missing;
}

void
alert_rule_evaluate(struct alert_rule *ru, const cJSON *figures)
{
	const cJSON *v;

	if (ru->source == ALERT_SRC_CAMPAIGNS) {
		evaluate_campaigns(ru, figures);
		return;
	}
	if (ru->source == ALERT_SRC_BACKUPS) {
		ru->requests = -1;
	} else {
		v = metrics_json_path(figures, "requetes");
		ru->requests = cJSON_IsNumber(v) ? v->valuedouble : 0;
	}
	v = metrics_json_path(figures, ru->indicator);
	ru->has_value = cJSON_IsNumber(v);
	ru->value = ru->has_value ? v->valuedouble : 0;
	if (!ru->has_value)
		ru->firing = ru->fire_when_missing;
	else if (ru->source == ALERT_SRC_REQUESTS && ru->requests < (double)ru->min_requests)
		ru->firing = false;
	else
		ru->firing = crosses(ru, ru->value);
}

enum alert_transition
alert_transition(bool was_firing, bool firing)
{
	if (firing == was_firing)
		return ALERT_UNCHANGED;
	return firing ? ALERT_FIRED : ALERT_RESOLVED;
}

const char *
alert_transition_kind(enum alert_transition t)
{
	switch (t) {
	case ALERT_FIRED:
		return "firing";
	case ALERT_RESOLVED:
		return "resolved";
	case ALERT_UNCHANGED:
		break;
	}
	return NULL;
}
