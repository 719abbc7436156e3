/* The retention policy, the manifest, object names and destinations of the backups. */
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "backup.h"
#include "storage.h"
#include "unit.h"

#define DAY 86400LL

/* 2025-03-16T03:00:00Z, a Sunday. */
#define NOW 1742094000LL

static void
test_retention(void)
{
	/* One backup a day at 02:00 UTC for 60 days, newest first: item k is k days old. */
	static const int expected[] = { 0, 1, 2, 3, 4, 5, 6, 7, 14, 16, 21, 28, 44 };
	const struct retention_policy policy = { 7, 5, 12, 3 };
	struct retention_item items[60];
	size_t i, j;
	int kept = 0;

	for (i = 0; i < 60; i++) {
		items[i].id = (long long)(60 - i);
		items[i].time = NOW - 3600 - (long long)i * DAY;
	}
	backup_retention(&policy, NOW, items, 60);
	for (i = 0; i < 60; i++) {
		bool want = false;
		for (j = 0; j < sizeof(expected) / sizeof(expected[0]); j++)
			want = want || (size_t)expected[j] == i;
		CHECK((items[i].reasons != 0) == want, "sauvegarde vieille de %zu jours : %s", i,
		    want ? "devrait être gardée" : "devrait être supprimée");
		kept += items[i].reasons != 0;
	}
	CHECK(kept == 13, "13 gardées, pas %d", kept);
	/* Why: the dailies, 03-09 (newest of its week), 02-28 (newest of February), 01-31. */
	CHECK(items[0].reasons == (RETAIN_MIN | RETAIN_DAILY | RETAIN_WEEKLY | RETAIN_MONTHLY),
	    "la plus récente : toutes les raisons (%u)", items[0].reasons);
	CHECK(items[7].reasons == RETAIN_WEEKLY, "dimanche 9 mars : hebdomadaire (%u)",
	    items[7].reasons);
	CHECK(items[16].reasons == RETAIN_MONTHLY, "28 février : mensuelle (%u)", items[16].reasons);
	CHECK(items[44].reasons == RETAIN_MONTHLY, "31 janvier : mensuelle (%u)", items[44].reasons);

	/* Running the policy again on what is left deletes nothing more. */
	{
		struct retention_item left[13];
		int n = 0;
		for (i = 0; i < 60; i++)
			if (items[i].reasons != 0)
				left[n++] = items[i];
		backup_retention(&policy, NOW, left, (size_t)n);
		for (i = 0; i < (size_t)n; i++)
			CHECK(left[i].reasons != 0, "deuxième passage : %lld supprimée", left[i].id);
	}

	/* Old backups only: the minimum keeps the newest ones, never fewer than min. */
	for (i = 0; i < 5; i++) {
		items[i].id = (long long)(5 - i);
		items[i].time = NOW - 800 * DAY - (long long)i * DAY;
	}
	backup_retention(&policy, NOW, items, 5);
	CHECK(items[0].reasons == RETAIN_MIN && items[1].reasons == RETAIN_MIN &&
	    items[2].reasons == RETAIN_MIN && items[3].reasons == 0 && items[4].reasons == 0,
	    "vieilles sauvegardes : les 3 plus récentes gardées");
	/* min 1 and nothing else: the newest still stays. */
	{
		const struct retention_policy none = { 0, 0, 0, 1 };
		backup_retention(&none, NOW, items, 5);
		CHECK(items[0].reasons == RETAIN_MIN && items[1].reasons == 0,
		    "la plus récente n'est jamais supprimée");
	}
}

/* 1 when the manifest of m, as written, holds a key starting with prefix. */
static int
json_has(const struct backup_manifest *m, const char *prefix)
{
	char *json = backup_manifest_json(m), needle[64];
	int found;

	snprintf(needle, sizeof(needle), "\"%s", prefix);
	found = json != NULL && strstr(json, needle) != NULL;
	cJSON_free(json);
	return found;
}

