/* The Fiable-Client parser: bounded, unknown keys ignored, out-of-range values dropped; the
 * count of refused administration logins read from a summary's errors. */
#include <string.h>

#include <cjson/cJSON.h>

#include "metrics.h"
#include "unit.h"

struct expect {
	const char *header;
	int from_queue;
	long long queued_ms;
	long queue_length;
	long attempt;
	double autosave_ms;
};

/* A summary (the JSON of metriques_resume()) and the refused logins it holds. */
static const struct {
	const char *summary;
	double failures;
} auth_cases[] = {
	{ "{\"erreurs\": []}", 0 },
	{ "{\"erreurs\": [{\"statut\": 401, \"adresse\": \"" METRICS_ADMIN_AUTH_ENDPOINT
	  "\", \"nombre\": 7}]}", 7 },
	/* other statuses and endpoints are not logins: a 401 of /api/modify is a bad edit link */
	{ "{\"erreurs\": [{\"statut\": 401, \"adresse\": \"/api/modify\", \"nombre\": 5},"
	  " {\"statut\": 429, \"adresse\": \"" METRICS_ADMIN_AUTH_ENDPOINT "\", \"nombre\": 3},"
	  " {\"statut\": 401, \"adresse\": \"" METRICS_ADMIN_AUTH_ENDPOINT "\", \"nombre\": 2},"
	  " {\"statut\": 401, \"adresse\": \"" METRICS_ADMIN_AUTH_ENDPOINT "\", \"nombre\": 1}]}",
	  3 },
	/* malformed entries are skipped, never counted */
	{ "{\"erreurs\": [{\"statut\": \"401\", \"adresse\": \"" METRICS_ADMIN_AUTH_ENDPOINT
	  "\", \"nombre\": 4}, {\"statut\": 401, \"nombre\": 4}, 17,"
	  " {\"statut\": 401, \"adresse\": \"" METRICS_ADMIN_AUTH_ENDPOINT "\", \"nombre\": -2}]}",
	  0 },
	{ "{\"erreurs\": {\"statut\": 401}}", 0 },
	{ "{}", 0 },
	{ "[]", 0 },
};

int
main(void)
{
	static const struct expect cases[] = {
		{ "from_queue=1; queued_ms=4200; queue_length=3; attempt=2; autosave_ms=12.5",
		  1, 4200, 3, 2, 12.5 },
		{ "from_queue=0;queued_ms=0;queue_length=0;attempt=1;autosave_ms=0", 0, 0, 0, 1, 0 },
		{ "  attempt = 7 ;  from_queue= 1  ", 1, -1, -1, 7, -1 },
		{ "autosave_ms=0.125", -1, -1, -1, -1, 0.125 },
		{ "unknown=1; other; =3; ; ;; from_queue=1", 1, -1, -1, -1, -1 },
		/* out of range or malformed: dropped */
		{ "from_queue=2; queued_ms=-1; queue_length=1.5; attempt=0; autosave_ms=1e3",
		  -1, -1, -1, -1, -1 },
		{ "queued_ms=2147483648; queue_length=100001; attempt=100001; autosave_ms=600000.5",
		  -1, -1, -1, -1, -1 },
		{ "queued_ms=2147483647; queue_length=100000; attempt=100000; autosave_ms=600000",
		  -1, 2147483647LL, 100000, 100000, 600000 },
		{ "queued_ms=+5; attempt=0x10; autosave_ms=.5; queue_length=", -1, -1, -1, -1, -1 },
		{ "autosave_ms=1.2.3; attempt=1 2; from_queue=true", -1, -1, -1, -1, -1 },
		{ "queued_ms=99999999999999999999999", -1, -1, -1, -1, -1 },
		/* the first valid value of a key wins */
		{ "from_queue=x; from_queue=1; from_queue=0", 1, -1, -1, -1, -1 },
		{ "FROM_QUEUE=1; from_queue_x=1", -1, -1, -1, -1, -1 },
		{ "", -1, -1, -1, -1, -1 },
	};
	struct client_facts f;
	char big[CLIENT_HEADER_MAX + 32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct expect *e = &cases[i];
		metrics_parse_client(e->header, &f);
		CHECK(f.from_queue == e->from_queue, "%s : from_queue %d", e->header, f.from_queue);
		CHECK(f.queued_ms == e->queued_ms, "%s : queued_ms %lld", e->header, f.queued_ms);
		CHECK(f.queue_length == e->queue_length, "%s : queue_length %ld", e->header,
		    f.queue_length);
		CHECK(f.attempt == e->attempt, "%s : attempt %ld", e->header, f.attempt);
		CHECK(f.autosave_ms == e->autosave_ms, "%s : autosave_ms %g", e->header, f.autosave_ms);
	}

	metrics_parse_client(NULL, &f);
	CHECK(f.from_queue < 0 && f.queued_ms < 0 && f.queue_length < 0 && f.attempt < 0 &&
	    f.autosave_ms < 0, "NULL gives all unknown");

	/* Longer than CLIENT_HEADER_MAX: ignored whole, even a good value at its start. */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "from_queue=1;", 13);
	metrics_parse_client(big, &f);
	CHECK(f.from_queue == -1, "an over-long header is ignored");
	big[CLIENT_HEADER_MAX] = '\0';
	metrics_parse_client(big, &f);
	CHECK(f.from_queue == 1, "a header of exactly CLIENT_HEADER_MAX bytes is read");

	for (i = 0; i < sizeof(auth_cases) / sizeof(auth_cases[0]); i++) {
		cJSON *o = cJSON_Parse(auth_cases[i].summary);
		double n = metrics_admin_auth_failures(o);
		CHECK(o != NULL, "%s : JSON de test invalide", auth_cases[i].summary);
		CHECK(n == auth_cases[i].failures, "%s : %g refus", auth_cases[i].summary, n);
		cJSON_Delete(o);
	}
	CHECK(metrics_admin_auth_failures(NULL) == 0, "NULL gives 0");

	return UNIT_END();
}
