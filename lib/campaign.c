/* campaign.c — campaign requests checked, representations, the start of an admin write. */
#include "campaign.h"
#include "campaign_lookup.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "validate.h"

static const char *const campaign_members[] = {
	"slug", "titre", "introduction", "fuseau", "ouverture", "fermeture",
	"delai_grace_minutes", "modification_jusqu_a", "etat",
};

static const char *const campaign_states[] = { "brouillon", "ouverte", "close", "archivee" };

static bool
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool
campaign_time_valid(const char *s)
{
	struct local_time t;
	char date[11];
	int h, m;
	size_t n = strlen(s), rest;

	/* 2026-03-30T09:00[:00][Z|+02:00] */
	if (n < 16 || n > 25 || s[10] != 'T')
		return false;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (!local_date_parse(date, &t) || !digits(s + 11, 2) || s[13] != ':' ||
	    !digits(s + 14, 2))
		return false;
	{
		char hm[6];
		memcpy(hm, s + 11, 5);
		hm[5] = '\0';
		if (!local_hm_parse(hm, &h, &m))
			return false;
	}
	rest = 16;
	if (s[rest] == ':') {
		if (!digits(s + rest + 1, 2) || s[rest + 1] > '5')
			return false;
		rest += 3;
	}
	if (s[rest] == '\0')
		return true;
	if (s[rest] == 'Z')
		return s[rest + 1] == '\0';
	if (s[rest] != '+' && s[rest] != '-')
		return false;
	return strlen(s + rest) == 6 && digits(s + rest + 1, 2) && s[rest + 3] == ':' &&
	    digits(s + rest + 4, 2) && s[rest + 1] <= '1' && s[rest + 4] <= '5';
}

/* A member that is a string or null; false (and a message) otherwise. */
static bool
string_or_null(const cJSON *root, const char *name, const char **out, bool *has,
    cJSON *errors, const char *message)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

	*has = v != NULL;
	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsString(v)) {
		cJSON_AddStringToObject(errors, name, message);
		return false;
	}
	*out = v->valuestring;
	return true;
}

static void
fault(cJSON *errors, int *n, const char *name, const char *message)
{
	cJSON_AddStringToObject(errors, name, message);
	(*n)++;
}

