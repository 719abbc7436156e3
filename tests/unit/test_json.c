/* Strict parsing of request bodies. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "unit.h"

static const struct { const char *text; bool object; } bodies[] = {
	{ "{}", true },
	{ " {\"a\":1} ", true },
	{ "{\"a\":\"\\\\u0000\"}", true },     /* an escaped backslash, then literal text */
	{ "{\"a\":\"\\u00e9\"}", true },
	{ "", false },
	{ "[]", false },
	{ "\"texte\"", false },
	{ "42", false },
	{ "null", false },
	{ "{", false },
	{ "{\"a\":1}x", false },
	{ "{\"a\":1}{}", false },
	{ "{'a':1}", false },
	{ "{\"a\":\"\\u0000\"}", false },       /* cJSON would cut the string here */
	{ "{\"a\":\"x\\u0000y\"}", false },
	{ "{\"a\":\"\\\\\\u0000\"}", false },   /* \\ then \u0000 */
	{ "{\"a\":1,\"a\":2}", false },           /* which one wins depends on the parser */
	{ "{\"a\":1,\"b\":{\"c\":1},\"c\":2}", true },
	/* Member names are text: valid UTF-8 without controls, at any depth. Values are left
	 * to each field's validation (which names the field). */
	{ "{\"\xc3\xa9t\xc3\xa9\":1}", true },
	{ "{\"a\":\"\xff\"}", true },
	{ "{\"comm\xffntaire\":1}", false },
	{ "{\"\xc0\xaf\":1}", false },               /* overlong */
	{ "{\"\xed\xa0\x80\":1}", false },           /* surrogate */
	{ "{\"\xe2\x82\":1}", false },               /* truncated */
	{ "{\"\xf4\x90\x80\x80\":1}", false },       /* past U+10FFFF */
	{ "{\"a\\u0007b\":1}", false },              /* a control character */
	{ "{\"a\":{\"\xff\":1}}", false },
	{ "{\"a\":[1,{\"b\":[{\"\xfe\":2}]}]}", false },
};

/* The members an endpoint knows, and the unknown ones json_unknown_members must name. */
static const char *const known[] = { "email", "nom", "creneaux", "commentaire" };
static const struct { const char *text; const char *unknown; } members[] = {
	{ "{}", "" },
	{ "{\"email\":1,\"nom\":2,\"creneaux\":3,\"commentaire\":4}", "" },
	{ "{\"email\":1,\"commentair\":\"texte\"}", "commentair" },
	{ "{\"Email\":1,\"nom \":2}", "Email,nom " },        /* case and spaces count */
	{ "{\"version\":7,\"id\":1,\"nom\":\"A\",\"deleted_at\":null}", "version,id,deleted_at" },
	{ "{\"\xc3\xa9\":{\"email\":1}}", "\xc3\xa9" },  /* nested names are not members */
	{ "{\"\":1}", "(vide)" },                           /* the empty name is a name */
};

/* The names of errors' members, comma-separated, in order ("(vide)" for the empty name). */
static void
names_of(const cJSON *errors, char *buf, size_t len)
{
	const cJSON *m;
	size_t o = 0;

	buf[0] = '\0';
	for (m = errors->child; m != NULL && o < len; m = m->next)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "",
		    m->string[0] ? m->string : "(vide)");
}

int
main(void)
{
	size_t i;
	static const char embedded[] = "{\"a\":1}\0junk";
	cJSON *root;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		root = json_parse_object(bodies[i].text, strlen(bodies[i].text));
		CHECK((root != NULL) == bodies[i].object, "corps « %s »", bodies[i].text);
		cJSON_Delete(root);
	}
	root = json_parse_object(embedded, sizeof(embedded) - 1);
	CHECK(root == NULL, "octet nul dans le corps");
	cJSON_Delete(root);
	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		cJSON *errors = cJSON_CreateObject(), *m;
		char names[200];
		int n;

		root = json_parse_object(members[i].text, strlen(members[i].text));
		CHECK(root != NULL, "corps « %s »", members[i].text);
		if (root == NULL) {
			cJSON_Delete(errors);
			continue;
		}
		n = json_unknown_members(root, known, sizeof(known) / sizeof(known[0]), errors);
		names_of(errors, names, sizeof(names));
		CHECK(strcmp(names, members[i].unknown) == 0, "« %s » : inconnus « %s » au lieu de "
		    "« %s »", members[i].text, names, members[i].unknown);
		CHECK(n == cJSON_GetArraySize(errors), "compte pour « %s »", members[i].text);
		for (m = errors->child; m != NULL; m = m->next)
			CHECK(cJSON_IsString(m) && strcmp(m->valuestring,
			    json_unknown_member_message) == 0, "message de « %s »", m->string);
		cJSON_Delete(errors);
		cJSON_Delete(root);
	}
	CHECK(strstr(json_unknown_member_message, "Champ inconnu") != NULL, "message en français");
	CHECK(!json_has_nul_escape("\\\\u0000", 7), "barre oblique échappée");
	CHECK(json_has_nul_escape("\\u0000", 6), "\\u0000");
	CHECK(!json_has_nul_escape("\\u000", 5), "séquence tronquée");
	return UNIT_END();
}
