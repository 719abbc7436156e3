#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "crypto.h"
#include "idempotency.h"
#include "log.h"

/* The spool: metrics.spool receives appends (one JSON object a line, each written with one
 * write() under a lock); an ingester renames it to metrics-*.ingest under the same lock, so
 * a writer that opened the old name notices (its inode is no longer the name's) and opens
 * the new file. Ingested files are removed once their lines are in the database. */
#define SPOOL_FILE "metrics.spool"
#define SPOOL_INGEST_SUFFIX ".ingest"
#define SPOOL_MAX_BYTES (64L * 1024 * 1024)   /* beyond that, new failures are only logged */
#define SPOOL_LINE_MAX 2048
#define SPOOL_BATCH 500                       /* lines per ingestion statement */
/* Spooled times accepted at ingestion: not before 2020, not more than a day ahead. */
#define SPOOL_T_MIN 1577836800.0
#define SPOOL_T_AHEAD 86400.0

/* Shorter than PATH_MAX, so a file name always fits after it. */
#define SPOOL_DIR_MAX 3072
static char spool_dir[SPOOL_DIR_MAX];

/* Read metrics in batches (metrics_batch_enable): one worker serves one request at a time,
 * so process-wide state without locking. */
static bool batch_on;
static cJSON *held;                  /* the batch: spool lines' objects, NULL when empty */
static int batch_len;
static uint64_t batch_since_us;      /* http_now_us() when the first one was added */
static char batch_prefix[25];        /* the random part of its lines' ids */

void
metrics_configure(const char *dir)
{
	spool_dir[0] = '\0';
	if (dir == NULL || dir[0] == '\0')
		return;
	if (strlen(dir) >= sizeof(spool_dir)) {
		log_error("%s: FIABLE_SPOOL_DIR trop long : file durable désactivée", __func__);
		return;
	}
	snprintf(spool_dir, sizeof(spool_dir), "%s", dir);
}

/* --- Fiable-Client ----------------------------------------------------------------------- */

