/* campaigns_edit.c — for fiable-campaigns (campaigns.c): a campaign created (POST
 * /api/admin/campagnes) or edited (PUT /api/admin/campagnes/N, If-Match "vN": 428 without,
 * 412 modifiee_entre_temps with the current version when stale). */
#include <stdio.h>
#include <string.h>

#include "campaign.h"
#include "campaigns.h"
#include "log.h"
#include "metrics.h"
#include "respond.h"
#include "validate.h"

#define PREFIX "/api/admin/campagnes/"

/* A campaign's fields (parsed; absent members of a PUT are those of the locked row) written
 * by campaign_insert (id NULL) or campaign_update. Answers the refusals itself; on success
 * the result (RETURNING id, version) to PQclear. */
static PGresult *
campaign_store(struct call *call, const char *id, const struct campaign_fields *f)
{
	char grace[16];
	const char *params[10];
	PGresult *res;
	int i = 0, known;
	cJSON *errors;

	if ((known = campaign_zone_known(call->db, f->fuseau)) != 1) {
		if (known < 0) {
			campaign_write_fail(call, ERR_NONE, NULL, NULL);
			return NULL;
		}
		errors = cJSON_CreateObject();
		cJSON_AddStringToObject(errors, "fuseau", "Fuseau horaire inconnu : écrivez un nom "
		    "comme Europe/Paris ou Europe/Brussels.");
		campaign_write_fail(call, ERR_VALIDATION, "errors", errors);
		cJSON_Delete(errors);
		return NULL;
	}
	snprintf(grace, sizeof(grace), "%d", f->grace_minutes);
	if (id != NULL)
		params[i++] = id;
	params[i++] = f->slug;
	params[i++] = f->titre;
	params[i++] = f->introduction ? f->introduction : "";
	params[i++] = f->fuseau;
	params[i++] = f->ouverture;
	params[i++] = f->fermeture;
	params[i++] = grace;
	params[i++] = f->modification_jusqu_a;
	params[i++] = f->etat ? f->etat : "brouillon";
	res = db_exec(call->db, id ? STMT_CAMPAIGN_UPDATE : STMT_CAMPAIGN_INSERT, params);
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		return res;
	if (res != NULL && (PQntuples(res) == 0 || strcmp(db_sqlstate(res), "23505") == 0) &&
	    (PQresultStatus(res) == PGRES_TUPLES_OK || strcmp(db_sqlstate(res), "23505") == 0)) {
		PQclear(res);
		campaign_write_fail(call, ERR_SLUG_TAKEN, NULL, NULL);
		return NULL;
	}
	if (res != NULL && strcmp(db_sqlstate(res), "23514") == 0) {
		PQclear(res);
		errors = cJSON_CreateObject();
		cJSON_AddStringToObject(errors, "fermeture", "Dates incohérentes : la fermeture "
		    "vient après l’ouverture, et la fin des modifications après la fermeture.");
		campaign_write_fail(call, ERR_VALIDATION, "errors", errors);
		cJSON_Delete(errors);
		return NULL;
	}
	PQclear(res);
	campaign_write_fail(call, ERR_NONE, NULL, NULL);
	return NULL;
}

static bool
parse_or_refuse(struct call *call, cJSON *root, bool create, struct campaign_fields *f)
{
	cJSON *errors = cJSON_CreateObject();

	if (campaign_parse(root, create, f, errors) == 0) {
		cJSON_Delete(errors);
		return true;
	}
	respond_problem(call, ERR_VALIDATION, "errors", errors);
	cJSON_Delete(errors);
	return false;
}

void
handle_create(struct call *call)
{
	struct campaign_fields f;
	PGresult *res;
	cJSON *root;
	char id[24];

	if ((root = respond_read_json(call)) == NULL)
		return;
	if (!parse_or_refuse(call, root, true, &f)) {
		cJSON_Delete(root);
		return;
	}
	if (f.fuseau == NULL)
		f.fuseau = call->cfg->timezone;
	if (!campaign_tx_begin(call->db, call->req)) {
		cJSON_Delete(root);
		respond_db_failure(call);
		return;
	}
	res = campaign_store(call, NULL, &f);
	cJSON_Delete(root);
	if (res == NULL)
		return;
	snprintf(id, sizeof(id), "%s", db_text_or(res, 0, "id", ""));
	PQclear(res);
	if (!metrics_record(call->db, call->req, call->endpoint, 201)) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		return;
	}
	campaign_answer(call, 201, id);
}

/* PUT: the members given replace the campaign's; the others stay as they are. */
void
handle_update(struct call *call, const char *id)
{
	struct campaign_fields f;
	PGresult *locked, *res;
	long want = 0, have;
	cJSON *root;
	int m;

	if ((root = respond_read_json(call)) == NULL)
		return;
	if ((m = http_if_match_version(call->req, &want)) == 0) {
		cJSON_Delete(root);
		respond_error(call, ERR_IF_MATCH_REQUIRED);
		return;
	}
	if (!parse_or_refuse(call, root, false, &f) ||
	    !campaign_write_begin(call, id, &locked)) {
		cJSON_Delete(root);
		return;
	}
	have = (long)db_number(locked, 0, "version");
	if (m < 0 || want != have) {
		cJSON *current = campaign_row_json(locked);
		PQclear(locked);
		cJSON_Delete(root);
		campaign_write_fail(call, ERR_CAMPAIGN_MODIFIED, "current", current);
		cJSON_Delete(current);
		return;
	}
#define KEEP(has, field, column) if (!f.has) f.field = db_text(locked, 0, column)
	KEEP(has_slug, slug, "slug");
	KEEP(has_titre, titre, "titre");
	KEEP(has_introduction, introduction, "introduction");
	KEEP(has_fuseau, fuseau, "fuseau");
	KEEP(has_ouverture, ouverture, "ouverture");
	KEEP(has_fermeture, fermeture, "fermeture");
	KEEP(has_modification, modification_jusqu_a, "modification_jusqu_a");
	KEEP(has_etat, etat, "etat");
#undef KEEP
	if (!f.has_grace)
		f.grace_minutes = (int)db_number(locked, 0, "delai_grace_minutes");
	res = campaign_store(call, id, &f);
	PQclear(locked);
	cJSON_Delete(root);
	if (res == NULL)
		return;
	PQclear(res);
	if (!metrics_record(call->db, call->req, call->endpoint, 200)) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		return;
	}
	campaign_answer(call, 200, id);
}

