/* fiable-backup-submissions — the daily backup; from cron (cron/crontab.example):
 *
 *     0 2 * * *  fiable-backup-submissions --verify-after
 *
 * 1. Takes the backup lock (pg_try_advisory_lock): a second run at the same time says so
 *    and exits 0, leaving the first one alone.
 * 2. Records the run in backup_metadata ('running'); a row left 'running' by a run that died
 *    is marked 'failed' first (the lock proves nobody else is at work).
 * 3. Reads ONE REPEATABLE READ READ ONLY snapshot of the slots, every submission (withdrawn
 *    ones and their history included) and the audit log, through a cursor, into a
 *    temporary file: gzip JSON lines, hashed while written (lib/backup_dump.c).
 * 4. Uploads it, then its manifest, to BACKUP_DESTINATION (lib/storage*.c: local directory or
 *    S3 with SigV4), transient errors retried with backoff.
 * 5. Reads both back (size and SHA-256); with --verify-after, restores the payload into
 *    scratch tables and compares row counts and content checksums with the manifest.
 * 6. Only then marks the run 'success'. On any failure: the objects it uploaded are deleted,
 *    the run is marked 'failed' with the reason, and the exit status is 1.
 *
 * Progress on stderr, then one summary line (rows, bytes, seconds) for the cron log.
 * Exit status: 0 success (or another run holds the lock), 1 failure, 64 bad usage. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "backup.h"
#include "cli.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "num.h"
#include "storage.h"

#define PROGRAM "fiable-backup-submissions"
#define PAYLOAD_SUFFIX ".jsonl.gz"
#define MANIFEST_SUFFIX ".manifest.json"

struct run {
	const struct config *cfg;
	struct db *db;
	struct storage *st;
	bool verify_after;
	char id[24];
	char key[128];
	char manifest_key[128];
	bool uploaded;              /* something may exist at the destination: delete on failure */
	struct backup_manifest m;
	bool verified;
};

enum opt { OPT_VERIFY_AFTER, OPT__MAX };

static const struct cli_option options[OPT__MAX + 1] = {
	[OPT_VERIFY_AFTER] = { "verify-after", NULL,
	    "après l'envoi, restaure la sauvegarde dans des tables temporaires\n"
	    "et la compare au manifeste avant de la déclarer réussie" },
};

static struct cli cli = {
	.program = PROGRAM,
	.summary = "sauvegarde les créneaux, les réponses (avec les retraits et "
	    "l'historique)\net le journal d'audit vers BACKUP_DESTINATION.",
	.synopsis = "[--verify-after]",
	.options = options,
	.notes = "À lancer par cron chaque nuit (voir cron/crontab.example). Écrit l'avancement puis\n"
	    "un résumé d'une ligne sur la sortie d'erreur. Code de sortie : 0 réussie (ou une\n"
	    "autre sauvegarde est déjà en cours), 1 échec (la raison est inscrite dans\n"
	    "backup_metadata), 64 usage incorrect.",
};

/* Reads an object back and compares it with what was sent. */
static int
read_back(struct run *r, const char *key, int fd, long long size, const char *sha,
    char *err, size_t errlen)
{
	char got_sha[STORAGE_SHA256_HEX];
	long long got_size = 0;
	enum storage_result sr;

	if ((sr = storage_head(r->st, key, &got_size, err, errlen)) != STORAGE_OK ||
	    (sr = storage_get(r->st, key, fd, &got_size, got_sha, err, errlen)) != STORAGE_OK) {
		if (sr == STORAGE_NOT_FOUND)
			snprintf(err, errlen, "relecture : %s est introuvable après l'envoi", key);
		return -1;
	}
	if (got_size != size || strcmp(got_sha, sha) != 0) {
		snprintf(err, errlen, "relecture : %s diffère de ce qui a été envoyé (%lld octets, "
		    "SHA-256 %.12s… au lieu de %lld, %.12s…)", key, got_size, got_sha, size, sha);
		return -1;
	}
	return 0;
}