/* A decimal integer of at most 18 digits (no sign, no spaces) within [min, max]. */
static bool
parse_integer(const char *s, size_t len, long long min, long long max, long long *out)
{
	long long v = 0;
	size_t i;

	if (len == 0 || len > 18)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* A decimal number "123" or "12.345" (at most 24 characters) within [0, max]. */
static bool
parse_decimal(const char *s, size_t len, double max, double *out)
{
	char buf[25];
	size_t i, dots = 0;
	char *end;
	double v;

	if (len == 0 || len >= sizeof(buf) || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.')
			dots++;
		else if (s[i] < '0' || s[i] > '9')
			return false;
	}
	if (dots > 1)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	if (errno != 0 || *end != '\0' || !(v >= 0.0 && v <= max))
		return false;
	*out = v;
	return true;
}

void
metrics_parse_client(const char *value, struct client_facts *out)
{
	const char *p, *end;
	long long n;
	double d;

	out->from_queue = -1;
	out->queued_ms = -1;
	out->queue_length = -1;
	out->attempt = -1;
	out->autosave_ms = -1.0;
	if (value == NULL || strnlen(value, CLIENT_HEADER_MAX + 1) > CLIENT_HEADER_MAX)
		return;
	for (p = value; *p != '\0'; p = *end == ';' ? end + 1 : end) {
		const char *key, *eq, *val;
		size_t klen, vlen;

		end = p + strcspn(p, ";");
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL)
			continue;
		key = p;
		klen = (size_t)(eq - p);
		while (klen > 0 && (key[klen - 1] == ' ' || key[klen - 1] == '\t'))
			klen--;
		val = eq + 1;
		while (val < end && (*val == ' ' || *val == '\t'))
			val++;
		vlen = (size_t)(end - val);
		while (vlen > 0 && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t'))
			vlen--;

#define KEY_IS(name) (klen == sizeof(name) - 1 && memcmp(key, name, klen) == 0)
		if (KEY_IS("from_queue")) {
			if (out->from_queue < 0 && parse_integer(val, vlen, 0, 1, &n))
				out->from_queue = (int)n;
		} else if (KEY_IS("queued_ms")) {
			if (out->queued_ms < 0 && parse_integer(val, vlen, 0, CLIENT_QUEUED_MS_MAX, &n))
				out->queued_ms = n;
		} else if (KEY_IS("queue_length")) {
			if (out->queue_length < 0 &&
			    parse_integer(val, vlen, 0, CLIENT_QUEUE_LENGTH_MAX, &n))
				out->queue_length = (long)n;
		} else if (KEY_IS("attempt")) {
			if (out->attempt < 0 && parse_integer(val, vlen, 1, CLIENT_ATTEMPT_MAX, &n))
				out->attempt = (long)n;
		} else if (KEY_IS("autosave_ms")) {
			if (out->autosave_ms < 0 && parse_decimal(val, vlen, CLIENT_AUTOSAVE_MS_MAX, &d))
				out->autosave_ms = d;
		}
#undef KEY_IS
	}
}

/* --- Recording --------------------------------------------------------------------------- */

/* The text parameters of one metric; NULL members are SQL NULLs. */
struct metric_params {
	char status[8], duration[24], method[16], key[37], key_hash[IDEM_KEY_HASH_LEN];
	char queued_ms[24], queue_length[24], attempt[24], autosave_ms[32];
	const char *v[10];
};

static void
metric_params_fill(struct metric_params *m, const struct http_request *req,
    const char *endpoint, int status, uint64_t duration_us)
{
	struct client_facts f;

	metrics_parse_client(req->fiable_client, &f);
	if (duration_us > 2147483647u)
		duration_us = 2147483647u;
	snprintf(m->status, sizeof(m->status), "%d", status);
	snprintf(m->duration, sizeof(m->duration), "%llu", (unsigned long long)duration_us);
	http_sanitize(m->method, sizeof(m->method), req->method);
	m->v[0] = endpoint;
	m->v[1] = m->method;
	m->v[2] = m->status;
	m->v[3] = m->duration;
	m->v[4] = f.from_queue < 0 ? NULL : f.from_queue ? "true" : "false";
	m->v[5] = NULL;
	if (f.queued_ms >= 0) {
		snprintf(m->queued_ms, sizeof(m->queued_ms), "%lld", f.queued_ms);
		m->v[5] = m->queued_ms;
	}
	m->v[6] = NULL;
	if (f.queue_length >= 0) {
		snprintf(m->queue_length, sizeof(m->queue_length), "%ld", f.queue_length);
		m->v[6] = m->queue_length;
	}
	m->v[7] = NULL;
	if (f.attempt >= 0) {
		snprintf(m->attempt, sizeof(m->attempt), "%ld", f.attempt);
		m->v[7] = m->attempt;
	}
	m->v[8] = NULL;
	if (f.autosave_ms >= 0) {
		snprintf(m->autosave_ms, sizeof(m->autosave_ms), "%.3f", f.autosave_ms);
		m->v[8] = m->autosave_ms;
	}
	/* The key is a secret: only its hash, which idempotency_keys is found by, is kept. */
	m->v[9] = NULL;
	if (http_idempotency_key(req, m->key)) {
		idempotency_key_hash(m->key, m->key_hash);
		m->v[9] = m->key_hash;
	}
}

/* One metric with statement s (STMT_METRIC_RECORD_CLIENT or its no-flush twin). */
static bool
record_with(struct db *db, enum stmt s, const struct http_request *req, const char *endpoint,
    int status)
{
	struct metric_params m;
	PGresult *res;
	bool ok;

	metric_params_fill(&m, req, endpoint, status, http_now_us() - req->start_us);
	res = db_exec(db, s, m.v);
	ok = db_ok(res);
	PQclear(res);
	return ok;
}

bool
metrics_record(struct db *db, const struct http_request *req, const char *endpoint, int status)
{
	return record_with(db, STMT_METRIC_RECORD_CLIENT, req, endpoint, status);
}

/* True when metrics.spool exists and is not empty: one stat() per request. */
static bool
spool_has_appends(void)
{
	char path[PATH_MAX];
	struct stat st;

	if (spool_dir[0] == '\0')
		return false;
	snprintf(path, sizeof(path), "%s/" SPOOL_FILE, spool_dir);
	return stat(path, &st) == 0 && st.st_size > 0;
}

static bool batch_add(const struct http_request *req, const char *endpoint, int status);

void
metrics_record_outside(struct db *db, const struct http_request *req, const char *endpoint,
    int status)
{
	if (batch_on && batch_add(req, endpoint, status))
		return;	/* sent with the batch (metrics_batch_flush) */
	if (!db_lost(db) && db_ensure(db)) {
		/* Alone in its transaction, the metric commits without waiting for a WAL flush
		 * (issue 18); inside a caller's transaction, that transaction's COMMIT decides. */
		if (record_with(db, db_in_transaction(db) ? STMT_METRIC_RECORD_CLIENT :
		    STMT_METRIC_RECORD_NO_FLUSH, req, endpoint, status)) {
			/* The database is back: what the outage spooled goes in now. */
			if (spool_has_appends())
				(void)metrics_spool_ingest(db);
			return;
		}
		if (!db_lost(db)) {
			log_warn("métrique non enregistrée : %s %s %d", req->method, endpoint, status);
			return;
		}
	}
	if (metrics_spool_append(req, endpoint, status) != 0)
		log_warn("métrique perdue (base indisponible, file durable inutilisable) : %s %s %d",
		    req->method, endpoint, status);
}

/* --- The spool: writing ----------------------------------------------------------------- */

/* Takes (wait) or tries (no wait) the write lock of a whole file. */
static int
lock_file(int fd, bool wait)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl) != 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* Opens metrics.spool for appending, locked, and makes sure it is still the file under
 * that name (an ingester may have renamed it between open and lock). */
