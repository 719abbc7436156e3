#include "json.h"

#include <string.h>

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
	if (end != text + len || !cJSON_IsObject(root) || json_has_duplicate_member(root)) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

char *
json_print(const cJSON *item)
{
	return cJSON_PrintUnformatted(item);
}