static void
test_manifest(void)
{
	struct backup_manifest m, back;
	char *json, *again, err[256];

	memset(&m, 0, sizeof(m));
	m.format = BACKUP_FORMAT;
	m.id = 42;
	strcpy(m.object, "fiable-20250316T020000Z-42.jsonl.gz");
	strcpy(m.snapshot_at, "2025-03-16T02:00:00.123456Z");
	strcpy(m.schema_version, "0006_sauvegardes");
	m.audit_last_id = 999999999999999LL;     /* the largest count a manifest holds */
	m.size = 123456;
	memset(m.sha256, 'a', 64);
	m.tables[BACKUP_SUBMISSIONS].rows = 100000;
	memset(m.tables[BACKUP_SUBMISSIONS].sha256, 'b', 64);
	memset(m.tables[BACKUP_SLOTS].sha256, 'c', 64);
	memset(m.tables[BACKUP_AUDIT].sha256, 'd', 64);
	memset(m.tables[BACKUP_CAMPAIGNS].sha256, 'e', 64);
	memset(m.tables[BACKUP_PARTICIPANTS].sha256, 'f', 64);
	strcpy(m.tables[BACKUP_SUBMISSIONS].columns, "id bigint, email text");
	json = backup_manifest_json(&m);
	CHECK(json != NULL, "manifeste JSON");
	CHECK(backup_manifest_parse(json, &back, err, sizeof(err)) == 0, "relecture : %s", err);
	again = backup_manifest_json(&back);
	CHECK(again != NULL && strcmp(json, again) == 0, "aller-retour identique");
	CHECK(back.audit_last_id == m.audit_last_id && back.tables[BACKUP_SUBMISSIONS].rows == 100000,
	    "nombres exacts");
	cJSON_free(again);
	cJSON_free(json);

	/* Format 2 (before participants): none in it, and one naming them is refused. */
	m.format = 2;
	memset(&m.tables[BACKUP_PARTICIPANTS], 0, sizeof(m.tables[BACKUP_PARTICIPANTS]));
	json = backup_manifest_json(&m);
	CHECK(json != NULL && strstr(json, "participants") == NULL &&
	    strstr(json, "campagnes") != NULL, "format 2 sans participants");
	CHECK(json != NULL && backup_manifest_parse(json, &back, err, sizeof(err)) == 0 &&
	    back.format == 2 && back.tables[BACKUP_PARTICIPANTS].rows == 0,
	    "format 2 relu : %s", err);
	cJSON_free(json);
	m.format = BACKUP_FORMAT;
	memset(m.tables[BACKUP_PARTICIPANTS].sha256, 'f', 64);
	json = backup_manifest_json(&m);
	again = json ? strstr(json, "\"format\":3") : NULL;
	if (again != NULL)
		again[9] = '2';
	CHECK(again != NULL && backup_manifest_parse(json, &back, err, sizeof(err)) != 0,
	    "format 2 avec une table participants refusé");
	cJSON_free(json);

	/* Format 1 (before campaigns): no campagnes in it, and one naming it is refused. */
	m.format = 1;
	memset(&m.tables[BACKUP_CAMPAIGNS], 0, sizeof(m.tables[BACKUP_CAMPAIGNS]));
	memset(&m.tables[BACKUP_PARTICIPANTS], 0, sizeof(m.tables[BACKUP_PARTICIPANTS]));
	json = backup_manifest_json(&m);
	CHECK(json != NULL && strstr(json, "campagnes") == NULL, "format 1 sans campagnes");
	CHECK(json != NULL && backup_manifest_parse(json, &back, err, sizeof(err)) == 0 &&
	    back.format == 1 && back.tables[BACKUP_SUBMISSIONS].rows == 100000,
	    "format 1 relu : %s", err);
	cJSON_free(json);
	m.format = BACKUP_FORMAT;
	memset(m.tables[BACKUP_CAMPAIGNS].sha256, 'e', 64);
	memset(m.tables[BACKUP_PARTICIPANTS].sha256, 'f', 64);
	json = backup_manifest_json(&m);
	again = json ? strstr(json, "\"format\":3") : NULL;
	if (again != NULL)
		again[9] = '1';
	CHECK(again != NULL && backup_manifest_parse(json, &back, err, sizeof(err)) != 0,
	    "format 1 avec une table campagnes refusé");
	cJSON_free(json);
	again = NULL;

	CHECK(backup_manifest_parse("{\"format\":4}", &back, err, sizeof(err)) != 0,
	    "format inconnu refusé");
	CHECK(backup_manifest_parse("{\"format\":0}", &back, err, sizeof(err)) != 0,
	    "format 0 refusé");
	CHECK(backup_manifest_parse("[]", &back, err, sizeof(err)) != 0, "pas un objet");
	CHECK(backup_manifest_parse(NULL, &back, err, sizeof(err)) != 0, "absent");
	/* Beyond 15 digits cJSON may write a count rounded (9007199254740991 as
	 * 9.00719925474099e+15): such a manifest is refused, never read back changed. */
	m.audit_last_id = 9007199254740991LL;
	json = backup_manifest_json(&m);
	CHECK(json != NULL && backup_manifest_parse(json, &back, err, sizeof(err)) != 0,
	    "nombre de plus de 15 chiffres refusé");
	cJSON_free(json);
	m.audit_last_id = 1000000000000000LL;
	json = backup_manifest_json(&m);
	CHECK(json != NULL && backup_manifest_parse(json, &back, err, sizeof(err)) != 0,
	    "10^15 refusé");
	cJSON_free(json);
	m.audit_last_id = 42;

	/* The head of the audit chain: written when there is one, read back exactly; a manifest
	 * without it (before migration 0008) reads as no head; half of it, or a bad hash, is
	 * refused. */
	CHECK(json_has(&m, "audit_chain") == 0, "pas de tête de chaîne sans chaîne");
	m.audit_chain_seq = 77;
	memset(m.audit_chain_hash, 'e', 64);
	json = backup_manifest_json(&m);
	CHECK(json != NULL && backup_manifest_parse(json, &back, err, sizeof(err)) == 0 &&
	    back.audit_chain_seq == 77 && strcmp(back.audit_chain_hash, m.audit_chain_hash) == 0,
	    "tête de chaîne relue : %s", err);
	cJSON_free(json);
	m.audit_chain_hash[10] = 'X';
	json = backup_manifest_json(&m);
	CHECK(json != NULL && backup_manifest_parse(json, &back, err, sizeof(err)) != 0 &&
	    strstr(err, "chaîne d'audit") != NULL, "empreinte de tête invalide refusée");
	cJSON_free(json);
	m.audit_chain_hash[0] = '\0';
	json = backup_manifest_json(&m);
	CHECK(json != NULL && backup_manifest_parse(json, &back, err, sizeof(err)) != 0,
	    "tête sans empreinte refusée");
	cJSON_free(json);
	m.audit_chain_seq = 0;

	strcpy(m.object, "../etc/passwd");
	json = backup_manifest_json(&m);
	CHECK(backup_manifest_parse(json, &back, err, sizeof(err)) != 0, "nom d'objet refusé");
	cJSON_free(json);
}

