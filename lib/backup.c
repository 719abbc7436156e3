#include "backup.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ZLIB_CONST
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "crypto.h"
#include "json.h"
#include "log.h"
#include "storage.h"

#define CHUNK (64 * 1024)
/* A row line longer than this is refused: the largest row (2,000 characters of comment and
 * its history) is far below. */
#define LINE_MAX_BYTES (32 * 1024 * 1024)
/* Rows sent to the database in one INSERT when loading: bounded in rows and in bytes. */
#define BATCH_ROWS 1000
#define BATCH_BYTES (4 * 1024 * 1024)
#define HEADER_PREFIX "{\"fiable_backup\":"
/* zlib level 3: on these JSON lines, twice as fast as the default 6 for about 10% more
 * bytes (measured on 100,000 submissions). */
#define GZIP_LEVEL 3
/* Long statements (the load of a large backup) run in the backup programs only. */
#define STATEMENT_TIMEOUT "30min"

static const struct {
	const char *name;          /* live table, and its name in the payload */
	const char *scratch;       /* its scratch copy */
	enum stmt declare, declare_scratch, create_scratch, load;
} tables[BACKUP__TABLES] = {
	[BACKUP_SLOTS] = { "creneaux", "pg_temp.restore_creneaux",
	    STMT_BACKUP_DECLARE_SLOTS, STMT_BACKUP_DECLARE_SCRATCH_SLOTS,
	    STMT_BACKUP_SCRATCH_SLOTS, STMT_BACKUP_LOAD_SLOTS },
	[BACKUP_SUBMISSIONS] = { "soumissions_disponibilites", "pg_temp.restore_soumissions",
	    STMT_BACKUP_DECLARE_SUBMISSIONS, STMT_BACKUP_DECLARE_SCRATCH_SUBMISSIONS,
	    STMT_BACKUP_SCRATCH_SUBMISSIONS, STMT_BACKUP_LOAD_SUBMISSIONS },
	[BACKUP_AUDIT] = { "audit_logs", "pg_temp.restore_audit_logs",
	    STMT_BACKUP_DECLARE_AUDIT, STMT_BACKUP_DECLARE_SCRATCH_AUDIT,
	    STMT_BACKUP_SCRATCH_AUDIT, STMT_BACKUP_LOAD_AUDIT },
};

const char *
backup_table_name(enum backup_table t)
{
	return (unsigned)t < BACKUP__TABLES ? tables[t].name : "?";
}

int
backup_tmpfile(char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	if (dir == NULL || dir[0] != '/')
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/fiable-backup-XXXXXX", dir);
	if ((fd = mkstemp(path)) < 0) {
		snprintf(err, errlen, "fichier temporaire impossible dans %s : %s", dir,
		    storage_errno_text(errno));
		return -1;
	}
	unlink(path);
	return fd;
}

static int
session_settings(struct db *db, char *err, size_t errlen)
{
	const char *params[1] = { STATEMENT_TIMEOUT };

	return db_run(db, STMT_BACKUP_SESSION, params, "les réglages de la transaction", err,
	    errlen) ? 0 : -1;
}

/* "name type, ..." of a table (a live one or a scratch one). */
static int
table_columns(struct db *db, const char *table, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char *params[1] = { table };
	PGresult *res = db_exec(db, STMT_BACKUP_COLUMNS, params);
	int ret = -1;

	if (!db_ok(res) || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		db_failure_message(db, res, "la lecture des colonnes", err, errlen);
	} else if ((size_t)PQgetlength(res, 0, 0) >= outlen) {
		snprintf(err, errlen, "table %s : trop de colonnes", table);
	} else {
		snprintf(out, outlen, "%s", PQgetvalue(res, 0, 0));
		ret = 0;
	}
	PQclear(res);
	return ret;
}

/* --- Compressed writing -------------------------------------------------------------------- */

struct gz_out {
	z_stream z;
	bool ready;
	int fd;
	EVP_MD_CTX *md;         /* of the compressed bytes, as stored */
	long long size;
	unsigned char buf[CHUNK];
};