static int
spool_open_locked(void)
{
	char path[PATH_MAX];
	struct stat a, b;
	int fd, tries;

	snprintf(path, sizeof(path), "%s/" SPOOL_FILE, spool_dir);
	for (tries = 0; tries < 5; tries++) {
		if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0)
			return -1;
		if (lock_file(fd, true) == 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

/* Wall-clock time (seconds since the epoch) when the request arrived. */
static double
arrival_time(const struct http_request *req)
{
	struct timespec ts;
	double now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	return now - (double)(http_now_us() - req->start_us) / 1e6;
}

/* One metric as a spool line's object, with id (32 hex digits: what makes its ingestion
 * happen once however often it is sent; NULL: a fresh random one). NULL when out of memory
 * or randomness. */
static cJSON *
metric_line(const struct http_request *req, const char *endpoint, int status, const char *id)
{
	struct metric_params m;
	unsigned char rnd[16];
	char fresh[33];
	cJSON *o;
	static const char *const names[] = { NULL, NULL, NULL, NULL, "from_queue", "queued_ms",
	    "queue_length", "attempt", "autosave_ms", "idempotency_key_sha256" };
	size_t i;

	metric_params_fill(&m, req, endpoint, status, http_now_us() - req->start_us);
	if (id == NULL) {
		if (random_bytes(rnd, sizeof(rnd)) != 0)
			return NULL;
		hex_encode(rnd, sizeof(rnd), fresh);
		id = fresh;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddNumberToObject(o, "t", arrival_time(req));
	cJSON_AddStringToObject(o, "endpoint", endpoint);
	cJSON_AddStringToObject(o, "method", m.method);
	cJSON_AddNumberToObject(o, "status", status);
	/* The numbers were printed here by metric_params_fill (digits, a point): they go into
	 * the line as they are, never parsed back. */
	cJSON_AddRawToObject(o, "duration_us", m.duration);
	for (i = 4; i < sizeof(names) / sizeof(names[0]); i++) {
		if (m.v[i] == NULL)
			continue;
		if (i == 4)
			cJSON_AddBoolToObject(o, names[i], m.v[i][0] == 't');
		else if (i == 9)
			cJSON_AddStringToObject(o, names[i], m.v[i]);
		else
			cJSON_AddRawToObject(o, names[i], m.v[i]);
	}
	return o;
}

/* Appends whole lines (each ending in a newline) to the spool with one write() and one
 * fdatasync(). 0, or -1 (logged). */
static int
spool_write(const char *lines, size_t len)
{
	struct stat st;
	int fd, rc = -1;

	if ((fd = spool_open_locked()) < 0) {
		log_warn("%s: %s/" SPOOL_FILE " : %s", __func__, spool_dir, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || st.st_size + (off_t)len > SPOOL_MAX_BYTES) {
		log_warn("%s: file durable pleine (%ld octets au plus)", __func__, SPOOL_MAX_BYTES);
		goto fail;
	}
	/* One write of whole lines; a short write (disk full) is undone. */
	if (write(fd, lines, len) != (ssize_t)len) {
		log_warn("%s: écriture impossible : %s", __func__, strerror(errno));
		if (ftruncate(fd, st.st_size) != 0)
			log_warn("%s: ligne incomplète laissée dans la file", __func__);
		goto fail;
	}
	if (fdatasync(fd) != 0)
		log_warn("%s: fdatasync : %s", __func__, strerror(errno));
	rc = 0;
fail:
	close(fd);
	return rc;
}

int
metrics_spool_append(const struct http_request *req, const char *endpoint, int status)
{
	char *line = NULL;
	cJSON *o;
	size_t len;
	int rc = -1;

	if (spool_dir[0] == '\0')
		return -1;
	if ((o = metric_line(req, endpoint, status, NULL)) == NULL ||
	    (line = cJSON_PrintUnformatted(o)) == NULL)
		goto fail;
	len = strlen(line);
	if (len + 1 > SPOOL_LINE_MAX)
		goto fail;
	line[len] = '\n';	/* replaces the NUL; written with its length */
	rc = spool_write(line, len + 1);
fail:
	cJSON_free(line);
	cJSON_Delete(o);
	return rc;
}

/* --- The spool: ingesting ---------------------------------------------------------------- */

static bool
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0;
}

/* Renames metrics.spool to a fresh metrics-*.ingest name, under the writers' lock. */
static void
spool_rotate(void)
{
	char path[PATH_MAX], dest[PATH_MAX];
	unsigned char rnd[8];
	char hex[17];
	struct stat a, b;
	int fd;

	snprintf(path, sizeof(path), "%s/" SPOOL_FILE, spool_dir);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return;
	if (lock_file(fd, true) != 0 || fstat(fd, &a) != 0 || stat(path, &b) != 0 ||
	    a.st_ino != b.st_ino || a.st_size == 0 || random_bytes(rnd, sizeof(rnd)) != 0) {
		close(fd);
		return;
	}
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(dest, sizeof(dest), "%s/metrics-%ld-%s" SPOOL_INGEST_SUFFIX, spool_dir,
	    (long)time(NULL), hex);
	if (rename(path, dest) != 0)
		log_warn("%s: %s : %s", __func__, path, strerror(errno));
	close(fd);
}

/* A spooled line checked and copied into a clean object for metriques_ingerer(). NULL when
 * the line is malformed. */
static cJSON *
spool_line_checked(const char *line, size_t len, double now)
{
	static const struct { const char *name; double min, max; } numbers[] = {
		{ "status", 100, 599 }, { "duration_us", 0, 2147483647.0 },
		{ "queued_ms", 0, (double)CLIENT_QUEUED_MS_MAX },
		{ "queue_length", 0, CLIENT_QUEUE_LENGTH_MAX },
		{ "attempt", 1, CLIENT_ATTEMPT_MAX }, { "autosave_ms", 0, CLIENT_AUTOSAVE_MS_MAX },
	};
	cJSON *in = cJSON_ParseWithLength(line, len), *out = NULL;
	const cJSON *v;
	char key[37], key_hash[IDEM_KEY_HASH_LEN];
	size_t i;

	if (!cJSON_IsObject(in) || (out = cJSON_CreateObject()) == NULL)
		goto bad;
	v = cJSON_GetObjectItemCaseSensitive(in, "id");
	if (!cJSON_IsString(v) || strlen(v->valuestring) != 32 ||
	    strspn(v->valuestring, "0123456789abcdef") != 32)
		goto bad;
	cJSON_AddStringToObject(out, "id", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(in, "t");
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= SPOOL_T_MIN &&
	    v->valuedouble <= now + SPOOL_T_AHEAD))
		goto bad;
	cJSON_AddNumberToObject(out, "t", v->valuedouble);
	v = cJSON_GetObjectItemCaseSensitive(in, "endpoint");
	if (!cJSON_IsString(v) || strlen(v->valuestring) > 64 ||
	    (strncmp(v->valuestring, "/api/", 5) != 0 &&
	    strcmp(v->valuestring, METRICS_ADMIN_AUTH_ENDPOINT) != 0))
		goto bad;
	cJSON_AddStringToObject(out, "endpoint", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(in, "method");
	if (!cJSON_IsString(v) || strlen(v->valuestring) > 15)
		goto bad;
	cJSON_AddStringToObject(out, "method", v->valuestring);
	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(in, numbers[i].name);
		if (v == NULL && i >= 2)
			continue;	/* the client facts are optional */
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= numbers[i].min &&
		    v->valuedouble <= numbers[i].max))
			goto bad;
		if (strcmp(numbers[i].name, "autosave_ms") != 0 &&
		    v->valuedouble != (double)(long long)v->valuedouble)
			goto bad;	/* a whole number was expected */
		cJSON_AddNumberToObject(out, numbers[i].name, v->valuedouble);
	}
	v = cJSON_GetObjectItemCaseSensitive(in, "from_queue");
	if (v != NULL) {
		if (!cJSON_IsBool(v))
			goto bad;
		cJSON_AddBoolToObject(out, "from_queue", cJSON_IsTrue(v));
	}
	v = cJSON_GetObjectItemCaseSensitive(in, "idempotency_key_sha256");
	if (v != NULL) {
		if (!cJSON_IsString(v) || strlen(v->valuestring) != 2 * SHA256_LEN ||
		    strspn(v->valuestring, "0123456789abcdef") != 2 * SHA256_LEN)
			goto bad;
		cJSON_AddStringToObject(out, "idempotency_key_sha256", v->valuestring);
	} else if ((v = cJSON_GetObjectItemCaseSensitive(in, "idempotency_key")) != NULL) {
		/* A line spooled before sql/0010 holds the key in clear: only its hash goes in. */
		if (!cJSON_IsString(v) || !http_parse_uuid(v->valuestring, key))
			goto bad;
		idempotency_key_hash(key, key_hash);
		cJSON_AddStringToObject(out, "idempotency_key_sha256", key_hash);
	}
	cJSON_Delete(in);
	return out;
bad:
	cJSON_Delete(in);
	cJSON_Delete(out);
	return NULL;
}

