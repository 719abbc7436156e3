#include "json.h"

#include <string.h>

#include "validate.h"

const char json_unknown_member_message[] =
    "Champ inconnu : vérifiez son nom. Rien n’a été enregistré.";

bool
json_has_nul_escape(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (text[i] != '\\')
			continue;
		if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
			return true;
		i++;	/* skip the escaped character, so "\\u0000" is literal text */
	}
	return false;
}

/* Two members with one name: parsers disagree on which wins, so the body is refused. */
static bool
json_has_duplicate_member(const cJSON *object)
{
	const cJSON *a, *b;

	for (a = object->child; a != NULL; a = a->next)
		for (b = a->next; b != NULL; b = b->next)
			if (a->string != NULL && b->string != NULL && strcmp(a->string, b->string) == 0)
				return true;
	return false;
}

/* A member name must be text: valid UTF-8 without control characters (an unknown one is
 * named back in the answer). cJSON's nesting limit bounds the recursion. */
static bool
json_names_are_text(const cJSON *item)
{
	const cJSON *c;

	for (c = item->child; c != NULL; c = c->next) {
		if (cJSON_IsObject(item) && (c->string == NULL || utf8_text_length(c->string, false) < 0))
			return false;
		if (c->child != NULL && !json_names_are_text(c))
			return false;
	}
	return true;
}

cJSON *
json_parse_object(const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *root;

	if (memchr(text, '\0', len) != NULL || json_has_nul_escape(text, len))
		return NULL;
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (root == NULL)
		return NULL;
	/* Only white space may follow the value. */
	while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != text + len || !cJSON_IsObject(root) || json_has_duplicate_member(root) ||
	    !json_names_are_text(root)) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int
json_unknown_members(const cJSON *object, const char *const *known, size_t nknown,
    cJSON *errors)
{
	const cJSON *m;
	size_t i;
	int n = 0;

	for (m = object->child; m != NULL; m = m->next) {
		for (i = 0; i < nknown; i++)
			if (m->string != NULL && strcmp(m->string, known[i]) == 0)
				break;
		if (i < nknown || m->string == NULL)
			continue;
		if (cJSON_AddStringToObject(errors, m->string, json_unknown_member_message) == NULL)
			return -1;
		n++;
	}
	return n;
}

char *
json_print(const cJSON *item)
{
	return cJSON_PrintUnformatted(item);
}
