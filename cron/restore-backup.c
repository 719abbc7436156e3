/* fiable-restore-backup — lists, proves and applies backups (run by hand, see README):
 *
 *     fiable-restore-backup --list
 *     fiable-restore-backup --verify ID
 *     fiable-restore-backup --apply ID|OBJET [--email ADRESSE] [--confirm]
 *
 * --verify downloads a backup, checks its SHA-256 against the manifest, restores it into
 * scratch tables (temporary, in one transaction that is rolled back) and compares row counts
 * and content checksums with the manifest; the result goes to backup_metadata (verified_at).
 * --apply is the rollback plan's restore: the same load, then the submissions of the backup
 * are written back into the live tables in the same transaction (lib/backup.h explains how
 * nothing is lost), committed only with --confirm; without it the run is a rehearsal. With
 * an object name instead of an id, the backup is found at BACKUP_DESTINATION by its manifest,
 * for a database that lost backup_metadata.
 *
 * Exit status: 0 done, 1 failure, 64 bad usage. */
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "backup.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "num.h"
#include "storage.h"

#define PROGRAM "fiable-restore-backup"
#define PAYLOAD_SUFFIX ".jsonl.gz"
#define MANIFEST_SUFFIX ".manifest.json"
#define LIST_DEFAULT 50
#define LIST_MAX 10000

enum mode { MODE_NONE, MODE_LIST, MODE_VERIFY, MODE_APPLY };

struct options {
	enum mode mode;
	const char *target;        /* ID or object name */
	const char *email;
	bool confirm;
	long limit;
};

/* The backup being verified or applied. */
struct target {
	long long id;
	char id_text[24];
	bool from_metadata;
	char destination[1024];
	char key[256];
	char manifest_key[256];
	struct backup_manifest m;
};

enum opt { OPT_LIST, OPT_VERIFY, OPT_APPLY, OPT_EMAIL, OPT_CONFIRM, OPT_LIMIT, OPT__MAX };

static const struct cli_option options[OPT__MAX + 1] = {
	[OPT_LIST] = { "list", NULL,
	    "les sauvegardes (état, taille, âge, vérification), puis les objets de\n"
	    "BACKUP_DESTINATION qu'aucune ligne de backup_metadata ne nomme" },
	[OPT_VERIFY] = { "verify", "ID",
	    "télécharge la sauvegarde, contrôle son SHA-256, la restaure dans des tables\n"
	    "temporaires et compare lignes et empreintes au manifeste ; inscrit le résultat" },
	[OPT_APPLY] = { "apply", "ID|OBJET",
	    "restaure les réponses de la sauvegarde dans la base, en une transaction :\n"
	    "une réponse modifiée depuis reprend son contenu sauvegardé (nouvelle version,\n"
	    "l'historique garde ce qui est remplacé), une réponse disparue revient telle\n"
	    "quelle ; créneaux et lignes d'audit manquants sont rajoutés. Les réponses\n"
	    "créées depuis ne sont pas touchées. OBJET : nom d'un objet de\n"
	    "BACKUP_DESTINATION (base sans backup_metadata). Demande le rôle\n"
	    "fiable_restore (BACKUP_DATABASE_URL)." },
	[OPT_EMAIL] = { "email", "ADRESSE", "avec --apply : une seule personne (adresse de la "
	    "sauvegarde ou actuelle)" },
	[OPT_CONFIRM] = { "confirm", NULL, "avec --apply : valide la restauration ; sans lui, "
	    "c'est une répétition :\ntout est fait puis annulé" },
	[OPT_LIMIT] = { "limit", "N", "avec --list : nombre de sauvegardes montrées (défaut : "
	    CLI_TEXT(LIST_DEFAULT) ", au plus " CLI_TEXT(LIST_MAX) ")" },
};

static struct cli cli = {
	.program = PROGRAM,
	.summary = "liste, vérifie et restaure les sauvegardes de Fiable.",
	.synopsis = "--list [--limit N]\n--verify ID\n--apply ID|OBJET [--email ADRESSE] [--confirm]",
	.options = options,
	.notes = "Code de sortie : 0 fait, 1 échec, 64 usage incorrect.",
};

