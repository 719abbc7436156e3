/* libFuzzer target: the request headers a write depends on — If-Match ("vN"), the
 * Idempotency-Key (UUID), Content-Length, the bearer token and Fiable-Client. The whole input
 * goes to every parser as one header value; each result is checked against a reference
 * written here from the header comments, and each parse must be deterministic. */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fiable-Client that sets every member, to put before and after the input. */
#define CLIENT_ALL "from_queue=1; queued_ms=1234; queue_length=7; attempt=3; autosave_ms=12.5"

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_lower_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

/* If-Match against a few current versions: deterministic, 0 only when empty, and 1 only
 * for "*" or a field holding the strong tag "v<N>" of that version. */
static void
check_if_match(const char *s)
{
	static const long versions[] = { 1, 7, 42, 2147483647L };
	struct http_request req;
	char canon[32];
	const char *p;
	size_t i;
	int rc;

	memset(&req, 0, sizeof(req));
	req.if_match = s;
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		rc = http_if_match(&req, versions[i]);
		if (rc != http_if_match(&req, versions[i]) || rc < -1 || rc > 1)
			abort();
		if ((rc == 0) != (s[0] == '\0') || http_if_match_present(&req) != (rc != 0))
			abort();
		if (rc != 1)
			continue;
		for (p = s; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '*')
			continue;
		snprintf(canon, sizeof(canon), "\"v%ld\"", versions[i]);
		if (strstr(s, canon) == NULL)
			abort();
	}
}

/* Idempotency-Key: accepted iff 8-4-4-4-12 hex digits; the result is that text lowercased. */
static void
check_uuid(const char *s)
{
	char out[37], again[37];
	bool expect = strlen(s) == 36, ok;
	size_t i;

	for (i = 0; expect && i < 36; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23)
			expect = c == '-';
		else
			expect = is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
	}
	ok = http_parse_uuid(s, out);
	if (ok != expect)
		abort();
	if (!ok)
		return;
	if (memchr(out, '\0', sizeof(out)) != out + 36)
		abort();
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23 ? out[i] != '-' : !is_lower_hex(out[i]))
			abort();
		if (strncasecmp(&out[i], &s[i], 1) != 0)
			abort();
	}
	/* Canonical form is a fixed point. */
	if (!http_parse_uuid(out, again) || strcmp(out, again) != 0)
		abort();
}

/* Content-Length: decimal digits only, at most max; the error says why otherwise. */
static void
check_content_length(const char *s, size_t max)
{
	enum api_error err = ERR_NONE, expect_err = ERR_NONE;
	unsigned long long want = 0;
	bool overflow = false;
	size_t len = 0, i;
	int rc;

	if (s[0] == '\0')
		expect_err = ERR_LENGTH_REQUIRED;
	for (i = 0; expect_err == ERR_NONE && s[i] != '\0'; i++) {
		if (!is_digit(s[i]))
			expect_err = ERR_BAD_LENGTH;
		else if (want > (ULLONG_MAX - (unsigned)(s[i] - '0')) / 10)
			overflow = true;
		else
			want = want * 10 + (unsigned)(s[i] - '0');
	}
	if (expect_err == ERR_NONE && (overflow || want > max))
		expect_err = ERR_PAYLOAD_TOO_LARGE;
	rc = http_parse_content_length(s, max, &len, &err);
	if (expect_err == ERR_NONE) {
		if (rc != 0 || len != want)
			abort();
	} else if (rc != -1 || err != expect_err) {
		abort();
	}
}

/* Authorization: the token is what follows "Bearer " (any case) and the spaces after it. */
static void
check_bearer(const char *s)
{
	struct http_request req;
	const char *t, *want = NULL;

	memset(&req, 0, sizeof(req));
	req.authorization = s;
	if (strncasecmp(s, "bearer ", 7) == 0) {
		want = s + 7 + strspn(s + 7, " ");
		if (*want == '\0')
			want = NULL;
	}
	t = http_bearer_token(&req);
	if (t != want)
		abort();
}