int
campaign_parse(const cJSON *root, bool create, struct campaign_fields *f, cJSON *errors)
{
	static const char time_msg[] = "Date invalide : écrivez par exemple "
	    "2026-03-30T09:00 (heure du fuseau de la campagne) ou 2026-03-30T09:00:00+02:00.";
	const cJSON *g;
	int n;
	size_t i;

	memset(f, 0, sizeof(*f));
	if ((n = json_unknown_members(root, campaign_members,
	    sizeof(campaign_members) / sizeof(campaign_members[0]), errors)) < 0)
		return 1;

	if (!string_or_null(root, "slug", &f->slug, &f->has_slug, errors, "Texte attendu."))
		n++;
	else if (f->slug == NULL ? (create || f->has_slug) : !campaign_slug_valid(f->slug))
		fault(errors, &n, "slug", "Adresse invalide : de 1 à 64 minuscules, chiffres et "
		    "tirets (pas de tiret au début ni à la fin), par exemple « stages-2026 ».");

	if (!string_or_null(root, "titre", &f->titre, &f->has_titre, errors, "Texte attendu."))
		n++;
	else if (f->titre == NULL ? (create || f->has_titre) : true) {
		long len = f->titre ? utf8_text_length(f->titre, false) : -1;
		if (len < 1 || len > CAMPAIGN_TITLE_MAX_CHARS || isspace((unsigned char)f->titre[0]))
			fault(errors, &n, "titre", "Titre obligatoire : de 1 à 200 caractères, sur une "
			    "ligne, sans espace au début.");
	}

	if (!string_or_null(root, "introduction", &f->introduction, &f->has_introduction, errors,
	    "Texte attendu."))
		n++;
	else if (f->introduction != NULL) {
		long len = utf8_text_length(f->introduction, true);
		if (len < 0 || len > CAMPAIGN_INTRO_MAX_CHARS)
			fault(errors, &n, "introduction", "Introduction trop longue (10 000 caractères "
			    "au plus) ou avec des caractères de contrôle.");
	}

	if (!string_or_null(root, "fuseau", &f->fuseau, &f->has_fuseau, errors, "Texte attendu."))
		n++;
	else if (f->has_fuseau && (f->fuseau == NULL || !slot_tz_name_valid(f->fuseau)))
		fault(errors, &n, "fuseau", "Fuseau horaire inconnu : écrivez un nom comme "
		    "Europe/Paris ou Europe/Brussels.");

	if (!string_or_null(root, "ouverture", &f->ouverture, &f->has_ouverture, errors, time_msg))
		n++;
	else if (f->ouverture != NULL && !campaign_time_valid(f->ouverture))
		fault(errors, &n, "ouverture", time_msg);
	if (!string_or_null(root, "fermeture", &f->fermeture, &f->has_fermeture, errors, time_msg))
		n++;
	else if (f->fermeture != NULL && !campaign_time_valid(f->fermeture))
		fault(errors, &n, "fermeture", time_msg);
	if (!string_or_null(root, "modification_jusqu_a", &f->modification_jusqu_a,
	    &f->has_modification, errors, time_msg))
		n++;
	else if (f->modification_jusqu_a != NULL && strcmp(f->modification_jusqu_a, "infinity") != 0 &&
	    !campaign_time_valid(f->modification_jusqu_a))
		fault(errors, &n, "modification_jusqu_a", time_msg);

	if ((g = cJSON_GetObjectItemCaseSensitive(root, "delai_grace_minutes")) != NULL) {
		f->has_grace = true;
		if (!cJSON_IsNumber(g) || g->valuedouble != (double)(int)g->valuedouble ||
		    g->valuedouble < 0 || g->valuedouble > CAMPAIGN_GRACE_MAX_MIN)
			fault(errors, &n, "delai_grace_minutes", "Délai de grâce invalide : un nombre "
			    "entier de minutes, de 0 à 43 200 (30 jours).");
		else
			f->grace_minutes = (int)g->valuedouble;
	}

	if (!string_or_null(root, "etat", &f->etat, &f->has_etat, errors, "Texte attendu."))
		n++;
	else if (f->has_etat) {
		bool known = false;
		for (i = 0; f->etat != NULL && i < sizeof(campaign_states) / sizeof(*campaign_states); i++)
			known = known || strcmp(f->etat, campaign_states[i]) == 0;
		if (!known)
			fault(errors, &n, "etat", "État inconnu : brouillon, ouverte, close ou archivee.");
	}
	return n;
}

int
campaign_zone_known(struct db *db, const char *name)
{
	const char *params[1] = { name };
	PGresult *res;
	int known;

	if (!slot_tz_name_valid(name))
		return 0;
	if ((res = db_exec(db, STMT_TIMEZONE_CHECK, params)) == NULL)
		return -1;
	known = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) > 0 : -1;
	PQclear(res);
	return known;
}

bool
campaign_tx_begin(struct db *db, const struct http_request *req)
{
	char actor[96], user[64], addr[64], agent[256], rid[64];
	const char *params[4];
	PGresult *res;
	bool ok;

	http_sanitize(user, sizeof(user), req->remote_user);
	snprintf(actor, sizeof(actor), "admin:%s", user);
	http_sanitize(addr, sizeof(addr), req->remote_addr);
	http_sanitize(agent, sizeof(agent), req->user_agent);
	http_sanitize(rid, sizeof(rid), req->request_id);
	params[0] = actor;
	params[1] = addr[0] ? addr : NULL;
	params[2] = agent[0] ? agent : NULL;
	params[3] = rid[0] ? rid : NULL;
	if (!db_begin(db))
		return false;
	res = db_exec(db, STMT_CAMPAIGN_ACTOR, params);
	ok = db_ok(res);
	PQclear(res);
	if (!ok)
		db_rollback(db);
	return ok;
}

