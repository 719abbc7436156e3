/* Strict parsing of request bodies. */
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
};

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
	CHECK(!json_has_nul_escape("\\\\u0000", 7), "barre oblique échappée");
	CHECK(json_has_nul_escape("\\u0000", 6), "\\u0000");
	CHECK(!json_has_nul_escape("\\u000", 5), "séquence tronquée");
	return UNIT_END();
}