static int
do_backup(struct run *r, char *err, size_t errlen)
{
	unsigned char h[SHA256_LEN];
	char manifest_sha[STORAGE_SHA256_HEX], load_err[768];
	char *manifest = NULL;
	int fd = -1, back = -1, ret = -1;

	if ((fd = backup_tmpfile(err, errlen)) < 0)
		goto fail;
	if (backup_dump(r->db, fd, &r->m, err, errlen) != 0)
		goto fail;
	if (r->m.audit_chain_seq > 0)
		log_info("tête de la chaîne d'audit inscrite : maillon %lld, empreinte %.16s…",
		    r->m.audit_chain_seq, r->m.audit_chain_hash);
	if (!num_parse(r->id, 1, LLONG_MAX, &r->m.id)) {
		snprintf(err, errlen, "identifiant de sauvegarde inattendu : %s", r->id);
		goto fail;
	}
	snprintf(r->m.object, sizeof(r->m.object), "%s", r->key);
	log_info("envoi de %s (%lld octets) vers %s", r->key, r->m.size, storage_name(r->st));
	r->uploaded = true;
	if (storage_put_fd(r->st, r->key, fd, r->m.size, r->m.sha256, err, errlen) != STORAGE_OK)
		goto fail;
	if (r->verify_after && (back = backup_tmpfile(err, errlen)) < 0)
		goto fail;
	if (read_back(r, r->key, back, r->m.size, r->m.sha256, err, errlen) != 0)
		goto fail;
	if ((manifest = backup_manifest_json(&r->m)) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	sha256(manifest, strlen(manifest), h);
	hex_encode(h, SHA256_LEN, manifest_sha);
	if (storage_put_mem(r->st, r->manifest_key, manifest, strlen(manifest), err, errlen) !=
	    STORAGE_OK ||
	    read_back(r, r->manifest_key, -1, (long long)strlen(manifest), manifest_sha, err,
	    errlen) != 0)
		goto fail;
	log_info("relecture : %s et son manifeste sont identiques à ce qui a été envoyé", r->key);
	if (r->verify_after) {
		/* The copy read back from the destination is what gets restored. */
		if (!db_begin(r->db)) {
			snprintf(err, errlen, "vérification : transaction impossible (%s)",
			    db_lost(r->db) ? "connexion perdue" : "refusée");
			goto fail;
		}
		if (backup_load(r->db, back, &r->m, load_err, sizeof(load_err)) != 0) {
			db_rollback(r->db);
			snprintf(err, errlen, "vérification par restauration échouée : %s", load_err);
			goto fail;
		}
		db_rollback(r->db);
		r->verified = true;
	}
	ret = 0;
fail:
	cJSON_free(manifest);
	if (back >= 0)
		close(back);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Marks the run a success; -1 when the row could not be written. */
static int
record_success(struct run *r, char *err, size_t errlen)
{
	char size[24], audit[24], chain[24], *counts = NULL, *manifest = NULL;
	const char *params[11];
	PGresult *res = NULL;
	int ret = -1;

	snprintf(size, sizeof(size), "%lld", r->m.size);
	snprintf(audit, sizeof(audit), "%lld", r->m.audit_last_id);
	snprintf(chain, sizeof(chain), "%lld", r->m.audit_chain_seq);
	if ((counts = backup_row_counts_json(&r->m)) == NULL ||
	    (manifest = backup_manifest_json(&r->m)) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	params[0] = r->id;
	params[1] = size;
	params[2] = r->m.sha256;
	params[3] = counts;
	params[4] = manifest;
	params[5] = r->m.snapshot_at;
	params[6] = audit;
	params[7] = r->m.schema_version[0] ? r->m.schema_version : NULL;
	params[8] = r->verified ? "ok" : NULL;
	params[9] = r->m.audit_chain_seq > 0 ? chain : NULL;
	params[10] = r->m.audit_chain_seq > 0 ? r->m.audit_chain_hash : NULL;
	res = db_exec(r->db, STMT_BACKUP_SUCCEED, params);
	if (!db_ok(res) || PQntuples(res) != 1) {
		snprintf(err, errlen, "inscription du succès dans backup_metadata impossible (%s)",
		    db_lost(r->db) ? "connexion perdue" : "ligne introuvable ou refusée");
		goto fail;
	}
	ret = 0;
fail:
	PQclear(res);
	cJSON_free(counts);
	cJSON_free(manifest);
	return ret;
}

/* After a failure: nothing half-made stays at the destination, the row says why. */
static void
record_failure(struct run *r, const char *error)
{
	char err[512];
	const char *params[2] = { r->id, error };
	PGresult *res;

	if (r->uploaded && r->st != NULL) {
		if (storage_delete(r->st, r->key, err, sizeof(err)) != STORAGE_OK ||
		    storage_delete(r->st, r->manifest_key, err, sizeof(err)) != STORAGE_OK)
			log_warn("suppression de l'envoi incomplet impossible : %s", err);
	}
	if (!db_ensure(r->db)) {
		log_error("échec non inscrit dans backup_metadata : base injoignable (la prochaine "
		    "sauvegarde marquera la ligne %s comme échouée)", r->id);
		return;
	}
	res = db_exec(r->db, STMT_BACKUP_FAIL, params);
	if (!db_ok(res))
		log_error("échec non inscrit dans backup_metadata (ligne %s)", r->id);
	PQclear(res);
}

static void
print_summary(const struct run *r, double secs)
{
	long long total = 0;
	int t;

	for (t = 0; t < BACKUP__TABLES; t++)
		total += r->m.tables[t].rows;
	report_info("%s : sauvegarde %s réussie%s : %lld lignes (", PROGRAM, r->id,
	    r->verified ? " et vérifiée par restauration" : "", total);
	for (t = 0; t < BACKUP__TABLES; t++)
		fprintf(stderr, "%s%s %lld", t ? ", " : "", backup_table_name((enum backup_table)t),
		    r->m.tables[t].rows);
	fprintf(stderr, "), %lld octets, %.2f s -> %s/%s\n", r->m.size, secs,
	    storage_name(r->st), r->key);
}

/* Records the start of the run and names its objects; -1 when the database refused. */
static int
record_start(struct run *r, const char *destination)
{
	const char *params[3], *id, *stamp;
	PGresult *res;
	int ret = -1;

	params[0] = destination;
	res = db_exec(r->db, STMT_BACKUP_START, params);
	if (db_ok(res) && PQntuples(res) == 1 && (id = db_text(res, 0, "id")) != NULL &&
	    (stamp = db_text(res, 0, "stamp")) != NULL) {
		snprintf(r->id, sizeof(r->id), "%s", id);
		snprintf(r->key, sizeof(r->key), "fiable-%s-%s" PAYLOAD_SUFFIX, stamp, r->id);
		snprintf(r->manifest_key, sizeof(r->manifest_key), "fiable-%s-%s" MANIFEST_SUFFIX,
		    stamp, r->id);
		ret = 0;
	}
	PQclear(res);
	if (ret != 0)
		return -1;
	params[0] = r->id;
	params[1] = r->key;
	params[2] = r->manifest_key;
	res = db_exec(r->db, STMT_BACKUP_SET_KEYS, params);
	if (!db_ok(res))
		ret = -1;
	PQclear(res);
	return ret;
}

/* Takes the lock and clears what a dead run left; 1 when another run holds the lock. */
static int
lock_and_tidy(struct db *db)
{
	const char *key[1] = { BACKUP_LOCK_KEY };
	const char *stale[1] = { "interrompue : le programme s'est arrêté avant la fin" };
	PGresult *res = db_exec(db, STMT_BACKUP_LOCK, key);
	int i, ret = -1;

	if (!db_ok(res) || PQntuples(res) != 1)
		goto fail;
	if (!db_bool(res, 0, "locked")) {
		ret = 1;
		goto fail;
	}
	PQclear(res);
	res = db_exec(db, STMT_BACKUP_MARK_STALE, stale);
	if (!db_ok(res))
		goto fail;
	for (i = 0; i < PQntuples(res); i++)
		log_warn("la sauvegarde %s était restée « en cours » : marquée échouée",
		    db_text(res, i, "id"));
	ret = 0;
fail:
	PQclear(res);
	return ret;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct run r;
	struct timespec start;
	char err[1024], st_err[512];
	const char *arg;
	int opt, rc = 1, lock;

	log_init(PROGRAM);
	clock_gettime(CLOCK_MONOTONIC, &start);
	memset(&r, 0, sizeof(r));
	while ((opt = cli_next(&cli, argc, argv, &arg)) != CLI_DONE) {
		switch (opt) {
		case OPT_VERIFY_AFTER:
			r.verify_after = true;
			break;
		default:	/* CLI_EXIT: --help, --version or a usage error */
			return cli.status;
		}
	}
	if (!cli_config_load(&cli, &cfg))
		return 1;
	r.cfg = &cfg;
	/* A bad destination is recorded as a failed run, like any other failure. */
	st_err[0] = '\0';
	r.st = storage_open(&cfg, cfg.backup_destination, st_err, sizeof(st_err));
	if ((r.db = db_open(cfg.backup_database_url)) == NULL) {
		report_error("%s : mémoire insuffisante\n", PROGRAM);
		goto done;
	}
	db_set_denied_hint(r.db, BACKUP_DENIED_HINT);
	if (!db_ensure(r.db)) {
		report_error("%s : sauvegarde impossible : base de données injoignable "
		    "(BACKUP_DATABASE_URL ou FIABLE_DATABASE_URL)%s%s\n", PROGRAM,
		    r.st ? "" : " ; de plus : ", r.st ? "" : st_err);
		goto done;
	}
	if ((lock = lock_and_tidy(r.db)) != 0) {
		if (lock > 0) {
			report_info("%s : une autre sauvegarde (ou un nettoyage) est en cours : "
			    "celle-ci s'arrête sans rien faire\n", PROGRAM);
			rc = 0;
		} else {
			report_error("%s : la base a refusé le verrou ou backup_metadata (droits du "
			    "rôle ? voir sql/0006_sauvegardes.sql)\n", PROGRAM);
		}
		goto done;
	}
	if (record_start(&r, r.st ? storage_name(r.st) : cfg.backup_destination) != 0) {
		report_error("%s : inscription dans backup_metadata impossible\n", PROGRAM);
		goto done;
	}
	log_info("sauvegarde %s : début (%s)", r.id, r.st ? storage_name(r.st) : "?");
	if (r.st == NULL) {
		snprintf(err, sizeof(err), "%s", st_err);
	} else if (do_backup(&r, err, sizeof(err)) == 0 &&
	    record_success(&r, err, sizeof(err)) == 0) {
		print_summary(&r, backup_seconds_since(&start));
		rc = 0;
		goto done;
	}
	record_failure(&r, err);
	report_error("%s : sauvegarde %s ÉCHOUÉE après %.2f s : %s\n", PROGRAM, r.id,
	    backup_seconds_since(&start), err);
done:
	db_close(r.db);
	storage_close(r.st);
	return rc;
}
