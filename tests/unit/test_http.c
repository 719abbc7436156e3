/* Request parsing: lengths, media types, origins, idempotency keys, problem bodies. */
#include <string.h>

#include "http.h"
#include "unit.h"

struct params { const char *const *kv; };

static const char *
lookup(const char *name, void *ctx)
{
	const struct params *p = ctx;
	size_t i;

	for (i = 0; p->kv[i] != NULL; i += 2)
		if (strcmp(p->kv[i], name) == 0)
			return p->kv[i + 1];
	return NULL;
}

/* An Origin checked for a request to host (HTTP_HOST) that came in on port (SERVER_PORT). */
static bool
origin_on(const char *host, const char *port, const char *origin, const char *fetch_site,
    const char *https)
{
	const char *kv[] = { "REQUEST_METHOD", "POST", "HTTP_HOST", host, "SERVER_PORT", port,
	    "HTTP_ORIGIN", origin, "HTTP_SEC_FETCH_SITE", fetch_site, "HTTPS", https, NULL };
	static const char *const allowed[] = { "https://formulaire.example.be" };
	struct params p = { kv };
	struct http_request req;
	bool ok;

	/* NULL values end the table early; shift them out. */
	const char *compact[14];
	size_t i, n = 0;
	for (i = 0; i < 12; i += 2)
		if (kv[i + 1] != NULL) {
			compact[n++] = kv[i];
			compact[n++] = kv[i + 1];
		}
	compact[n] = NULL;
	p.kv = compact;
	http_request_init(&req, lookup, &p);
	ok = http_origin_allowed(&req, allowed, 1);
	http_request_free(&req);
	return ok;
}

static bool
origin_ok(const char *origin, const char *fetch_site, const char *https)
{
	return origin_on("127.0.0.1:8080", "8080", origin, fetch_site, https);
}

