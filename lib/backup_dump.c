/* backup_dump.c — the backup itself: every table read in one REPEATABLE READ READ ONLY
 * snapshot through a cursor and written as gzip-compressed JSON lines, hashed as they are
 * written; fills the manifest (backup.h). */
#include "backup_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

#include "crypto.h"
#include "json.h"
#include "log.h"
#include "storage.h"

/* zlib level 3: on these JSON lines, twice as fast as the default 6 for about 10% more
 * bytes (measured on 100,000 submissions). */
#define GZIP_LEVEL 3

struct gz_out {
	z_stream z;
	bool ready;
	int fd;
	EVP_MD_CTX *md;         /* of the compressed bytes, as stored */
	long long size;
	unsigned char buf[BACKUP_CHUNK];
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
		g->z.avail_out = BACKUP_CHUNK;
		rc = deflate(&g->z, flush);
		if (rc == Z_STREAM_ERROR) {
			snprintf(err, errlen, "erreur de compression");
			return -1;
		}
		have = BACKUP_CHUNK - g->z.avail_out;
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

struct dump_ctx {
	struct gz_out *gz;
	EVP_MD_CTX *md;         /* of the current table's lines */
};

static int
dump_row(const char *line, size_t len, void *arg, char *err, size_t errlen)
{
	struct dump_ctx *d = arg;

	backup_hash_line(d->md, line, len);
	if (gz_out_write(d->gz, line, len, Z_NO_FLUSH, err, errlen) != 0 ||
	    gz_out_write(d->gz, "\n", 1, Z_NO_FLUSH, err, errlen) != 0)
		return -1;
	return 0;
}

static char *
header_line(enum backup_table t, const char *columns)
{
	cJSON *h = cJSON_CreateObject();
	char *text = NULL;

	if (h != NULL && cJSON_AddNumberToObject(h, "fiable_backup", BACKUP_FORMAT) != NULL &&
	    cJSON_AddStringToObject(h, "table", backup_tables[t].name) != NULL &&
	    cJSON_AddStringToObject(h, "columns", columns) != NULL)
		text = json_print(h);
	cJSON_Delete(h);
	return text;
}

static void
copy_field(char *out, size_t outlen, const PGresult *res, const char *column)
{
	snprintf(out, outlen, "%s", db_text_or(res, 0, column, ""));
}

int
backup_dump(struct db *db, int fd, struct backup_manifest *m, char *err, size_t errlen)
{
	struct gz_out gz;
	struct dump_ctx d;
	PGresult *res = NULL;
	char *header = NULL;
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
	    backup_session_settings(db, err, errlen) != 0)
		goto fail;
	res = db_exec(db, STMT_BACKUP_SNAPSHOT_INFO, NULL);
	if (!db_ok(res) || PQntuples(res) != 1) {
		db_failure_message(db, res, "la lecture de l'instantané", err, errlen);
		goto fail;
	}
	copy_field(m->snapshot_at, sizeof(m->snapshot_at), res, "snapshot_at");
	if (!db_int(res, 0, "audit_last_id", 0, LLONG_MAX, &m->audit_last_id)) {
		snprintf(err, errlen, "dernier id du journal d'audit illisible");
		goto fail;
	}
	copy_field(m->schema_version, sizeof(m->schema_version), res, "schema_version");
	if (!db_int(res, 0, "chain_seq", 0, LLONG_MAX, &m->audit_chain_seq)) {
		snprintf(err, errlen, "tête de la chaîne d'audit illisible");
		goto fail;
	}
	copy_field(m->audit_chain_hash, sizeof(m->audit_chain_hash), res, "chain_hash");
	PQclear(res);
	res = NULL;

	for (t = 0; t < BACKUP__TABLES; t++) {
		const struct backup_table_def *def = &backup_tables[t];
		struct backup_table_sum *sum = &m->tables[t];
		if (backup_table_columns(db, def->name, sum->columns, sizeof(sum->columns), err,
		    errlen) != 0)
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
		    backup_each_row(db, def->declare, def->name, dump_row, &d, &sum->rows, err,
		    errlen) != 0)
			goto fail;
		digest_final_hex(d.md, sum->sha256);
		log_info("sauvegarde : %s : %lld ligne(s)", def->name, sum->rows);
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