/* "1,5 Mio": sizes for people, with a decimal comma. */
static void
human_size(long long n, char *out, size_t len)
{
	static const char *const units[] = { "o", "Kio", "Mio", "Gio", "Tio" };
	double v = (double)n;
	int u = 0;
	char *dot;

	if (n < 0) {
		snprintf(out, len, "-");
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
	if ((dot = strchr(out, '.')) != NULL)
		*dot = ',';
}

static void
human_age(long long secs, char *out, size_t len)
{
	if (secs < 3600)
		snprintf(out, len, "%lld min", secs / 60);
	else if (secs < 48 * 3600)
		snprintf(out, len, "%lld h", secs / 3600);
	else
		snprintf(out, len, "%lld j", secs / 86400);
}

static const char *
status_text(const char *status, bool deleted)
{
	if (deleted)
		return "supprimée";
	if (strcmp(status, "success") == 0)
		return "réussie";
	if (strcmp(status, "failed") == 0)
		return "échouée";
	return "en cours";
}

struct key_list {
	cJSON *array;
};

static void
collect_key(const char *key, long long size, void *arg)
{
	struct key_list *k = arg;

	(void)size;
	cJSON_AddItemToArray(k->array, cJSON_CreateString(key));
}

/* Objects at the configured destination that no backup_metadata row names. */
static void
list_unknown_objects(const struct config *cfg, struct db *db)
{
	char err[512], *keys = NULL;
	const char *params[2];
	struct storage *st;
	struct key_list k = { NULL };
	PGresult *res = NULL;
	int i;

	if (cfg->backup_destination[0] == '\0')
		return;
	if ((st = storage_open(cfg, cfg->backup_destination, err, sizeof(err))) == NULL) {
		printf("\nDestination %s illisible : %s\n", cfg->backup_destination, err);
		return;
	}
	if ((k.array = cJSON_CreateArray()) == NULL)
		goto fail;
	if (storage_list(st, collect_key, &k, err, sizeof(err)) != STORAGE_OK) {
		printf("\nObjets de %s : liste impossible : %s\n", storage_name(st), err);
		goto fail;
	}
	if ((keys = cJSON_PrintUnformatted(k.array)) == NULL)
		goto fail;
	params[0] = keys;
	params[1] = storage_name(st);
	res = db_exec(db, STMT_BACKUP_UNKNOWN_KEYS, params);
	if (!db_ok(res))
		goto fail;
	printf("\nObjets de %s sans ligne dans backup_metadata : %d\n", storage_name(st),
	    PQntuples(res));
	for (i = 0; i < PQntuples(res); i++)
		printf("  %s\n", db_text_or(res, i, "k", ""));
	if (PQntuples(res) > 0)
		printf("(restaurables avec --apply OBJET.jsonl.gz, d'après leur manifeste)\n");
fail:
	PQclear(res);
	cJSON_free(keys);
	cJSON_Delete(k.array);
	storage_close(st);
}

static int
cmd_list(const struct config *cfg, struct db *db, long limit)
{
	char limit_text[24], size[32], age[32], verified[64];
	const char *params[1] = { limit_text };
	PGresult *res;
	int i;

	snprintf(limit_text, sizeof(limit_text), "%ld", limit);
	res = db_query(db, STMT_BACKUP_LIST, params);
	if (!db_ok(res)) {
		report_error("%s : lecture de backup_metadata impossible (%s)\n", PROGRAM,
		    db_lost(db) ? "connexion perdue" : "droits du rôle ?");
		PQclear(res);
		return 1;
	}
	cli_cell(stdout, "ID", 7);
	cli_cell(stdout, "ÉTAT", 11);
	cli_cell(stdout, "DÉBUT (UTC)", 18);
	cli_cell(stdout, "ÂGE", 8);
	cli_cell(stdout, "TAILLE", 11);
	cli_cell(stdout, "VÉRIFIÉE", 23);
	printf("OBJET\n");
	for (i = 0; i < PQntuples(res); i++) {
		long long secs = 0, bytes = -1;
		bool deleted = db_bool(res, i, "deleted");
		const char *verification = db_text_or(res, i, "verification", "");
		const char *error = db_text_or(res, i, "error", "");

		/* A backup started "in the future" (clock skew) is 0 min old; no size yet: "-". */
		(void)num_parse(db_text_or(res, i, "age_seconds", ""), 0, LLONG_MAX, &secs);
		if (!db_is_null(res, i, "size_bytes"))
			(void)db_int(res, i, "size_bytes", 0, LLONG_MAX, &bytes);
		human_age(secs, age, sizeof(age));
		human_size(bytes, size, sizeof(size));
		if (verification[0] == '\0')
			snprintf(verified, sizeof(verified), "non");
		else
			snprintf(verified, sizeof(verified), "%s %s",
			    strcmp(verification, "ok") == 0 ? "oui" : "ÉCHEC",
			    db_text_or(res, i, "verified", ""));
		cli_cell(stdout, db_text_or(res, i, "id", ""), 7);
		cli_cell(stdout, status_text(db_text_or(res, i, "status", ""), deleted), 11);
		cli_cell(stdout, db_text_or(res, i, "started", ""), 18);
		cli_cell(stdout, age, 8);
		cli_cell(stdout, size, 11);
		cli_cell(stdout, verified, 23);
		printf("%s/%s\n", db_text_or(res, i, "destination", ""),
		    db_text_or(res, i, "object_key", ""));
		if (error[0] != '\0')
			printf("       erreur : %s\n", error);
	}
	if (PQntuples(res) == 0)
		printf("(aucune sauvegarde inscrite)\n");
	PQclear(res);
	list_unknown_objects(cfg, db);
	return 0;
}

/* Derives the manifest's name from the payload's. */
static bool
manifest_name(const char *key, char *out, size_t len)
{
	size_t klen = strlen(key), slen = strlen(PAYLOAD_SUFFIX);

	if (!storage_key_valid(key) || klen <= slen ||
	    strcmp(key + klen - slen, PAYLOAD_SUFFIX) != 0 ||
	    klen - slen + strlen(MANIFEST_SUFFIX) >= len)
		return false;
	snprintf(out, len, "%.*s%s", (int)(klen - slen), key, MANIFEST_SUFFIX);
	return true;
}

/* Finds the backup: its row (by id), or its objects at BACKUP_DESTINATION (by name). */
static int
find_target(const struct config *cfg, struct db *db, const char *what, struct target *t,
    char *err, size_t errlen)
{
	const char *params[1];
	PGresult *res = NULL;
	int ret = -1;

	memset(t, 0, sizeof(*t));
	if (!num_parse(what, 1, LLONG_MAX, &t->id)) {
		if (!manifest_name(what, t->manifest_key, sizeof(t->manifest_key))) {
			snprintf(err, errlen, "« %s » n'est ni un identifiant de sauvegarde ni un nom "
			    "d'objet fiable-….jsonl.gz", what);
			return -1;
		}
		snprintf(t->key, sizeof(t->key), "%s", what);
		snprintf(t->destination, sizeof(t->destination), "%s", cfg->backup_destination);
		return 0;
	}
	t->from_metadata = true;
	snprintf(t->id_text, sizeof(t->id_text), "%lld", t->id);
	params[0] = t->id_text;
	res = db_query(db, STMT_BACKUP_GET, params);
	if (!db_ok(res)) {
		snprintf(err, errlen, "lecture de backup_metadata impossible (%s)",
		    db_lost(db) ? "connexion perdue" : "droits du rôle ?");
		goto fail;
	}
	if (PQntuples(res) != 1) {
		snprintf(err, errlen, "aucune sauvegarde %s dans backup_metadata", t->id_text);
		goto fail;
	}
	if (strcmp(db_text_or(res, 0, "status", ""), "success") != 0) {
		snprintf(err, errlen, "la sauvegarde %s n'a pas réussi (état : %s)", t->id_text,
		    status_text(db_text_or(res, 0, "status", ""), false));
		goto fail;
	}
	if (db_bool(res, 0, "deleted")) {
		snprintf(err, errlen, "la sauvegarde %s a été supprimée par le nettoyage", t->id_text);
		goto fail;
	}
	snprintf(t->destination, sizeof(t->destination), "%s",
	    db_text_or(res, 0, "destination", ""));
	snprintf(t->key, sizeof(t->key), "%s", db_text_or(res, 0, "object_key", ""));
	snprintf(t->manifest_key, sizeof(t->manifest_key), "%s",
	    db_text_or(res, 0, "manifest_key", ""));
	if (db_is_null(res, 0, "manifest") ||
	    backup_manifest_parse(db_text(res, 0, "manifest"), &t->m, err, errlen) != 0) {
		snprintf(err, errlen, "la sauvegarde %s n'a pas de manifeste lisible dans "
		    "backup_metadata", t->id_text);
		goto fail;
	}
	ret = 0;
fail:
	PQclear(res);
	return ret;
}

/* Downloads the manifest and the payload (into fd), checking one against the other and
 * against backup_metadata. *bad: the backup itself is wrong (not the storage or network). */
static int
fetch(const struct config *cfg, struct target *t, int fd, bool *bad, char *err,
    size_t errlen)
{
	struct backup_manifest stored;
	char sha[STORAGE_SHA256_HEX], *json = NULL, *a = NULL, *b = NULL;
	struct storage *st = NULL;
	long long size = 0;
	int mfd = -1, ret = -1;
	enum storage_result sr;
	ssize_t n;

	*bad = false;
	if ((st = storage_open(cfg, t->destination, err, errlen)) == NULL)
		goto fail;
	if ((mfd = backup_tmpfile(err, errlen)) < 0)
		goto fail;
	if ((sr = storage_get(st, t->manifest_key, mfd, &size, sha, err, errlen)) != STORAGE_OK) {
		*bad = sr == STORAGE_NOT_FOUND;
		goto fail;
	}
	if (size > 1024 * 1024 || (json = malloc((size_t)size + 1)) == NULL) {
		snprintf(err, errlen, "manifeste %s trop grand", t->manifest_key);
		*bad = true;
		goto fail;
	}
	n = pread(mfd, json, (size_t)size, 0);
	if (n != (ssize_t)size) {
		snprintf(err, errlen, "relecture du manifeste impossible");
		goto fail;
	}
	json[size] = '\0';
	if (backup_manifest_parse(json, &stored, err, errlen) != 0) {
		*bad = true;
		goto fail;
	}
	if (t->from_metadata) {
		/* The copy beside the payload and the row must tell the same story. */
		if ((a = backup_manifest_json(&stored)) == NULL ||
		    (b = backup_manifest_json(&t->m)) == NULL || strcmp(a, b) != 0) {
			snprintf(err, errlen, "le manifeste %s diffère de celui de backup_metadata",
			    t->manifest_key);
			*bad = true;
			goto fail;
		}
	} else {
		t->m = stored;
		t->id = stored.id;
		snprintf(t->id_text, sizeof(t->id_text), "%lld", t->id);
		if (strcmp(stored.object, t->key) != 0) {
			snprintf(err, errlen, "le manifeste %s décrit un autre objet (%s)",
			    t->manifest_key, stored.object);
			*bad = true;
			goto fail;
		}
	}
	log_info("téléchargement de %s (%lld octets) depuis %s", t->key, t->m.size,
	    storage_name(st));
	if ((sr = storage_get(st, t->key, fd, &size, sha, err, errlen)) != STORAGE_OK) {
		*bad = sr == STORAGE_NOT_FOUND;
		goto fail;
	}
	if (size != t->m.size || strcmp(sha, t->m.sha256) != 0) {
		snprintf(err, errlen, "%s ne correspond pas au manifeste : %lld octets, SHA-256 "
		    "%.12s… au lieu de %lld, %.12s…", t->key, size, sha, t->m.size, t->m.sha256);
		*bad = true;
		goto fail;
	}
	log_info("SHA-256 conforme au manifeste (%s)", t->m.sha256);
	ret = 0;
fail:
	cJSON_free(a);
	cJSON_free(b);
	free(json);
	if (mfd >= 0)
		close(mfd);
	storage_close(st);
	return ret;
}

static long long
total_rows(const struct backup_manifest *m)
{
	long long n = 0;
	int i;

	for (i = 0; i < BACKUP__TABLES; i++)
		n += m->tables[i].rows;
	return n;
}

static void
record_verification(struct db *db, const struct target *t, const char *error)
{
	const char *params[3] = { t->id_text, error ? "failed" : "ok", error };
	PGresult *res;

	if (!t->from_metadata)
		return;
	if (!db_ensure(db)) {
		log_error("résultat non inscrit dans backup_metadata : base injoignable");
		return;
	}
	res = db_exec(db, STMT_BACKUP_VERIFIED, params);
	if (!db_ok(res))
		log_error("résultat non inscrit dans backup_metadata (droits du rôle ?)");
	PQclear(res);
}

static int
cmd_verify(const struct config *cfg, struct db *db, const char *what,
    const struct timespec *start)
{
	struct target t;
	char err[1024];
	bool bad = false;
	int fd = -1, rc = 1;

	if (find_target(cfg, db, what, &t, err, sizeof(err)) != 0)
		goto fail;
	if ((fd = backup_tmpfile(err, sizeof(err))) < 0)
		goto fail;
	if (fetch(cfg, &t, fd, &bad, err, sizeof(err)) != 0) {
		if (bad)
			record_verification(db, &t, err);
		goto fail;
	}
	if (!db_begin(db)) {
		snprintf(err, sizeof(err), "transaction impossible (%s)",
		    db_lost(db) ? "connexion perdue" : "refusée");
		goto fail;
	}
	if (backup_load(db, fd, &t.m, err, sizeof(err)) != 0) {
		bool lost = db_lost(db);
		db_rollback(db);
		if (!lost)
			record_verification(db, &t, err);
		goto fail;
	}
	db_rollback(db);
	record_verification(db, &t, NULL);
	report_info("%s : sauvegarde %s vérifiée : restaurée dans des tables temporaires, "
	    "%lld lignes identiques au manifeste (SHA-256 %.12s…), %.2f s\n", PROGRAM,
	    t.id_text, total_rows(&t.m), t.m.sha256, backup_seconds_since(start));
	rc = 0;
fail:
	if (rc != 0)
		report_error("%s : vérification de la sauvegarde %s ÉCHOUÉE : %s\n", PROGRAM,
		    what, err);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Who ran the restoration, for the audit log: the account, not just the program. */
static const char *
system_user(void)
{
	const struct passwd *pw = getpwuid(geteuid());

	return pw != NULL && pw->pw_name != NULL ? pw->pw_name : "?";
}

static bool
email_plausible(const char *s)
{
	size_t i, len = strlen(s);

	if (len < 3 || len > 254 || strchr(s, '@') == NULL)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f)
			return false;
	return true;
}

static int
cmd_apply(const struct config *cfg, struct db *db, const struct options *o,
    const struct timespec *start)
{
	struct backup_apply_result r;
	struct audit_entry entry;
	struct target t;
	cJSON *details = NULL;
	char err[1024];
	bool bad = false, in_tx = false;
	int fd = -1, rc = 1;

	if (o->email != NULL && !email_plausible(o->email)) {
		snprintf(err, sizeof(err), "adresse invalide pour --email : %s", o->email);
		goto fail;
	}
	if (find_target(cfg, db, o->target, &t, err, sizeof(err)) != 0 ||
	    (fd = backup_tmpfile(err, sizeof(err))) < 0 ||
	    fetch(cfg, &t, fd, &bad, err, sizeof(err)) != 0)
		goto fail;
	if (!db_begin(db)) {
		snprintf(err, sizeof(err), "transaction impossible (%s)",
		    db_lost(db) ? "connexion perdue" : "refusée");
		goto fail;
	}
	in_tx = true;
	if (backup_load(db, fd, &t.m, err, sizeof(err)) != 0 ||
	    backup_apply(db, t.id, o->email, PROGRAM, &r, stdout, err, sizeof(err)) != 0)
		goto fail;
	if ((details = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(details, "object", t.key) == NULL ||
	    cJSON_AddStringToObject(details, "email", o->email ? o->email : "") == NULL ||
	    cJSON_AddNumberToObject(details, "inserted", (double)r.inserted) == NULL ||
	    cJSON_AddNumberToObject(details, "updated", (double)r.updated) == NULL ||
	    cJSON_AddNumberToObject(details, "conflicts", (double)r.conflicts) == NULL ||
	    cJSON_AddNumberToObject(details, "campaigns_added", (double)r.campaigns_added) == NULL ||
	    cJSON_AddNumberToObject(details, "slots_added", (double)r.slots_added) == NULL ||
	    cJSON_AddNumberToObject(details, "participants_added",
	    (double)r.participants_added) == NULL ||
	    cJSON_AddNumberToObject(details, "audit_added", (double)r.audit_added) == NULL ||
	    cJSON_AddStringToObject(details, "system_user", system_user()) == NULL) {
		snprintf(err, sizeof(err), "mémoire insuffisante");
		goto fail;
	}
	entry.action = "backup.apply";
	entry.entity = "backup_metadata";
	entry.entity_id = t.id_text;
	entry.actor = PROGRAM;
	entry.details = details;
	if (!audit_append(db, NULL, &entry)) {
		snprintf(err, sizeof(err), "ajout au journal d'audit impossible");
		goto fail;
	}
	in_tx = false;
	if (o->confirm) {
		if (!db_commit(db)) {
			snprintf(err, sizeof(err), "validation de la transaction impossible (%s) : rien "
			    "n'a été restauré", db_lost(db) ? "connexion perdue" : "refusée");
			goto fail;
		}
	} else {
		db_rollback(db);
	}
	if (r.audit_collisions > 0)
		printf("attention : %lld ligne(s) d'audit de la sauvegarde ont un id déjà pris par "
		    "une autre ligne : elles ne sont pas rajoutées (elles restent dans la "
		    "sauvegarde)\n", r.audit_collisions);
	report_info("%s : %s sauvegarde %s%s%s : %lld réponse(s) concernée(s) : %lld "
	    "réinsérée(s), %lld remise(s) dans leur état sauvegardé (nouvelle version, "
	    "historique gardé), %lld déjà identique(s), %lld conflit(s) ; %lld campagne(s), "
	    "%lld créneau(x), %lld participant(s) et %lld ligne(s) d'audit rajouté(s) ; "
	    "%.2f s\n", PROGRAM,
	    o->confirm ? "RESTAURÉ depuis la" : "RÉPÉTITION (rien n'est modifié ; ajoutez "
	    "--confirm pour appliquer) avec la", t.id_text, o->email ? " pour " : "",
	    o->email ? o->email : "", r.considered, r.inserted, r.updated,
	    r.considered - r.inserted - r.updated - r.conflicts, r.conflicts, r.campaigns_added,
	    r.slots_added, r.participants_added, r.audit_added, backup_seconds_since(start));
	rc = 0;
fail:
	if (in_tx)
		db_rollback(db);
	if (rc != 0)
		report_error("%s : restauration de %s ÉCHOUÉE, rien n'a été modifié : %s\n",
		    PROGRAM, o->target, err);
	cJSON_Delete(details);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Reads argv into o: -1 when the program goes on, otherwise its exit status (--help,
 * --version, or a usage error said on stderr). */
static int
parse_args(int argc, char **argv, struct options *o)
{
	const char *arg;
	long long v;
	int opt;

	memset(o, 0, sizeof(*o));
	o->limit = LIST_DEFAULT;
	while ((opt = cli_next(&cli, argc, argv, &arg)) != CLI_DONE) {
		switch (opt) {
		case OPT_LIST:
		case OPT_VERIFY:
		case OPT_APPLY:
			if (o->mode != MODE_NONE)
				return cli_usage_error(&cli, "une seule de --list, --verify et --apply");
			o->mode = opt == OPT_LIST ? MODE_LIST : opt == OPT_VERIFY ? MODE_VERIFY :
			    MODE_APPLY;
			o->target = arg;
			break;
		case OPT_EMAIL:
			o->email = arg;
			break;
		case OPT_CONFIRM:
			o->confirm = true;
			break;
		case OPT_LIMIT:
			if (!num_parse(arg, 1, LIST_MAX, &v))
				return cli_usage_error(&cli, "--limit : un entier de 1 à %d", LIST_MAX);
			o->limit = (long)v;
			break;
		default:	/* CLI_EXIT: --help, --version or a usage error */
			return cli.status;
		}
	}
	if (o->mode == MODE_NONE)
		return cli_usage_error(&cli, "--list, --verify ou --apply ?");
	if ((o->email != NULL || o->confirm) && o->mode != MODE_APPLY)
		return cli_usage_error(&cli, "--email et --confirm ne vont qu'avec --apply");
	return -1;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct config cfg;
	struct timespec start;
	struct db *db = NULL;
	int rc = 1;

	log_init(PROGRAM);
	clock_gettime(CLOCK_MONOTONIC, &start);
	if ((rc = parse_args(argc, argv, &o)) >= 0)
		return rc;
	rc = 1;
	if (!cli_config_load(&cli, &cfg))
		return 1;
	if ((db = db_open(cfg.backup_database_url)) == NULL) {
		report_error("%s : mémoire insuffisante\n", PROGRAM);
		return 1;
	}
	db_set_denied_hint(db, BACKUP_DENIED_HINT);
	if (!db_ensure(db)) {
		report_error("%s : base de données injoignable (BACKUP_DATABASE_URL ou "
		    "FIABLE_DATABASE_URL)\n", PROGRAM);
		goto done;
	}
	switch (o.mode) {
	case MODE_LIST:
		rc = cmd_list(&cfg, db, o.limit);
		break;
	case MODE_VERIFY:
		rc = cmd_verify(&cfg, db, o.target, &start);
		break;
	case MODE_APPLY:
		rc = cmd_apply(&cfg, db, &o, &start);
		break;
	case MODE_NONE:
		break;
	}
done:
	db_close(db);
	return rc;
}
