#include "campaign_lookup.h"

#include <stdio.h>
#include <string.h>

bool
campaign_slug_valid(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > CAMPAIGN_SLUG_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return false;
	return s[0] != '-' && s[n - 1] != '-';
}

enum campaign_lookup
campaign_for_answer(struct db *db, const char *slug, struct campaign_answer *out)
{
	const char *params[1] = { slug };
	PGresult *res = db_exec(db, STMT_CAMPAIGN_FOR_ANSWER, params);
	enum campaign_lookup r = CAMPAIGN_FOUND;
	const char *phase, *date;

	memset(out, 0, sizeof(*out));
	if (!db_ok(res)) {
		PQclear(res);
		return CAMPAIGN_FAILED;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		return CAMPAIGN_ABSENT;
	}
	snprintf(out->id, sizeof(out->id), "%s", db_text_or(res, 0, "id", ""));
	snprintf(out->slug, sizeof(out->slug), "%s", db_text_or(res, 0, "slug", ""));
	snprintf(out->titre, sizeof(out->titre), "%s", db_text_or(res, 0, "titre", ""));
	out->first = slug[0] == '\0';
	out->invited_only = strcmp(db_text_or(res, 0, "acces", "ouvert"), "invites") == 0;
	phase = db_text_or(res, 0, "phase", "");
	out->late = strcmp(phase, "retard") == 0;
	if (strcmp(phase, "ouverte") == 0 || out->late) {
		out->refusal = ERR_NONE;
	} else if (strcmp(phase, "close") == 0) {
		out->refusal = ERR_CAMPAIGN_CLOSED;
		/* Closed by hand (etat close) before its date: no date to name. */
		date = db_text(res, 0, "ferme_le");
		if (date != NULL && strcmp(db_text_or(res, 0, "etat", ""), "ouverte") == 0)
			snprintf(out->detail, sizeof(out->detail), "Cette campagne est close depuis "
			    "le %s (heure de %s) ; votre réponse n’a pas été enregistrée.", date,
			    db_text_or(res, 0, "fuseau", ""));
		else
			snprintf(out->detail, sizeof(out->detail), "Cette campagne est close ; "
			    "votre réponse n’a pas été enregistrée.");
	} else {
		out->refusal = ERR_CAMPAIGN_NOT_OPEN;
		date = db_text(res, 0, "ouvre_le");
		if (strcmp(phase, "a_venir") == 0 && date != NULL)
			snprintf(out->detail, sizeof(out->detail), "Cette campagne ouvrira le %s "
			    "(heure de %s) ; votre réponse n’a pas été enregistrée.", date,
			    db_text_or(res, 0, "fuseau", ""));
		else
			snprintf(out->detail, sizeof(out->detail), "Cette campagne n’est pas "
			    "ouverte aux réponses ; votre réponse n’a pas été enregistrée.");
	}
	PQclear(res);
	return r;
}

enum campaign_lookup
campaign_id_of(struct db *db, const char *slug, char id[24])
{
	const char *params[1] = { slug };
	PGresult *res = db_query(db, STMT_CAMPAIGN_ID, params);
	enum campaign_lookup r;

	if (!db_ok(res))
		r = CAMPAIGN_FAILED;
	else if (PQntuples(res) != 1)
		r = CAMPAIGN_ABSENT;
	else {
		snprintf(id, 24, "%s", db_text_or(res, 0, "id", ""));
		r = CAMPAIGN_FOUND;
	}
	PQclear(res);
	return r;
}

bool
campaign_of_token(struct db *db, const char *token_hash, char id[24])
{
	const char *params[1] = { token_hash };
	PGresult *res = db_query(db, STMT_SUBMISSION_CAMPAIGN_BY_TOKEN, params);
	bool found = db_ok(res) && PQntuples(res) == 1 && !db_is_null(res, 0, "campagne_id");

	if (found)
		snprintf(id, 24, "%s", db_text(res, 0, "campagne_id"));
	PQclear(res);
	return found;
}