static void
test_keys(void)
{
	static const char *const good[] = { "fiable-20250316T020000Z-42.jsonl.gz", "a", "A_b-c.d" };
	static const char *const bad[] = { "", ".cache", "a/b", "a b", "é", "a?b", "a%2F",
	    "a\nb" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(storage_key_valid(good[i]), "nom valable : %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!storage_key_valid(bad[i]), "nom refusé : %s", bad[i]);
	CHECK(!storage_key_valid(NULL), "nom absent");
}

static void
test_destinations(void)
{
	static const struct { const char *dest; const char *name; } ok[] = {
		{ "/tmp", "file:///tmp" },
		{ "/tmp/", "file:///tmp" },
		{ "file:///tmp", "file:///tmp" },
		{ "s3://backups", "s3://backups" },
		{ "s3://backups/", "s3://backups" },
		{ "s3://backups/fiable/nuit/", "s3://backups/fiable/nuit" },
	};
	static const char *const bad[] = { "", "tmp", "/nonexistent-fiable-dir", "ftp://x/y",
	    "s3://", "s3://Bad_Bucket", "s3://ab", "s3://backups//x", "s3://backups/../x",
	    "s3://backups/a b", "file://relative" };
	struct config cfg;
	struct storage *st;
	char err[512];
	size_t i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.s3_endpoint = "http://127.0.0.1:9";
	cfg.s3_region = "us-east-1";
	cfg.s3_access_key_id = "AKID";
	cfg.s3_secret_access_key = "secret";
	cfg.backup_retries = 1;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		st = storage_open(&cfg, ok[i].dest, err, sizeof(err));
		CHECK(st != NULL && strcmp(storage_name(st), ok[i].name) == 0, "%s -> %s (%s)",
		    ok[i].dest, st ? storage_name(st) : err, ok[i].name);
		storage_close(st);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = storage_open(&cfg, bad[i], err, sizeof(err));
		CHECK(st == NULL && err[0] != '\0', "destination refusée : %s", bad[i]);
		storage_close(st);
	}
	cfg.s3_secret_access_key = "";
	st = storage_open(&cfg, "s3://backups", err, sizeof(err));
	CHECK(st == NULL && strstr(err, "S3_SECRET_ACCESS_KEY") != NULL, "clés obligatoires : %s",
	    err);
	cfg.s3_secret_access_key = "secret";
	cfg.s3_endpoint = "http://user:pass@host";
	st = storage_open(&cfg, "s3://backups", err, sizeof(err));
	CHECK(st == NULL, "identifiants dans S3_ENDPOINT refusés");
	cfg.s3_endpoint = "";
	cfg.s3_region = "eu west";
	st = storage_open(&cfg, "s3://backups", err, sizeof(err));
	CHECK(st == NULL, "région invalide refusée");
}

/* A job's duration: from a start two and a half seconds ago, on the monotonic clock. */
static void
test_seconds_since(void)
{
	struct timespec start;
	double d;

	clock_gettime(CLOCK_MONOTONIC, &start);
	d = backup_seconds_since(&start);
	CHECK(d >= 0 && d < 1, "durée depuis maintenant : %g s", d);
	start.tv_sec -= 3;
	start.tv_nsec += 500000000L;
	if (start.tv_nsec >= 1000000000L) {
		start.tv_sec++;
		start.tv_nsec -= 1000000000L;
	}
	d = backup_seconds_since(&start);
	CHECK(d >= 2.5 && d < 3.5, "durée depuis 2,5 s : %g s", d);
}

int
main(void)
{
	test_retention();
	test_manifest();
	test_keys();
	test_destinations();
	test_seconds_since();
	return UNIT_END();
}
