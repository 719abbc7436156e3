#include "flags.h"

#include <string.h>

#include "audit.h"

/* One place for the French words of each flag (the admin page and fiable-flags show them). */
static const struct flag_def flag_defs[] = {
	{ "autosave", "Sauvegarde automatique du brouillon",
	  "Le formulaire garde chaque frappe dans le navigateur et la restaure à la réouverture. "
	  "Désactivée : rien n’est gardé avant l’envoi." },
	{ "offline_queue", "File d’envoi hors ligne",
	  "Un envoi qui échoue (réseau, serveur) attend dans le navigateur et repart seul. "
	  "Désactivée : l’envoi est tenté une fois et la personne réessaie elle-même." },
	{ "modification", "Modification des réponses",
	  "Avec son lien, chacun relit, modifie, restaure ou retire sa réponse. Désactivée : "
	  "ces adresses refusent toute demande (403) et rien n’est enregistré ; les liens restent "
	  "valables pour la réactivation." },
	{ "email_links", "Liens de modification par e-mail",
	  "Demander un nouveau lien par e-mail, et le lien dans l’accusé de réception. Désactivée : "
	  "les demandes sont refusées (403) et l’accusé de réception part sans lien." },
};

const struct flag_def *
flag_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(flag_defs) / sizeof(flag_defs[0]); i++)
		if (strcmp(name, flag_defs[i].name) == 0)
			return &flag_defs[i];
	return NULL;
}

const struct flag_def *
flag_at(size_t i)
{
	return i < sizeof(flag_defs) / sizeof(flag_defs[0]) ? &flag_defs[i] : NULL;
}

/* 1, 0 or -1 from the result of STMT_FLAG_ENABLED, which it clears. */
static int
flag_result(PGresult *res)
{
	int on;

	if (!db_ok(res)) {
		PQclear(res);
		return -1;
	}
	on = PQntuples(res) == 0 || db_bool(res, 0, "enabled");
	PQclear(res);
	return on;
}

int
flag_enabled(struct db *db, const char *name)
{
	const char *params[1] = { name };

	return flag_result(db_query(db, STMT_FLAG_ENABLED, params));
}

int
flag_enabled_in_tx(struct db *db, const char *name)
{
	const char *params[1] = { name };

	return flag_result(db_exec(db, STMT_FLAG_ENABLED, params));
}

cJSON *
flags_list(struct db *db)
{
	PGresult *res = db_query(db, STMT_FLAGS_LIST, NULL);
	cJSON *list;
	int i;

	if (!db_ok(res)) {
		PQclear(res);
		return NULL;
	}
	list = cJSON_CreateArray();
	for (i = 0; i < PQntuples(res); i++) {
		const char *name = db_text_or(res, i, "name", "");
		const struct flag_def *d = flag_find(name);
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "nom", name);
		cJSON_AddBoolToObject(o, "active", db_bool(res, i, "enabled"));
		/* A row this code does not know is shown by its name: it switches nothing. */
		cJSON_AddStringToObject(o, "libelle", d ? d->label : name);
		cJSON_AddStringToObject(o, "description", d ? d->description :
		    "Inconnue de cette version du code : elle ne change rien.");
		cJSON_AddStringToObject(o, "modifie_le", db_text_or(res, i, "updated", ""));
		if (db_is_null(res, i, "updated_by"))
			cJSON_AddNullToObject(o, "modifie_par");
		else
			cJSON_AddStringToObject(o, "modifie_par", db_text(res, i, "updated_by"));
		cJSON_AddItemToArray(list, o);
	}
	PQclear(res);
	return list;
}

enum flag_set_result
flag_set(struct db *db, const struct http_request *req, const char *name, bool enabled,
    const char *actor, bool *was)
{
	const char *params[2] = { name, enabled ? "true" : "false" };
	struct audit_entry entry;
	cJSON *details;
	PGresult *res;
	bool ok;

	res = db_exec(db, STMT_FLAG_LOCK, params);
	if (!db_ok(res)) {
		PQclear(res);
		return FLAG_SET_FAILED;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		return FLAG_SET_UNKNOWN;
	}
	*was = db_bool(res, 0, "enabled");
	PQclear(res);
	if (*was == enabled)
		return FLAG_SET_UNCHANGED;

	res = db_exec(db, STMT_FLAG_UPDATE, params);
	ok = db_ok(res);
	PQclear(res);
	if (!ok)
		return FLAG_SET_FAILED;
	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "name", name);
	cJSON_AddBoolToObject(details, "avant", *was);
	cJSON_AddBoolToObject(details, "apres", enabled);
	entry.action = "feature_flag.update";
	entry.entity = "feature_flags";
	entry.entity_id = name;
	entry.actor = actor;
	entry.details = details;
	ok = audit_append(db, req, &entry);
	cJSON_Delete(details);
	return ok ? FLAG_SET_CHANGED : FLAG_SET_FAILED;
}
