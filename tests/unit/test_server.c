/* The routing of server_main (paths, {id}, prefixes, Allow), the headers every error takes
 * from api_errors, the query-string parser and the fingerprint of a change request. */
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "crypto.h"
#include "http.h"
#include "server.h"
#include "unit.h"

static void
handler(struct call *call)
{
	(void)call;
}

static const struct route routes[] = {
	{ "/api/admin/metrics", "GET, HEAD", handler },
	{ "/api/admin/submissions/{id}", "GET, HEAD", handler },
	{ "/api/admin/fonctionnalites", "GET, HEAD", handler },
	{ "/api/admin/fonctionnalites", "PUT", handler },
	{ "/api/admin/*", "GET, HEAD", handler },
	{ "/api/modify", "GET", handler },
	{ "/api/modify", "PUT", handler },
	{ "/api/modify", "DELETE", handler },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static void
check_routes(void)
{
	static const struct {
		const char *path, *method;
		int route;            /* index in routes, -1 none */
		const char *address;  /* NULL: 404 */
		const char *allow, *id;
	} cases[] = {
		{ "/api/admin/metrics", "GET", 0, "/api/admin/metrics", "GET, HEAD", "" },
		{ "/api/admin/metrics", "HEAD", 0, "/api/admin/metrics", "GET, HEAD", "" },
		{ "/api/admin/metrics", "POST", -1, "/api/admin/metrics", "GET, HEAD", "" },
		{ "/api/admin/metrics", "GE", -1, "/api/admin/metrics", "GET, HEAD", "" },
		{ "/api/admin/metrics", "", -1, "/api/admin/metrics", "GET, HEAD", "" },
		{ "/api/admin/submissions/42", "GET", 1, "/api/admin/submissions/{id}", "GET, HEAD",
		  "42" },
		{ "/api/admin/submissions/123456789012345678", "GET", 1,
		  "/api/admin/submissions/{id}", "GET, HEAD", "123456789012345678" },
		/* Not an id: leading zero, 19 digits, sign, junk, empty: the prefix route. */
		{ "/api/admin/submissions/042", "GET", 4, "/api/admin/*", "GET, HEAD", "" },
		{ "/api/admin/submissions/1234567890123456789", "GET", 4, "/api/admin/*",
		  "GET, HEAD", "" },
		{ "/api/admin/submissions/-1", "GET", 4, "/api/admin/*", "GET, HEAD", "" },
		{ "/api/admin/submissions/1x", "GET", 4, "/api/admin/*", "GET, HEAD", "" },
		{ "/api/admin/submissions/", "GET", 4, "/api/admin/*", "GET, HEAD", "" },
		{ "/api/admin/fonctionnalites", "PUT", 3, "/api/admin/fonctionnalites",
		  "GET, HEAD, PUT", "" },
		{ "/api/admin/fonctionnalites", "GET", 2, "/api/admin/fonctionnalites",
		  "GET, HEAD, PUT", "" },
		{ "/api/admin/fonctionnalites", "DELETE", -1, "/api/admin/fonctionnalites",
		  "GET, HEAD, PUT", "" },
		{ "/api/admin/autre", "POST", -1, "/api/admin/*", "GET, HEAD", "" },
		{ "/api/modify", "DELETE", 7, "/api/modify", "GET, PUT, DELETE", "" },
		{ "/api/modify", "HEAD", -1, "/api/modify", "GET, PUT, DELETE", "" },
		{ "/api/modify/", "GET", -1, NULL, "", "" },
		{ "/api/modifyx", "GET", -1, NULL, "", "" },
		{ "/api/submit", "POST", -1, NULL, "", "" },
		{ "", "GET", -1, NULL, "", "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *address = "x";
		char allow[64], id[24];
		const struct route *r = server_route(routes, NROUTES, cases[i].path,
		    cases[i].method, &address, allow, sizeof(allow), id);

		CHECK(r == (cases[i].route < 0 ? NULL : &routes[cases[i].route]),
		    "%s %s : route %d", cases[i].method, cases[i].path, cases[i].route);
		CHECK(cases[i].address == NULL ? address == NULL :
		    address != NULL && strcmp(address, cases[i].address) == 0,
		    "%s %s : adresse %s", cases[i].method, cases[i].path,
		    address ? address : "(aucune)");
		CHECK(strcmp(allow, cases[i].allow) == 0, "%s : Allow « %s »", cases[i].path, allow);
		CHECK(strcmp(id, cases[i].id) == 0, "%s : id « %s »", cases[i].path, id);
	}
}

static void
check_error_headers(void)
{
	static const struct { enum api_error e; const char *allow, *headers; } cases[] = {
		{ ERR_METHOD_NOT_ALLOWED, "GET, HEAD", "Allow: GET, HEAD\r\n" },
		{ ERR_METHOD_NOT_ALLOWED, NULL, "Allow: \r\n" },
		{ ERR_INVALID_TOKEN, "POST", "WWW-Authenticate: Bearer realm=\"fiable\"\r\n" },
		{ ERR_DATABASE_UNAVAILABLE, NULL, "Retry-After: 2\r\n" },
		{ ERR_RATE_LIMITED, NULL, "Retry-After: 3600\r\n" },
		/* nginx's auth_basic already put its challenge on this response. */
		{ ERR_ADMIN_AUTH_FAILED, NULL, "" },
		{ ERR_VALIDATION, "POST", "" },
		{ ERR_INTERNAL, NULL, "" },
	};
	char buf[160], tiny[8];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		api_error_headers(cases[i].e, cases[i].allow, buf, sizeof(buf));
		CHECK(strcmp(buf, cases[i].headers) == 0, "%s : « %s »",
		    api_error_code(cases[i].e), buf);
	}
	/* A buffer too small is cut, never overrun. */
	api_error_headers(ERR_METHOD_NOT_ALLOWED, "GET, HEAD, PUT", tiny, sizeof(tiny));
	CHECK(strlen(tiny) == sizeof(tiny) - 1, "tronqué : « %s »", tiny);
}

static void
check_query(void)
{
	static const struct { const char *q, *name; bool found; const char *value; } cases[] = {
		{ "window=7d", "window", true, "7d" },
		{ "a=1&window=30d&b=2", "window", true, "30d" },
		{ "window=", "window", true, "" },
		{ "windows=7d", "window", false, NULL },
		{ "xwindow=7d", "window", false, NULL },
		{ "window", "window", false, NULL },
		{ "window=0123456789abcdef", "window", false, NULL },   /* longer than the buffer */
		{ "", "window", false, NULL },
		{ NULL, "window", false, NULL },
		{ "&&window=1h&", "window", true, "1h" },
	};
	char out[16];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool found = http_query_value(cases[i].q, cases[i].name, out, sizeof(out));
		CHECK(found == cases[i].found, "« %s »", cases[i].q ? cases[i].q : "(null)");
		if (found && cases[i].found)
			CHECK(strcmp(out, cases[i].value) == 0, "« %s » : « %s »", cases[i].q, out);
	}
}

