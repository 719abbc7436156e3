/* backup_load.c — the proof that a backup restores: its payload loaded, in the caller's
 * transaction, into scratch tables like the live ones, then each table's row count and
 * SHA-256, read back from the scratch table, compared with the manifest. A backup of an
 * older format (backup.h) is loaded into today's columns and read back in its own. */
#include "backup_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZLIB_CONST
#include <zlib.h>

#include "buf.h"
#include "crypto.h"
#include "json.h"
#include "log.h"
#include "storage.h"

/* A row line longer than this is refused: the largest row (2,000 characters of comment and
 * its history) is far below. */
#define LINE_MAX_BYTES (32 * 1024 * 1024)
/* Rows sent to the database in one INSERT when loading: bounded in rows and in bytes. */
#define BATCH_ROWS 1000
#define BATCH_BYTES (4 * 1024 * 1024)
#define HEADER_PREFIX "{\"fiable_backup\":"

struct gz_in {
	z_stream z;
	bool ready, end;
	int fd;
	unsigned char buf[BACKUP_CHUNK];
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
			ssize_t n = read(g->fd, g->buf, BACKUP_CHUNK);
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
	bool v1[BACKUP__TABLES];         /* read in the columns of format 1 (v1_columns) */
	int current;                     /* table of the rows read, -1 before any header */
	bool seen[BACKUP__TABLES];
	long long rows[BACKUP__TABLES];
	struct buf batch;                /* "[row,row,...": a JSON array being built */
	int batch_rows;
};

static int
batch_append(struct load_ctx *c, const char *s, size_t len, char *err, size_t errlen)
{
	buf_add(&c->batch, s, len);
	if (c->batch.failed) {
		snprintf(err, errlen, "mémoire insuffisante");
		return -1;
	}
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
	params[0] = c->batch.p;
	if (!db_run(c->db, c->v1[c->current] ? backup_tables[c->current].v1_load :
	    backup_tables[c->current].load, params, "le chargement des lignes", err, errlen))
		return -1;
	buf_clear(&c->batch);
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

	if (h == NULL || !backup_json_count(h, "fiable_backup", &format) ||
	    format != c->m->format || !backup_json_text(h, "table", name, sizeof(name)) ||
	    !backup_json_text(h, "columns", columns, sizeof(columns))) {
		snprintf(err, errlen, "en-tête de table invalide dans la sauvegarde");
		goto fail;
	}
	for (t = 0; t < BACKUP__TABLES && strcmp(backup_tables[t].name, name) != 0; t++)
		;
	if (t == BACKUP__TABLES || c->seen[t] ||
	    !backup_table_in_format((enum backup_table)t, c->m->format)) {
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
	if (c->batch_rows >= BATCH_ROWS || c->batch.len >= BATCH_BYTES)
		return batch_flush(c, err, errlen);
	return 0;
}

/* Streams the payload: decompression, line splitting, batches of rows. */
static int
load_payload(struct load_ctx *c, int fd, char *err, size_t errlen)
{
	struct gz_in *g = NULL;
	unsigned char *out = NULL;
	struct buf line = BUF_INIT;
	char extra;
	long n;
	int ret = -1;

	if ((g = calloc(1, sizeof(*g))) == NULL || (out = malloc(BACKUP_CHUNK)) == NULL) {
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
	while ((n = gz_in_read(g, out, BACKUP_CHUNK, err, errlen)) > 0) {
		const unsigned char *p = out, *end = out + n;
		while (p < end) {
			const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t piece = (size_t)((nl ? nl : end) - p);
			if (line.len + piece + 1 > LINE_MAX_BYTES) {
				snprintf(err, errlen, "ligne trop longue dans la sauvegarde");
				goto fail;
			}
			buf_add(&line, p, piece);
			if (line.failed) {
				snprintf(err, errlen, "mémoire insuffisante");
				goto fail;
			}
			if (nl == NULL)
				break;
			if (load_line(c, line.p, line.len, err, errlen) != 0)
				goto fail;
			buf_clear(&line);
			p = nl + 1;
		}
	}
	if (n < 0)
		goto fail;
	/* Nothing may follow: no partial line, no second gzip member, no trailing bytes. */
	if (line.len != 0 || g->z.avail_in != 0 || read(fd, &extra, 1) != 0) {
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
	buf_free(&line);
	return ret;
}

/* Read back from a scratch table: only hashed. */
static int
hash_row(const char *line, size_t len, void *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	backup_hash_line(arg, line, len);
	return 0;
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
	if (backup_session_settings(db, err, errlen) != 0)
		goto fail;
	/* Every scratch table is created, even for a table the backup's format lacks (it stays
	 * empty), so that the restoration reads the same tables whatever the format. */
	for (t = 0; t < BACKUP__TABLES; t++) {
		const struct backup_table_def *def = &backup_tables[t];
		if (backup_table_in_format((enum backup_table)t, m->format)) {
			if (backup_table_columns(db, def->name, columns, sizeof(columns), err,
			    errlen) != 0)
				goto fail;
			c.v1[t] = m->format == 1 && def->v1_columns != NULL;
			if (strcmp(c.v1[t] ? def->v1_columns : columns, m->tables[t].columns) != 0) {
				snprintf(err, errlen, "la table %s n'a plus les colonnes de la "
				    "sauvegarde (sauvegarde, format %d : %s ; base : %s)", def->name,
				    m->format, m->tables[t].columns, c.v1[t] ? def->v1_columns :
				    columns);
				goto fail;
			}
		}
		if (!db_run(db, def->create_scratch, NULL, "la création d'une table temporaire",
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
		const struct backup_table_def *def = &backup_tables[t];
		if (!backup_table_in_format((enum backup_table)t, m->format))
			continue;
		if (!c.seen[t]) {
			snprintf(err, errlen, "table %s absente de la sauvegarde", def->name);
			goto fail;
		}
		if (c.rows[t] != m->tables[t].rows) {
			snprintf(err, errlen, "table %s : %lld ligne(s) dans la sauvegarde, %lld "
			    "annoncée(s) par le manifeste", def->name, c.rows[t],
			    m->tables[t].rows);
			goto fail;
		}
		/* Read back from the scratch table in the same form as the dump: equal hashes
		 * mean the database holds again, byte for byte, what was saved. */
		if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
		    backup_each_row(db, c.v1[t] ? def->v1_declare_scratch : def->declare_scratch,
		    def->scratch, hash_row, md, &rows, err, errlen) != 0)
			goto fail;
		digest_final_hex(md, sha);
		if (rows != m->tables[t].rows || strcmp(sha, m->tables[t].sha256) != 0) {
			snprintf(err, errlen, "table %s : le contenu restauré diffère du manifeste "
			    "(%lld ligne(s), SHA-256 %.12s… au lieu de %lld, %.12s…)", def->name,
			    rows, sha, m->tables[t].rows, m->tables[t].sha256);
			goto fail;
		}
		log_info("vérification : %s : %lld ligne(s) restaurée(s), contenu identique",
		    def->name, rows);
	}
	ret = 0;
fail:
	EVP_MD_CTX_free(md);
	buf_free(&c.batch);
	return ret;
}