/* Sends one batch (a JSON array) to metriques_ingerer() with statement s (durable for the
 * spool's files, no flush for the read batches). Lines added, or -1. */
static long
spool_send_batch(struct db *db, enum stmt s, const cJSON *batch)
{
	char *text = cJSON_PrintUnformatted(batch);
	const char *params[1] = { text };
	PGresult *res;
	long long added;
	long n = -1;

	if (text == NULL)
		return -1;
	res = db_query(db, s, params);
	if (db_ok(res) && PQntuples(res) == 1 && db_int(res, 0, "ajoutees", 0, LONG_MAX, &added))
		n = (long)added;
	PQclear(res);
	cJSON_free(text);
	return n;
}

/* Ingests one .ingest file (skipped when another ingester holds it); removes it once every
 * line is in the database. Lines added, or -1. */
static long
spool_ingest_file(struct db *db, const char *path)
{
	struct stat st;
	struct timespec ts;
	char *data = NULL;
	cJSON *batch = NULL;
	size_t off = 0, got = 0;
	long added = 0, n, bad = 0;
	int fd;

	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return 0;
	if (lock_file(fd, false) != 0 || fstat(fd, &st) != 0 || st.st_nlink == 0) {
		close(fd);
		return 0;
	}
	if (st.st_size > SPOOL_MAX_BYTES || (data = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	while (off < got) {
		char *nl = memchr(data + off, '\n', got - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : got - off;
		cJSON *line;

		if (len > 0) {
			if ((line = spool_line_checked(data + off, len, (double)ts.tv_sec)) == NULL) {
				bad++;
			} else {
				if (batch == NULL && (batch = cJSON_CreateArray()) == NULL) {
					cJSON_Delete(line);
					goto fail;
				}
				cJSON_AddItemToArray(batch, line);
			}
		}
		off += len + 1;
		if (batch != NULL && (cJSON_GetArraySize(batch) >= SPOOL_BATCH || off >= got)) {
			if ((n = spool_send_batch(db, STMT_METRICS_INGEST, batch)) < 0)
				goto fail;
			added += n;
			cJSON_Delete(batch);
			batch = NULL;
		}
	}
	if (bad > 0)
		log_warn("%s: %ld ligne(s) illisible(s) écartée(s) de %s", __func__, bad, path);
	if (unlink(path) != 0)
		log_warn("%s: %s : %s", __func__, path, strerror(errno));
	free(data);
	close(fd);
	return added;
fail:
	cJSON_Delete(batch);
	free(data);
	close(fd);
	return -1;
}

long
metrics_spool_ingest(struct db *db)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	long total = 0, n;
	bool failed = false;

	if (spool_dir[0] == '\0')
		return 0;
	spool_rotate();
	if ((d = opendir(spool_dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "metrics-", 8) != 0 ||
		    !has_suffix(e->d_name, SPOOL_INGEST_SUFFIX))
			continue;
		snprintf(path, sizeof(path), "%s/%s", spool_dir, e->d_name);
		if ((n = spool_ingest_file(db, path)) < 0) {
			failed = true;
			break;
		}
		total += n;
	}
	closedir(d);
	if (total > 0)
		log_info("file durable : %ld métrique(s) ingérée(s)", total);
	return failed ? -1 : total;
}

int
metrics_spool_backlog(long long *lines, long long *bytes)
{
	char path[PATH_MAX], buf[8192];
	struct dirent *e;
	DIR *d;
	ssize_t r;
	int fd;

	*lines = 0;
	*bytes = 0;
	if (spool_dir[0] == '\0')
		return 0;
	if ((d = opendir(spool_dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, SPOOL_FILE) != 0 && !(strncmp(e->d_name, "metrics-", 8) == 0 &&
		    has_suffix(e->d_name, SPOOL_INGEST_SUFFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", spool_dir, e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		while ((r = read(fd, buf, sizeof(buf))) > 0) {
			ssize_t i;
			*bytes += r;
			for (i = 0; i < r; i++)
				*lines += buf[i] == '\n';
		}
		close(fd);
	}
	closedir(d);
	return 0;
}

/* --- Read metrics in batches ------------------------------------------------------------ */

void
metrics_batch_enable(void)
{
	batch_on = true;
}

bool
metrics_batch_enabled(void)
{
	return batch_on;
}

/* Keeps one metric in the batch, as a spool line with its id. False when out of memory
 * (the caller records it the usual way). */
static bool
batch_add(const struct http_request *req, const char *endpoint, int status)
{
	unsigned char rnd[12];
	char id[33];
	cJSON *line;

	/* The ids of a batch: 24 random hex digits drawn once for it, then its line number in
	 * 8 (one draw per batch, not one per request). */
	if (held == NULL) {
		if (random_bytes(rnd, sizeof(rnd)) != 0 || (held = cJSON_CreateArray()) == NULL)
			return false;
		hex_encode(rnd, sizeof(rnd), batch_prefix);
	}
	snprintf(id, sizeof(id), "%s%08x", batch_prefix, (unsigned)batch_len);
	if ((line = metric_line(req, endpoint, status, id)) == NULL)
		return false;
	if (!cJSON_AddItemToArray(held, line)) {
		cJSON_Delete(line);
		return false;
	}
	if (batch_len++ == 0)
		batch_since_us = http_now_us();
	return true;
}

int
metrics_batch_wait_ms(void)
{
	const uint64_t limit = (uint64_t)METRICS_BATCH_MS * 1000u;
	uint64_t age;

	if (batch_len == 0)
		return -1;
	age = http_now_us() - batch_since_us;
	if (batch_len >= METRICS_BATCH_MAX || age >= limit)
		return 0;
	return (int)((limit - age + 999) / 1000);
}

/* The batch written to the spool in one append: what a database outage leaves behind is
 * ingested later, as the failures of the other workers are. 0, or -1 (logged). */
static int
batch_spool(void)
{
	char *lines = NULL, *line;
	size_t len = 0, n;
	const cJSON *o;
	int rc = -1;

	if (spool_dir[0] == '\0')
		return -1;
	if ((lines = malloc((size_t)batch_len * SPOOL_LINE_MAX)) == NULL)
		return -1;
	cJSON_ArrayForEach(o, held) {
		if ((line = cJSON_PrintUnformatted(o)) == NULL)
			goto fail;
		n = strlen(line);
		if (n + 1 <= SPOOL_LINE_MAX) {
			memcpy(lines + len, line, n);
			lines[len + n] = '\n';
			len += n + 1;
		}
		cJSON_free(line);
	}
	rc = len > 0 ? spool_write(lines, len) : 0;
fail:
	free(lines);
	return rc;
}

void
metrics_batch_flush(struct db *db)
{
	if (batch_len == 0)
		return;
	if (!db_lost(db) && db_ensure(db)) {
		/* Sent again after a lost connection, the same ids add nothing. */
		if (spool_send_batch(db, STMT_METRICS_INGEST_NO_FLUSH, held) >= 0) {
			if (spool_has_appends())
				(void)metrics_spool_ingest(db);
			goto done;
		}
		if (!db_lost(db)) {
			log_warn("%s: %d métrique(s) de lecture non enregistrée(s) : %s", __func__,
			    batch_len, db_error(db));
			goto done;
		}
	}
	if (batch_spool() != 0)
		log_warn("%s: %d métrique(s) de lecture perdue(s) (base indisponible, file durable "
		    "inutilisable)", __func__, batch_len);
done:
	cJSON_Delete(held);
	held = NULL;
	batch_len = 0;
}

/* --- Reading --------------------------------------------------------------------------- */

cJSON *
metrics_summary(struct db *db, const char *window, const char *step, const char *tz)
{
	const char *params[3] = { window, step, tz };
	PGresult *res = db_query(db, STMT_METRICS_SUMMARY, params);
	cJSON *o = NULL;

	if (db_ok(res) && PQntuples(res) == 1 && !db_is_null(res, 0, "resume"))
		o = cJSON_Parse(db_text(res, 0, "resume"));
	PQclear(res);
	if (o != NULL)
		cJSON_AddNumberToObject(o, "echecs_authentification_admin",
		    metrics_admin_auth_failures(o));
	return o;
}

double
metrics_admin_auth_failures(const cJSON *summary)
{
	const cJSON *e, *errors = NULL;
	double n = 0;

	if (cJSON_IsObject(summary))
		errors = cJSON_GetObjectItemCaseSensitive(summary, "erreurs");
	if (!cJSON_IsArray(errors))
		return 0;
	cJSON_ArrayForEach(e, errors) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "statut");
		const cJSON *ad = cJSON_GetObjectItemCaseSensitive(e, "adresse");
		const cJSON *nb = cJSON_GetObjectItemCaseSensitive(e, "nombre");

		if (cJSON_IsNumber(st) && st->valuedouble == 401 && cJSON_IsString(ad) &&
		    strcmp(ad->valuestring, METRICS_ADMIN_AUTH_ENDPOINT) == 0 &&
		    cJSON_IsNumber(nb) && nb->valuedouble > 0)
			n += nb->valuedouble;
	}
	return n;
}

const cJSON *
metrics_json_path(const cJSON *root, const char *path)
{
	char name[64];
	const cJSON *cur = root;

	while (cur != NULL && *path != '\0') {
		size_t n = strcspn(path, ".");
		if (n == 0 || n >= sizeof(name))
			return NULL;
		memcpy(name, path, n);
		name[n] = '\0';
		cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, name) : NULL;
		path += n;
		if (*path == '.')
			path++;
	}
	return cur;
}