/* The fingerprint is the digest of token hash, '\n', If-Match, '\n', body: the bytes stored
 * keys were made from, so a key stays replayable across versions. */
static void
check_fingerprint(void)
{
	static const struct { const char *token, *if_match, *body; } cases[] = {
		{ "ab", "\"v1\"", "{\"a\":1}" },
		{ NULL, NULL, "" },
		{ NULL, "\"v2\"", "{}" },
		{ "a", "b\nc", "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_request req;
		char got[2 * SHA256_LEN + 1], want[2 * SHA256_LEN + 1], text[256], body[64];
		unsigned char d[SHA256_LEN];
		int n;

		memset(&req, 0, sizeof(req));
		req.if_match = cases[i].if_match;
		snprintf(body, sizeof(body), "%s", cases[i].body);
		req.body = body;
		req.body_len = strlen(cases[i].body);
		n = snprintf(text, sizeof(text), "%s\n%s\n%s", cases[i].token ? cases[i].token : "",
		    cases[i].if_match ? cases[i].if_match : "", cases[i].body);
		sha256(text, (size_t)n, d);
		hex_encode(d, SHA256_LEN, want);
		CHECK(change_fingerprint(cases[i].token, &req, got), "empreinte %zu calculée", i);
		CHECK(strcmp(got, want) == 0, "empreinte %zu : %s", i, got);
	}
}

int
main(void)
{
	check_routes();
	check_error_headers();
	check_query();
	check_fingerprint();
	return UNIT_END();
}