static bool
client_equal(const struct client_facts *a, const struct client_facts *b)
{
	return a->from_queue == b->from_queue && a->queued_ms == b->queued_ms &&
	    a->queue_length == b->queue_length && a->attempt == b->attempt &&
	    a->autosave_ms == b->autosave_ms;
}

static bool
client_unknown(const struct client_facts *f)
{
	return f->from_queue == -1 && f->queued_ms == -1 && f->queue_length == -1 &&
	    f->attempt == -1 && f->autosave_ms == -1.0;
}

/* Fiable-Client: members in range or unknown; each segment stands alone (what comes before
 * or after the input cannot change how the input's members are read); first valid wins. */
static void
check_client(const char *s)
{
	struct client_facts f, g, all;
	size_t n = strlen(s);
	char *buf;

	metrics_parse_client(s, &f);
	metrics_parse_client(s, &g);
	if (!client_equal(&f, &g))
		abort();
	if (n > CLIENT_HEADER_MAX) {
		if (!client_unknown(&f))
			abort();
		return;
	}
	if ((f.from_queue != -1 && f.from_queue != 0 && f.from_queue != 1) ||
	    (f.queued_ms != -1 && (f.queued_ms < 0 || f.queued_ms > CLIENT_QUEUED_MS_MAX)) ||
	    (f.queue_length != -1 && (f.queue_length < 0 ||
	    f.queue_length > CLIENT_QUEUE_LENGTH_MAX)) ||
	    (f.attempt != -1 && (f.attempt < 1 || f.attempt > CLIENT_ATTEMPT_MAX)) ||
	    (f.autosave_ms != -1.0 && !(f.autosave_ms >= 0.0 &&
	    f.autosave_ms <= CLIENT_AUTOSAVE_MS_MAX)))
		abort();
	/* A member is only known when its key is in the header. */
	if ((f.from_queue != -1 && strstr(s, "from_queue") == NULL) ||
	    (f.queued_ms != -1 && strstr(s, "queued_ms") == NULL) ||
	    (f.queue_length != -1 && strstr(s, "queue_length") == NULL) ||
	    (f.attempt != -1 && strstr(s, "attempt") == NULL) ||
	    (f.autosave_ms != -1.0 && strstr(s, "autosave_ms") == NULL))
		abort();

	if ((buf = malloc(n + sizeof(CLIENT_ALL) + 2)) == NULL)
		return;
	metrics_parse_client(CLIENT_ALL, &all);
	if (all.from_queue != 1 || all.queued_ms != 1234 || all.queue_length != 7 ||
	    all.attempt != 3 || all.autosave_ms != 12.5)
		abort();
	/* Before the input: its values win over anything the input says. */
	snprintf(buf, n + sizeof(CLIENT_ALL) + 2, "%s;%s", CLIENT_ALL, s);
	if (strlen(buf) <= CLIENT_HEADER_MAX) {
		metrics_parse_client(buf, &g);
		if (!client_equal(&g, &all))
			abort();
	}
	/* After the input: it only fills what the input left unknown. */
	snprintf(buf, n + sizeof(CLIENT_ALL) + 2, "%s;%s", s, CLIENT_ALL);
	if (strlen(buf) <= CLIENT_HEADER_MAX) {
		metrics_parse_client(buf, &g);
		if (g.from_queue != (f.from_queue != -1 ? f.from_queue : all.from_queue) ||
		    g.queued_ms != (f.queued_ms != -1 ? f.queued_ms : all.queued_ms) ||
		    g.queue_length != (f.queue_length != -1 ? f.queue_length : all.queue_length) ||
		    g.attempt != (f.attempt != -1 ? f.attempt : all.attempt) ||
		    g.autosave_ms != (f.autosave_ms != -1.0 ? f.autosave_ms : all.autosave_ms))
			abort();
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_if_match(s);
	check_uuid(s);
	check_content_length(s, 65536);
	check_content_length(s, SIZE_MAX);
	check_bearer(s);
	check_client(s);
	free(s);
	return 0;
}