static int
gz_out_init(struct gz_out *g, int fd, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	g->fd = fd;
	/* windowBits 15 + 16: a gzip stream, readable by gunzip and zcat. */
	if (deflateInit2(&g->z, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		snprintf(err, errlen, "initialisation de zlib impossible");
		return -1;
	}
	g->ready = true;
	if ((g->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(g->md, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "mémoire insuffisante");
		return -1;
	}
	return 0;
}

static void
gz_out_free(struct gz_out *g)
{
	if (g->ready)
		deflateEnd(&g->z);
	EVP_MD_CTX_free(g->md);
	g->ready = false;
	g->md = NULL;
}

/* Compresses len bytes (flush Z_FINISH: and ends the stream), writing what comes out. */
static int
gz_out_write(struct gz_out *g, const void *data, size_t len, int flush, char *err,
    size_t errlen)
{
	int rc;

	g->z.next_in = data;
	g->z.avail_in = (uInt)len;
	do {
		size_t have;
		g->z.next_out = g->buf;
		g->z.avail_out = CHUNK;
		rc = deflate(&g->z, flush);
		if (rc == Z_STREAM_ERROR) {
			snprintf(err, errlen, "erreur de compression");
			return -1;
		}
		have = CHUNK - g->z.avail_out;
		if (have > 0) {
			if (fd_write_all(g->fd, g->buf, have) != 0) {
				snprintf(err, errlen, "écriture de la sauvegarde impossible : %s",
				    storage_errno_text(errno));
				return -1;
			}
			EVP_DigestUpdate(g->md, g->buf, have);
			g->size += (long long)have;
		}
	} while (g->z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
	return 0;
}

/* --- Reading through a cursor --------------------------------------------------------------- */

typedef int (*row_fn)(const char *line, size_t len, void *arg, char *err, size_t errlen);

/* Declares the cursor, fetches every row (a few hundred at a time) and closes it. */
static int
each_row(struct db *db, enum stmt declare, const char *table, row_fn fn, void *arg,
    long long *rows, char *err, size_t errlen)
{
	PGresult *res = NULL;
	int i, n, ret = -1;

	*rows = 0;
	if (!db_run(db, declare, NULL, "l'ouverture du curseur", err, errlen))
		return -1;
	for (;;) {
		res = db_exec(db, STMT_BACKUP_FETCH, NULL);
		if (!db_ok(res)) {
			db_failure_message(db, res, "la lecture des lignes", err, errlen);
			goto fail;
		}
		if ((n = PQntuples(res)) == 0)
			break;
		for (i = 0; i < n; i++) {
			const char *v = PQgetvalue(res, i, 0);
			size_t len = (size_t)PQgetlength(res, i, 0);
			/* row_to_json escapes line ends in strings: a raw one would split a row. */
			if (memchr(v, '\n', len) != NULL) {
				snprintf(err, errlen, "table %s : ligne JSON sur plusieurs lignes", table);
				goto fail;
			}
			if (fn(v, len, arg, err, errlen) != 0)
				goto fail;
			(*rows)++;
		}
		PQclear(res);
		res = NULL;
	}
	ret = db_run(db, STMT_BACKUP_CLOSE, NULL, "la fermeture du curseur", err, errlen) ? 0 : -1;
fail:
	PQclear(res);
	return ret;
}

struct dump_ctx {
	struct gz_out *gz;
	EVP_MD_CTX *md;         /* of the current table's lines */
};

static int
dump_row(const char *line, size_t len, void *arg, char *err, size_t errlen)
{
	struct dump_ctx *d = arg;

	EVP_DigestUpdate(d->md, line, len);
	EVP_DigestUpdate(d->md, "\n", 1);
	if (gz_out_write(d->gz, line, len, Z_NO_FLUSH, err, errlen) != 0 ||
	    gz_out_write(d->gz, "\n", 1, Z_NO_FLUSH, err, errlen) != 0)
		return -1;
	return 0;
}

static int
hash_row(const char *line, size_t len, void *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	EVP_DigestUpdate(arg, line, len);
	EVP_DigestUpdate(arg, "\n", 1);
	return 0;
}

static char *
header_line(enum backup_table t, const char *columns)
{
	cJSON *h = cJSON_CreateObject();
	char *text = NULL;

	if (h != NULL && cJSON_AddNumberToObject(h, "fiable_backup", BACKUP_FORMAT) != NULL &&
	    cJSON_AddStringToObject(h, "table", tables[t].name) != NULL &&
	    cJSON_AddStringToObject(h, "columns", columns) != NULL)
		text = json_print(h);
	cJSON_Delete(h);
	return text;
}

static void
copy_field(char *out, size_t outlen, const PGresult *res, int col)
{
	snprintf(out, outlen, "%s", PQgetisnull(res, 0, col) ? "" : PQgetvalue(res, 0, col));
}

int
backup_dump(struct db *db, int fd, struct backup_manifest *m, char *err, size_t errlen)
{
	struct gz_out gz;
	struct dump_ctx d;
	PGresult *res = NULL;
	char *header = NULL, *end;
	bool in_tx = false;
	int t, ret = -1;

	memset(m, 0, sizeof(*m));
	m->format = BACKUP_FORMAT;
	memset(&d, 0, sizeof(d));
	if (gz_out_init(&gz, fd, err, errlen) != 0)
		goto fail;
	d.gz = &gz;
	if ((d.md = EVP_MD_CTX_new()) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	if (!db_begin(db)) {
		db_failure_message(db, NULL, "le début de la transaction", err, errlen);
		goto fail;
	}
	in_tx = true;
	/* Every table is read in the same snapshot, and nothing can be written through it. */
	if (!db_run(db, STMT_BACKUP_SNAPSHOT, NULL, "l'instantané REPEATABLE READ", err, errlen) ||
	    session_settings(db, err, errlen) != 0)
		goto fail;
	res = db_exec(db, STMT_BACKUP_SNAPSHOT_INFO, NULL);
	if (!db_ok(res) || PQntuples(res) != 1) {
		db_failure_message(db, res, "la lecture de l'instantané", err, errlen);
		goto fail;
	}
	copy_field(m->snapshot_at, sizeof(m->snapshot_at), res, 0);
	errno = 0;
	m->audit_last_id = strtoll(PQgetvalue(res, 0, 1), &end, 10);
	if (errno != 0 || *end != '\0') {
		snprintf(err, errlen, "dernier id du journal d'audit illisible");
		goto fail;
	}
	copy_field(m->schema_version, sizeof(m->schema_version), res, 2);
	errno = 0;
	m->audit_chain_seq = strtoll(PQgetvalue(res, 0, 3), &end, 10);
	if (errno != 0 || *end != '\0') {
		snprintf(err, errlen, "tête de la chaîne d'audit illisible");
		goto fail;
	}
	copy_field(m->audit_chain_hash, sizeof(m->audit_chain_hash), res, 4);
	PQclear(res);
	res = NULL;

	for (t = 0; t < BACKUP__TABLES; t++) {
		struct backup_table_sum *sum = &m->tables[t];
		if (table_columns(db, tables[t].name, sum->columns, sizeof(sum->columns),
		    err, errlen) != 0)
			goto fail;
		if ((header = header_line((enum backup_table)t, sum->columns)) == NULL) {
			snprintf(err, errlen, "mémoire insuffisante");
			goto fail;
		}
		if (gz_out_write(&gz, header, strlen(header), Z_NO_FLUSH, err, errlen) != 0 ||
		    gz_out_write(&gz, "\n", 1, Z_NO_FLUSH, err, errlen) != 0)
			goto fail;
		cJSON_free(header);
		header = NULL;
		if (EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) != 1 ||
		    each_row(db, tables[t].declare, tables[t].name, dump_row, &d, &sum->rows,
		    err, errlen) != 0)
			goto fail;
		digest_final_hex(d.md, sum->sha256);
		log_info("sauvegarde : %s : %lld ligne(s)", tables[t].name, sum->rows);
	}
	in_tx = false;
	if (!db_commit(db)) {
		db_failure_message(db, NULL, "la fin de la transaction", err, errlen);
		goto fail;
	}
	if (gz_out_write(&gz, "", 0, Z_FINISH, err, errlen) != 0)
		goto fail;
	m->size = gz.size;
	digest_final_hex(gz.md, m->sha256);
	ret = 0;
fail:
	if (in_tx)
		db_rollback(db);
	PQclear(res);
	cJSON_free(header);
	EVP_MD_CTX_free(d.md);
	gz_out_free(&gz);
	return ret;
}

/* --- Manifest ------------------------------------------------------------------------------ */

char *
backup_manifest_json(const struct backup_manifest *m)
{
	cJSON *root = cJSON_CreateObject(), *list, *one;
	char *text = NULL;
	int t;

	if (root == NULL ||
	    cJSON_AddNumberToObject(root, "format", m->format) == NULL ||
	    cJSON_AddNumberToObject(root, "id", (double)m->id) == NULL ||
	    cJSON_AddStringToObject(root, "object", m->object) == NULL ||
	    cJSON_AddStringToObject(root, "encoding", "gzip, JSON lines") == NULL ||
	    cJSON_AddStringToObject(root, "snapshot_at", m->snapshot_at) == NULL ||
	    cJSON_AddStringToObject(root, "schema_version", m->schema_version) == NULL ||
	    cJSON_AddNumberToObject(root, "audit_last_id", (double)m->audit_last_id) == NULL ||
	    (m->audit_chain_seq > 0 &&
	    (cJSON_AddNumberToObject(root, "audit_chain_seq", (double)m->audit_chain_seq) == NULL ||
	    cJSON_AddStringToObject(root, "audit_chain_hash", m->audit_chain_hash) == NULL)) ||
	    cJSON_AddNumberToObject(root, "size", (double)m->size) == NULL ||
	    cJSON_AddStringToObject(root, "sha256", m->sha256) == NULL ||
	    (list = cJSON_AddObjectToObject(root, "tables")) == NULL)
		goto fail;
	for (t = 0; t < BACKUP__TABLES; t++) {
		if ((one = cJSON_AddObjectToObject(list, tables[t].name)) == NULL ||
		    cJSON_AddNumberToObject(one, "rows", (double)m->tables[t].rows) == NULL ||
		    cJSON_AddStringToObject(one, "sha256", m->tables[t].sha256) == NULL ||
		    cJSON_AddStringToObject(one, "columns", m->tables[t].columns) == NULL)
			goto fail;
	}
	text = json_print(root);
fail:
	cJSON_Delete(root);
	return text;
}

char *
backup_row_counts_json(const struct backup_manifest *m)
{
	cJSON *root = cJSON_CreateObject();
	char *text = NULL;
	int t;

	if (root == NULL)
		return NULL;
	for (t = 0; t < BACKUP__TABLES; t++)
		if (cJSON_AddNumberToObject(root, tables[t].name, (double)m->tables[t].rows) == NULL)
			goto fail;
	text = json_print(root);
fail:
	cJSON_Delete(root);
	return text;
}

/* A whole non-negative number of at most 15 digits. Not up to 2^53: cJSON writes a number
 * with 15 significant digits when that reads back within DBL_EPSILON, so 9007199254740992
 * would come back as 9007199254740990, and strtod reads "9007199254740993" as ...992. */
static bool
json_count(const cJSON *obj, const char *name, long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 999999999999999.0 ||
	    v->valuedouble != (double)(long long)v->valuedouble)
		return false;
	*out = (long long)v->valuedouble;
	return true;
}

static bool
json_text(const cJSON *obj, const char *name, char *out, size_t outlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= outlen)
		return false;
	snprintf(out, outlen, "%s", v->valuestring);
	return true;
}

static bool
sha256_hex_valid(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

int
backup_manifest_parse(const char *json, struct backup_manifest *m, char *err, size_t errlen)
{
	cJSON *root = json ? json_parse_object(json, strlen(json)) : NULL;
	const cJSON *list, *one;
	long long format;
	int t, ret = -1;

	memset(m, 0, sizeof(*m));
	if (root == NULL) {
		snprintf(err, errlen, "manifeste illisible (JSON invalide)");
		goto fail;
	}
	if (!json_count(root, "format", &format) || format != BACKUP_FORMAT) {
		snprintf(err, errlen, "format de sauvegarde inconnu (attendu : %d)", BACKUP_FORMAT);
		goto fail;
	}
	m->format = (int)format;
	if (!json_count(root, "id", &m->id) ||
	    !json_text(root, "object", m->object, sizeof(m->object)) ||
	    !json_text(root, "snapshot_at", m->snapshot_at, sizeof(m->snapshot_at)) ||
	    !json_text(root, "schema_version", m->schema_version, sizeof(m->schema_version)) ||
	    !json_count(root, "audit_last_id", &m->audit_last_id) ||
	    !json_count(root, "size", &m->size) ||
	    !json_text(root, "sha256", m->sha256, sizeof(m->sha256)) ||
	    !sha256_hex_valid(m->sha256) || !storage_key_valid(m->object) ||
	    !cJSON_IsObject(list = cJSON_GetObjectItemCaseSensitive(root, "tables"))) {
		snprintf(err, errlen, "manifeste incomplet ou invalide");
		goto fail;
	}
	/* The head of the audit chain: in every manifest since migration 0008, both or none. */
	if (cJSON_GetObjectItemCaseSensitive(root, "audit_chain_seq") != NULL ||
	    cJSON_GetObjectItemCaseSensitive(root, "audit_chain_hash") != NULL) {
		if (!json_count(root, "audit_chain_seq", &m->audit_chain_seq) ||
		    m->audit_chain_seq <= 0 ||
		    !json_text(root, "audit_chain_hash", m->audit_chain_hash,
		    sizeof(m->audit_chain_hash)) || !sha256_hex_valid(m->audit_chain_hash)) {
			snprintf(err, errlen, "manifeste : tête de la chaîne d'audit invalide");
			goto fail;
		}
	}
	for (t = 0; t < BACKUP__TABLES; t++) {
		struct backup_table_sum *sum = &m->tables[t];
		one = cJSON_GetObjectItemCaseSensitive(list, tables[t].name);
		if (!cJSON_IsObject(one) || !json_count(one, "rows", &sum->rows) ||
		    !json_text(one, "sha256", sum->sha256, sizeof(sum->sha256)) ||
		    !sha256_hex_valid(sum->sha256) ||
		    !json_text(one, "columns", sum->columns, sizeof(sum->columns))) {
			snprintf(err, errlen, "manifeste : table %s absente ou invalide",
			    tables[t].name);
			goto fail;
		}
	}
	ret = 0;
fail:
	cJSON_Delete(root);
	return ret;
}

/* --- Loading into scratch tables ---------------------------------------------------------- */

struct gz_in {
	z_stream z;
	bool ready, end;
	int fd;
	unsigned char buf[CHUNK];
};

/* Up to len decompressed bytes; 0 at the end of the stream, -1 on error. */
static long
gz_in_read(struct gz_in *g, unsigned char *out, size_t len, char *err, size_t errlen)
{
	int rc;

	if (g->end)
		return 0;
	g->z.next_out = out;
	g->z.avail_out = (uInt)len;
	while (g->z.avail_out == len) {
		if (g->z.avail_in == 0) {
			ssize_t n = read(g->fd, g->buf, CHUNK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				snprintf(err, errlen, "lecture de la sauvegarde impossible : %s",
				    storage_errno_text(errno));
				return -1;
			}
			if (n == 0) {
				snprintf(err, errlen, "sauvegarde tronquée (fin du flux gzip absente)");
				return -1;
			}
			g->z.next_in = g->buf;
			g->z.avail_in = (uInt)n;
		}
		rc = inflate(&g->z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END) {
			g->end = true;
			break;
		}
		if (rc != Z_OK) {
			snprintf(err, errlen, "données compressées invalides (zlib : %s)",
			    g->z.msg ? g->z.msg : "erreur");
			return -1;
		}
	}
	return (long)(len - g->z.avail_out);
}

struct load_ctx {
	struct db *db;
	const struct backup_manifest *m;
	int current;                     /* table of the rows read, -1 before any header */
	bool seen[BACKUP__TABLES];
	long long rows[BACKUP__TABLES];
	char *batch;                     /* "[row,row,...": a JSON array being built */
	size_t batch_len, batch_cap;
	int batch_rows;
};

static int
batch_append(struct load_ctx *c, const char *s, size_t len, char *err, size_t errlen)
{
	if (c->batch_len + len + 2 > c->batch_cap) {
		size_t cap = c->batch_cap ? c->batch_cap : 65536;
		char *p;
		while (cap < c->batch_len + len + 2)
			cap *= 2;
		if ((p = realloc(c->batch, cap)) == NULL) {
			snprintf(err, errlen, "mémoire insuffisante");
			return -1;
		}
		c->batch = p;
		c->batch_cap = cap;
	}
	memcpy(c->batch + c->batch_len, s, len);
	c->batch_len += len;
	c->batch[c->batch_len] = '\0';
	return 0;
}

static int
batch_flush(struct load_ctx *c, char *err, size_t errlen)
{
	const char *params[1];

	if (c->batch_rows == 0)
		return 0;
	if (batch_append(c, "]", 1, err, errlen) != 0)
		return -1;
	params[0] = c->batch;
	if (!db_run(c->db, tables[c->current].load, params, "le chargement des lignes", err,
	    errlen))
		return -1;
	c->batch_len = 0;
	c->batch_rows = 0;
	return 0;
}

static int
load_header(struct load_ctx *c, const char *line, size_t len, char *err, size_t errlen)
{
	cJSON *h = json_parse_object(line, len);
	char name[64], columns[BACKUP_COLUMNS_MAX];
	long long format;
	int t, ret = -1;

	if (h == NULL || !json_count(h, "fiable_backup", &format) || format != BACKUP_FORMAT ||
	    !json_text(h, "table", name, sizeof(name)) ||
	    !json_text(h, "columns", columns, sizeof(columns))) {
		snprintf(err, errlen, "en-tête de table invalide dans la sauvegarde");
		goto fail;
	}
	for (t = 0; t < BACKUP__TABLES && strcmp(tables[t].name, name) != 0; t++)
		;
	if (t == BACKUP__TABLES || c->seen[t]) {
		snprintf(err, errlen, "table inattendue ou répétée dans la sauvegarde : %s", name);
		goto fail;
	}
	if (strcmp(columns, c->m->tables[t].columns) != 0) {
		snprintf(err, errlen, "table %s : colonnes différentes de celles du manifeste", name);
		goto fail;
	}
	if (batch_flush(c, err, errlen) != 0)
		goto fail;
	c->seen[t] = true;
	c->current = t;
	ret = 0;
fail:
	cJSON_Delete(h);
	return ret;
}

static int
load_line(struct load_ctx *c, const char *line, size_t len, char *err, size_t errlen)
{
	if (len >= sizeof(HEADER_PREFIX) - 1 &&
	    memcmp(line, HEADER_PREFIX, sizeof(HEADER_PREFIX) - 1) == 0)
		return load_header(c, line, len, err, errlen);
	if (c->current < 0 || len < 2 || line[0] != '{') {
		snprintf(err, errlen, "ligne de données inattendue dans la sauvegarde");
		return -1;
	}
	if (batch_append(c, c->batch_rows == 0 ? "[" : ",", 1, err, errlen) != 0 ||
	    batch_append(c, line, len, err, errlen) != 0)
		return -1;
	c->batch_rows++;
	c->rows[c->current]++;
	if (c->batch_rows >= BATCH_ROWS || c->batch_len >= BATCH_BYTES)
		return batch_flush(c, err, errlen);
	return 0;
}

/* Streams the payload: decompression, line splitting, batches of rows. */
static int
load_payload(struct load_ctx *c, int fd, char *err, size_t errlen)
{
	struct gz_in *g = NULL;
	unsigned char *out = NULL;
	char *line = NULL, extra;
	size_t line_len = 0, line_cap = 0;
	long n;
	int ret = -1;

	if ((g = calloc(1, sizeof(*g))) == NULL || (out = malloc(CHUNK)) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	g->fd = fd;
	if (inflateInit2(&g->z, 15 + 16) != Z_OK) {
		snprintf(err, errlen, "initialisation de zlib impossible");
		goto fail;
	}
	g->ready = true;
	if (lseek(fd, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "relecture de la sauvegarde impossible : %s",
		    storage_errno_text(errno));
		goto fail;
	}
	while ((n = gz_in_read(g, out, CHUNK, err, errlen)) > 0) {
		const unsigned char *p = out, *end = out + n;
		while (p < end) {
			const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t piece = (size_t)((nl ? nl : end) - p);
			if (line_len + piece + 1 > line_cap) {
				size_t cap = line_cap ? line_cap : 65536;
				char *q;
				while (cap < line_len + piece + 1)
					cap *= 2;
				if (cap > LINE_MAX_BYTES) {
					snprintf(err, errlen, "ligne trop longue dans la sauvegarde");
					goto fail;
				}
				if ((q = realloc(line, cap)) == NULL) {
					snprintf(err, errlen, "mémoire insuffisante");
					goto fail;
				}
				line = q;
				line_cap = cap;
			}
			memcpy(line + line_len, p, piece);
			line_len += piece;
			if (nl == NULL)
				break;
			if (load_line(c, line, line_len, err, errlen) != 0)
				goto fail;
			line_len = 0;
			p = nl + 1;
		}
	}
	if (n < 0)
		goto fail;
	/* Nothing may follow: no partial line, no second gzip member, no trailing bytes. */
	if (line_len != 0 || g->z.avail_in != 0 || read(fd, &extra, 1) != 0) {
		snprintf(err, errlen, "données inattendues à la fin de la sauvegarde");
		goto fail;
	}
	if (batch_flush(c, err, errlen) != 0)
		goto fail;
	ret = 0;
fail:
	if (g != NULL && g->ready)
		inflateEnd(&g->z);
	free(g);
	free(out);
	free(line);
	return ret;
}

int
backup_load(struct db *db, int fd, const struct backup_manifest *m, char *err, size_t errlen)
{
	struct load_ctx c;
	char columns[BACKUP_COLUMNS_MAX], sha[BACKUP_SHA256_HEX];
	EVP_MD_CTX *md = NULL;
	long long rows;
	int t, ret = -1;

	memset(&c, 0, sizeof(c));
	c.db = db;
	c.m = m;
	c.current = -1;
	if (session_settings(db, err, errlen) != 0)
		goto fail;
	for (t = 0; t < BACKUP__TABLES; t++) {
		if (table_columns(db, tables[t].name, columns, sizeof(columns), err, errlen) != 0)
			goto fail;
		if (strcmp(columns, m->tables[t].columns) != 0) {
			snprintf(err, errlen, "la table %s n'a plus les colonnes de la sauvegarde "
			    "(sauvegarde : %s ; base : %s)", tables[t].name, m->tables[t].columns,
			    columns);
			goto fail;
		}
		if (!db_run(db, tables[t].create_scratch, NULL, "la création d'une table temporaire",
		    err, errlen))
			goto fail;
	}
	if (load_payload(&c, fd, err, errlen) != 0)
		goto fail;
	if ((md = EVP_MD_CTX_new()) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	for (t = 0; t < BACKUP__TABLES; t++) {
		if (!c.seen[t]) {
			snprintf(err, errlen, "table %s absente de la sauvegarde", tables[t].name);
			goto fail;
		}
		if (c.rows[t] != m->tables[t].rows) {
			snprintf(err, errlen, "table %s : %lld ligne(s) dans la sauvegarde, %lld "
			    "annoncée(s) par le manifeste", tables[t].name, c.rows[t], m->tables[t].rows);
			goto fail;
		}
		/* Read back from the scratch table in the same form as the dump: equal hashes
		 * mean the database holds again, byte for byte, what was saved. */
		if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
		    each_row(db, tables[t].declare_scratch, tables[t].scratch, hash_row, md, &rows,
		    err, errlen) != 0)
			goto fail;
		digest_final_hex(md, sha);
		if (rows != m->tables[t].rows || strcmp(sha, m->tables[t].sha256) != 0) {
			snprintf(err, errlen, "table %s : le contenu restauré diffère du manifeste "
			    "(%lld ligne(s), SHA-256 %.12s… au lieu de %lld, %.12s…)", tables[t].name,
			    rows, sha, m->tables[t].rows, m->tables[t].sha256);
			goto fail;
		}
		log_info("vérification : %s : %lld ligne(s) restaurée(s), contenu identique",
		    tables[t].name, rows);
	}
	ret = 0;
fail:
	EVP_MD_CTX_free(md);
	free(c.batch);
	return ret;
}

/* --- Restoration into the live tables ------------------------------------------------------ */

int
backup_apply(struct db *db, long long backup_id, const char *email, const char *actor,
    struct backup_apply_result *r, FILE *report, char *err, size_t errlen)
{
	const char *lock[1] = { BACKUP_APPLY_LOCK_KEY };
	const char *params[3];
	char id[24];
	PGresult *res = NULL;
	long long n;
	int i, ret = -1;

	memset(r, 0, sizeof(*r));
	snprintf(id, sizeof(id), "%lld", backup_id);
	params[0] = email ? email : "";
	params[1] = id;
	params[2] = actor;
	if (!db_run(db, STMT_BACKUP_APPLY_LOCK, lock, "le verrou de restauration", err, errlen) ||
	    (r->considered = db_run_count(db, STMT_BACKUP_APPLY_CONSIDERED, params,
	    "le compte des réponses", err, errlen)) < 0)
		goto fail;
	if (email == NULL) {
		/* The audit rows first, and the sequences past them, so the rows this restoration
		 * appends never take an id the backup holds. */
		if ((r->slots_added = db_run_count(db, STMT_BACKUP_APPLY_SLOTS, NULL,
		    "l'ajout des créneaux", err, errlen)) < 0 ||
		    (r->audit_added = db_run_count(db, STMT_BACKUP_APPLY_AUDIT_ROWS, NULL,
		    "l'ajout au journal d'audit", err, errlen)) < 0 ||
		    (r->audit_collisions = db_run_count(db, STMT_BACKUP_APPLY_AUDIT_COLLISIONS, NULL,
		    "la comparaison du journal d'audit", err, errlen)) < 0 ||
		    db_run_rows(db, STMT_BACKUP_APPLY_SEQUENCES, NULL, "l'avance des séquences", err,
		    errlen) < 0)
			goto fail;
	}
	if ((n = db_run_rows(db, STMT_BACKUP_APPLY_WITHDRAWN, params,
	    "la restauration des réponses retirées", err, errlen)) < 0)
		goto fail;
	r->updated += n;
	if ((n = db_run_rows(db, STMT_BACKUP_APPLY_ACTIVE, params,
	    "la restauration des réponses actives", err, errlen)) < 0)
		goto fail;
	r->updated += n;
	if ((r->inserted = db_run_rows(db, STMT_BACKUP_APPLY_INSERT, params,
	    "la réinsertion des réponses", err, errlen)) < 0)
		goto fail;
	res = db_exec(db, STMT_BACKUP_APPLY_CONFLICTS, params);
	if (!db_ok(res)) {
		db_failure_message(db, res, "la recherche des conflits", err, errlen);
		goto fail;
	}
	r->conflicts = PQntuples(res);
	for (i = 0; i < PQntuples(res); i++) {
		const char *holder = PQgetvalue(res, i, 2);
		if (holder[0] != '\0')
			fprintf(report, "conflit : la réponse %s (%s) n'est pas restaurée : cette "
			    "adresse est active dans la réponse %s, laissée telle quelle\n",
			    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), holder);
		else
			fprintf(report, "conflit : la réponse %s (%s) n'est pas restaurée : son jeton "
			    "de modification est déjà pris par une autre réponse\n",
			    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	}
	PQclear(res);
	res = NULL;
	if (db_run_rows(db, STMT_BACKUP_APPLY_SEQUENCES, NULL, "l'avance des séquences", err,
	    errlen) < 0)
		goto fail;
	ret = 0;
fail:
	PQclear(res);
	return ret;
}

/* --- Retention ----------------------------------------------------------------------------- */

static long long
floor_div(long long a, long long b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ISO weeks start on Monday; 1970-01-01 was a Thursday, three days after one. */
static long long
week_of(long long t)
{
	return floor_div(floor_div(t, 86400) + 3, 7);
}

static long long
month_of(long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return 0;
	return (long long)(tm.tm_year + 1900) * 12 + tm.tm_mon;
}

void
backup_retention(const struct retention_policy *p, long long now,
    struct retention_item *items, size_t n)
{
	long long this_week = week_of(now), this_month = month_of(now);
	long long last_week = 0, last_month = 0;
	bool have_week = false, have_month = false;
	size_t i;

	for (i = 0; i < n; i++) {
		struct retention_item *it = &items[i];
		long long w = week_of(it->time), mo = month_of(it->time);

		it->reasons = 0;
		if ((long long)i < p->min || i == 0)
			it->reasons |= RETAIN_MIN;
		if (now - it->time < (long long)p->daily * 86400)
			it->reasons |= RETAIN_DAILY;
		/* Newest first: the first item of a week or a month is its newest. */
		if (!have_week || w != last_week) {
			if (w > this_week - p->weekly)
				it->reasons |= RETAIN_WEEKLY;
			last_week = w;
			have_week = true;
		}
		if (!have_month || mo != last_month) {
			if (mo > this_month - p->monthly)
				it->reasons |= RETAIN_MONTHLY;
			last_month = mo;
			have_month = true;
		}
	}
}
