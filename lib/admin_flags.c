#include "admin_flags.h"

#include "buf.h"
#include "json.h"

enum api_error
admin_flag_request(const cJSON *root, const struct flag_def **flag, bool *enabled,
    cJSON **errors)
{
	const cJSON *nom = cJSON_GetObjectItemCaseSensitive(root, "nom");
	const cJSON *active = cJSON_GetObjectItemCaseSensitive(root, "active");
	static const char *const members[] = { "nom", "active" };
	const struct flag_def *d = cJSON_IsString(nom) ? flag_find(nom->valuestring) : NULL;
	cJSON *e = cJSON_CreateObject();
	struct buf t = BUF_INIT;
	size_t i;
	int unknown;

	*errors = NULL;
	if (e == NULL || (unknown = json_unknown_members(root, members,
	    sizeof(members) / sizeof(members[0]), e)) < 0) {
		cJSON_Delete(e);
		return ERR_INTERNAL;
	}
	if (d == NULL) {
		buf_printf(&t, "%s", "Fonctionnalité inconnue. Choisissez l’une de celles-ci :");
		for (i = 0; flag_at(i) != NULL; i++)
			buf_printf(&t, "%s %s", i ? "," : "", flag_at(i)->name);
		buf_add(&t, ".", 1);
		cJSON_AddStringToObject(e, "nom", t.failed ? "Fonctionnalité inconnue." : t.p);
		buf_free(&t);
	}
	if (!cJSON_IsBool(active))
		cJSON_AddStringToObject(e, "active",
		    "Indiquez true pour activer la fonctionnalité ou false pour la désactiver.");
	else
		*enabled = cJSON_IsTrue(active);
	if (d == NULL || !cJSON_IsBool(active) || unknown > 0) {
		*errors = e;
		return ERR_VALIDATION;
	}
	cJSON_Delete(e);
	*flag = d;
	return ERR_NONE;
}