int
main(void)
{
	static const struct { const char *v; int ok; size_t len; enum api_error err; } lengths[] = {
		{ "0", 1, 0, 0 }, { "12", 1, 12, 0 }, { "65536", 1, 65536, 0 },
		{ "65537", 0, 0, ERR_PAYLOAD_TOO_LARGE },
		{ "99999999999999999999999", 0, 0, ERR_PAYLOAD_TOO_LARGE },
		{ NULL, 0, 0, ERR_LENGTH_REQUIRED }, { "", 0, 0, ERR_LENGTH_REQUIRED },
		{ "-1", 0, 0, ERR_BAD_LENGTH }, { "+1", 0, 0, ERR_BAD_LENGTH },
		{ " 1", 0, 0, ERR_BAD_LENGTH }, { "1 ", 0, 0, ERR_BAD_LENGTH },
		{ "0x10", 0, 0, ERR_BAD_LENGTH }, { "1e3", 0, 0, ERR_BAD_LENGTH },
	};
	static const struct { const char *ct; bool ok; } types[] = {
		{ "application/json", true }, { "application/json; charset=utf-8", true },
		{ "Application/JSON;charset=UTF-8", true }, { "application/json ;x=y", true },
		{ NULL, false }, { "", false }, { "text/plain", false },
		{ "application/jsonp", false }, { "application/json-patch+json", false },
		{ "application/x-www-form-urlencoded", false }, { "multipart/form-data", false },
	};
	static const struct { const char *v; bool ok; const char *norm; } uuids[] = {
		{ "6f1c2d0e-1234-4abc-8def-0123456789ab", true, "6f1c2d0e-1234-4abc-8def-0123456789ab" },
		{ "6F1C2D0E-1234-4ABC-8DEF-0123456789AB", true, "6f1c2d0e-1234-4abc-8def-0123456789ab" },
		{ NULL, false, NULL }, { "", false, NULL }, { "pas-une-uuid", false, NULL },
		{ "6f1c2d0e12344abc8def0123456789ab", false, NULL },
		{ "6f1c2d0e-1234-4abc-8def-0123456789ag", false, NULL },
		{ "6f1c2d0e-1234-4abc-8def-0123456789abc", false, NULL },
		{ "{6f1c2d0e-1234-4abc-8def-0123456789a}", false, NULL },
	};
	static const struct { const char *v; int rc; long version; } matches[] = {
		{ "\"v1\"", 1, 1 }, { "\"v42\"", 1, 42 }, { " \"v3\" ", 1, 3 },
		{ NULL, 0, 0 }, { "", 0, 0 },
		{ "v1", -1, 0 }, { "\"v0\"", -1, 0 }, { "\"v-1\"", -1, 0 }, { "W/\"v1\"", -1, 0 },
		{ "\"v1\", \"v2\"", -1, 0 }, { "*", -1, 0 }, { "\"v99999999999\"", -1, 0 },
		{ "\"v1x\"", -1, 0 }, { "\"v\"", -1, 0 }, { "\"v07\"", -1, 0 }, { "\"v00\"", -1, 0 },
		{ "\"v2147483647\"", 1, 2147483647L }, { "\"v2147483648\"", -1, 0 },
	};
	static const struct { const char *v; const char *token; } bearers[] = {
		{ "Bearer abc", "abc" }, { "bearer abc", "abc" }, { "Bearer   abc", "abc" },
		{ NULL, NULL }, { "", NULL }, { "Bearer ", NULL }, { "Basic YWJj", NULL },
		{ "Bearerabc", NULL },
	};
	char norm[37], clean[16];
	size_t i, len;
	enum api_error err;
	char *body;

	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		int rc = http_parse_content_length(lengths[i].v, 65536, &len, &err);
		CHECK((rc == 0) == lengths[i].ok, "Content-Length « %s »", lengths[i].v);
		if (lengths[i].ok)
			CHECK(len == lengths[i].len, "longueur de « %s »", lengths[i].v);
		else
			CHECK(err == lengths[i].err, "erreur pour « %s » : %s", lengths[i].v,
			    api_error_code(err));
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		CHECK(http_is_json(types[i].ct) == types[i].ok, "Content-Type « %s »", types[i].ct);
	for (i = 0; i < sizeof(uuids) / sizeof(uuids[0]); i++) {
		bool ok = http_parse_uuid(uuids[i].v, norm);
		CHECK(ok == uuids[i].ok, "clé « %s »", uuids[i].v);
		if (ok)
			CHECK(strcmp(norm, uuids[i].norm) == 0, "clé normalisée %s", norm);
	}

	CHECK(origin_ok(NULL, NULL, NULL), "sans Origin (client non navigateur)");
	CHECK(origin_ok(NULL, "same-origin", NULL), "Sec-Fetch-Site same-origin");
	CHECK(origin_ok(NULL, "none", NULL), "Sec-Fetch-Site none");
	CHECK(!origin_ok(NULL, "cross-site", NULL), "Sec-Fetch-Site cross-site");
	CHECK(origin_ok("http://127.0.0.1:8080", NULL, NULL), "même origine");
	CHECK(!origin_ok("https://127.0.0.1:8080", NULL, NULL), "autre schéma");
	CHECK(origin_ok("https://127.0.0.1:8080", NULL, "on"), "même origine en https");
	CHECK(!origin_ok("http://127.0.0.1:8081", NULL, NULL), "autre port");
	CHECK(!origin_ok("https://evil.example", NULL, NULL), "site étranger");
	CHECK(!origin_ok("http://127.0.0.1:8080.evil.example", NULL, NULL), "suffixe trompeur");
	CHECK(!origin_ok("null", NULL, NULL), "origine opaque");
	CHECK(origin_ok("https://formulaire.example.be", "cross-site", NULL), "origine autorisée");
	/* Debian's stock fastcgi_params: HTTP_HOST is nginx's $host, without the port; the port
	 * is the one the request came in on. */
	{
		static const struct {
			const char *host, *port, *origin, *https;
			bool ok;
			const char *what;
		} own[] = {
			{ "127.0.0.1", "8080", "http://127.0.0.1:8080", NULL, true, "$host, port à part" },
			{ "localhost", "19480", "http://LocalHost:19480", NULL, true, "casse du nom" },
			{ "fiable.example.be", "8443", "https://fiable.example.be:8443", "on", true,
			  "https sur un autre port" },
			{ "fiable.example.be", "443", "https://fiable.example.be", "on", true,
			  "https, port par défaut" },
			{ "fiable.example.be", "80", "http://fiable.example.be", NULL, true,
			  "http, port par défaut" },
			{ "[::1]", "8080", "http://[::1]:8080", NULL, true, "IPv6" },
			{ "127.0.0.1", "8080", "http://127.0.0.1:8081", NULL, false, "autre port" },
			{ "127.0.0.1", "8080", "http://127.0.0.1", NULL, false, "port par défaut annoncé" },
			{ "127.0.0.1", "80", "http://127.0.0.1:80", NULL, false,
			  "port par défaut écrit (un navigateur l'omet)" },
			{ "127.0.0.1", "8080", "https://127.0.0.1:8080", NULL, false, "autre schéma" },
			{ "127.0.0.1", "8080", "http://127.0.0.1:8080.evil.example", NULL, false,
			  "suffixe trompeur" },
			{ "127.0.0.1", "8080", "http://127.0.0.1:80800", NULL, false, "port plus long" },
			{ "127.0.0.1", "8080", "http://127.0.0.1:", NULL, false, "port vide" },
			{ "127.0.0.1", NULL, "http://127.0.0.1:8080", NULL, false, "sans SERVER_PORT" },
			{ "127.0.0.1", "", "http://127.0.0.1:", NULL, false, "SERVER_PORT vide" },
			{ "127.0.0.1:9000", "8080", "http://127.0.0.1:8080", NULL, false,
			  "Host avec son port : lui seul compte" },
			{ "[::1]:9000", "8080", "http://[::1]:8080", NULL, false, "IPv6 avec son port" },
			{ "evil.example", "8080", "http://127.0.0.1:8080", NULL, false, "autre nom" },
		};
		size_t k;
		for (k = 0; k < sizeof(own) / sizeof(own[0]); k++)
			CHECK(origin_on(own[k].host, own[k].port, own[k].origin, NULL, own[k].https) ==
			    own[k].ok, "origine %s pour %s (port %s) : %s", own[k].origin, own[k].host,
			    own[k].port ? own[k].port : "-", own[k].what);
	}

	for (i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		struct http_request req = { 0 };
		long v = -7;
		int rc;
		req.if_match = matches[i].v;
		rc = http_if_match_version(&req, &v);
		CHECK(rc == matches[i].rc, "If-Match « %s » : %d", matches[i].v, rc);
		if (rc == 1)
			CHECK(v == matches[i].version, "version de « %s » : %ld", matches[i].v, v);
	}
	for (i = 0; i < sizeof(bearers) / sizeof(bearers[0]); i++) {
		struct http_request req = { 0 };
		const char *t;
		req.authorization = bearers[i].v;
		t = http_bearer_token(&req);
		CHECK((t == NULL && bearers[i].token == NULL) ||
		    (t != NULL && bearers[i].token != NULL && strcmp(t, bearers[i].token) == 0),
		    "Authorization « %s »", bearers[i].v);
	}

	http_sanitize(clean, sizeof(clean), "ab\r\nc\xc3\xa9");
	CHECK(strcmp(clean, "ab??c??") == 0, "assainissement : %s", clean);
	http_sanitize(clean, 4, "abcdef");
	CHECK(strcmp(clean, "abc") == 0, "troncature");

	body = http_problem_body(ERR_ALREADY_SUBMITTED, NULL, NULL, NULL);
	CHECK(body != NULL && strstr(body, "\"code\":\"already_submitted\"") != NULL &&
	    strstr(body, "\"status\":409") != NULL, "problème : %s", body ? body : "(null)");
	cJSON_free(body);
	for (i = ERR_NONE + 1; i < ERR__MAX; i++)
		CHECK(api_error_status((enum api_error)i) >= 400 &&
		    api_error_code((enum api_error)i) != NULL, "erreur %zu décrite", i);
	return UNIT_END();
}
