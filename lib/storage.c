#include "storage.h"

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

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "curl_transient.h"
#include "log.h"

#define KEY_MAX 200
#define CHUNK (64 * 1024)
/* An error body is only read for its <Code> and <Message>; a listing page of 1,000 keys
 * is a few hundred kilobytes. */
#define ERROR_BODY_MAX (16 * 1024)
#define LIST_BODY_MAX (8 * 1024 * 1024)
#define CONNECT_TIMEOUT 10L
/* A transfer slower than 1 KiB/s for a minute is stalled: abort it (and maybe retry). */
#define LOW_SPEED_LIMIT 1024L
#define LOW_SPEED_TIME 60L
#define RETRY_DELAY_MAX_MS 30000L
/* SHA-256 of the empty string: the payload hash of GET, HEAD, DELETE and listings. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

enum storage_kind { STORAGE_LOCAL, STORAGE_S3 };

struct storage {
	enum storage_kind kind;
	char name[PATH_MAX + 16];
	int retries;
	long delay_ms;
	/* local */
	char dir[PATH_MAX];
	/* S3 */
	char endpoint[512];
	char bucket[64];
	char prefix[256];            /* "" or "a/b/" */
	char sigv4[96];              /* aws:amz:REGION:s3 */
	char *access_key;
	char *secret_key;
	CURL *curl;                  /* reused: keeps the connection alive between requests */
};

const char *
storage_name(const struct storage *st)
{
	return st->name;
}

bool
storage_key_valid(const char *key)
{
	size_t i;

	if (key == NULL || key[0] == '\0' || key[0] == '.')
		return false;
	for (i = 0; key[i] != '\0'; i++) {
		char c = key[i];
		if (i >= KEY_MAX || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* The errors a backup meets most, in French (strerror follows the C locale of cron). */
const char *
storage_errno_text(int e)
{
	switch (e) {
	case ENOSPC:
		return "espace disque insuffisant";
	case EDQUOT:
		return "quota disque dépassé";
	case EACCES:
	case EPERM:
		return "permission refusée";
	case EROFS:
		return "système de fichiers en lecture seule";
	case ENOENT:
		return "fichier ou dossier introuvable";
	case EIO:
		return "erreur d'entrée-sortie";
	case EFBIG:
		return "fichier trop grand";
	default:
		return strerror(e);
	}
}

int
fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The wait before attempt n + 1 (n >= 1): the configured delay doubled each time, capped,
 * with up to 20% of jitter so that runs failing together do not retry in step. */
static long
retry_delay(const struct storage *st, int n)
{
	unsigned char r[2] = { 0, 0 };
	long d = st->delay_ms;
	int i;

	for (i = 1; i < n && d < RETRY_DELAY_MAX_MS; i++)
		d *= 2;
	if (d > RETRY_DELAY_MAX_MS)
		d = RETRY_DELAY_MAX_MS;
	if (d > 0 && random_bytes(r, sizeof(r)) == 0)
		d += d * ((long)r[0] << 8 | r[1]) / 65535 / 5;
	return d;
}

/* --- Opening ------------------------------------------------------------------------------ */

static bool
bucket_valid(const char *b, size_t len)
{
	size_t i;

	if (len < 3 || len > 63)
		return false;
	for (i = 0; i < len; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') ||
		    b[i] == '-' || b[i] == '.'))
			return false;
	return true;
}

static int
open_local(struct storage *st, const char *path, char *err, size_t errlen)
{
	struct stat sb;
	size_t len = strlen(path);

	if (path[0] != '/') {
		snprintf(err, errlen, "BACKUP_DESTINATION : chemin absolu attendu (/dossier ou "
		    "file:///dossier), pas « %s »", path);
		return -1;
	}
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= sizeof(st->dir) - KEY_MAX - 16) {
		snprintf(err, errlen, "BACKUP_DESTINATION : chemin trop long");
		return -1;
	}
	memcpy(st->dir, path, len);
	st->dir[len] = '\0';
	if (stat(st->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "le dossier de sauvegarde %s n'existe pas (créez-le, avec des "
		    "droits réservés au compte de service)", st->dir);
		return -1;
	}
	st->kind = STORAGE_LOCAL;
	snprintf(st->name, sizeof(st->name), "file://%s", st->dir);
	return 0;
}

static int
open_s3(struct storage *st, const struct config *cfg, const char *rest, char *err,
    size_t errlen)
{
	const char *slash = strchr(rest, '/'), *prefix, *region = cfg->s3_region;
	size_t blen = slash ? (size_t)(slash - rest) : strlen(rest), plen, i;

	if (!bucket_valid(rest, blen)) {
		snprintf(err, errlen, "BACKUP_DESTINATION : nom de compartiment S3 invalide "
		    "(3 à 63 caractères parmi a-z, 0-9, « . » et « - »)");
		return -1;
	}
	memcpy(st->bucket, rest, blen);
	st->bucket[blen] = '\0';
	prefix = slash ? slash + 1 : "";
	plen = strlen(prefix);
	while (plen > 0 && prefix[plen - 1] == '/')
		plen--;
	if (plen + 2 > sizeof(st->prefix)) {
		snprintf(err, errlen, "BACKUP_DESTINATION : préfixe S3 trop long");
		return -1;
	}
	/* The prefix ends up in a signed path and query: the characters of a key, and slashes
	 * between non-empty parts. */
	for (i = 0; i < plen; i++) {
		char c = prefix[i];
		bool part_start = i == 0 || prefix[i - 1] == '/';
		if ((c == '/' && part_start) || (c == '.' && part_start) ||
		    !(c == '/' || c == '.' || c == '_' || c == '-' || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
			snprintf(err, errlen, "BACKUP_DESTINATION : préfixe S3 invalide (caractères "
			    "permis : A-Z a-z 0-9 . _ - et / entre deux parties)");
			return -1;
		}
	}
	memcpy(st->prefix, prefix, plen);
	if (plen > 0)
		st->prefix[plen++] = '/';
	st->prefix[plen] = '\0';
	snprintf(st->name, sizeof(st->name), "s3://%s%s%.*s", st->bucket, plen ? "/" : "",
	    (int)(plen ? plen - 1 : 0), st->prefix);

	for (i = 0; region[i] != '\0'; i++)
		if (!((region[i] >= 'a' && region[i] <= 'z') || (region[i] >= '0' &&
		    region[i] <= '9') || region[i] == '-') || i >= 32)
			break;
	if (i == 0 || region[i] != '\0') {
		snprintf(err, errlen, "S3_REGION invalide (par exemple eu-west-1)");
		return -1;
	}
	snprintf(st->sigv4, sizeof(st->sigv4), "aws:amz:%s:s3", region);
	if (cfg->s3_endpoint[0] != '\0') {
		size_t elen = strlen(cfg->s3_endpoint);
		while (elen > 0 && cfg->s3_endpoint[elen - 1] == '/')
			elen--;
		if ((strncmp(cfg->s3_endpoint, "http://", 7) != 0 &&
		    strncmp(cfg->s3_endpoint, "https://", 8) != 0) ||
		    elen >= sizeof(st->endpoint) || strpbrk(cfg->s3_endpoint, "?#@ ") != NULL) {
			snprintf(err, errlen, "S3_ENDPOINT doit être une adresse http(s)://hôte[:port]"
			    "[/chemin], sans identifiants ni requête");
			return -1;
		}
		memcpy(st->endpoint, cfg->s3_endpoint, elen);
		st->endpoint[elen] = '\0';
	} else {
		snprintf(st->endpoint, sizeof(st->endpoint), "https://s3.%s.amazonaws.com", region);
	}
	if (cfg->s3_access_key_id[0] == '\0' || cfg->s3_secret_access_key[0] == '\0') {
		snprintf(err, errlen, "S3_ACCESS_KEY_ID et S3_SECRET_ACCESS_KEY sont obligatoires "
		    "pour une destination s3://");
		return -1;
	}
	if ((st->access_key = strdup(cfg->s3_access_key_id)) == NULL ||
	    (st->secret_key = strdup(cfg->s3_secret_access_key)) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (st->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "initialisation de libcurl impossible");
		return -1;
	}
	st->kind = STORAGE_S3;
	return 0;
}

struct storage *
storage_open(const struct config *cfg, const char *destination, char *err, size_t errlen)
{
	struct storage *st;
	int rc;

	if (destination == NULL || destination[0] == '\0') {
		snprintf(err, errlen, "BACKUP_DESTINATION n'est pas configurée (dossier local ou "
		    "s3://compartiment/préfixe)");
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		return NULL;
	}
	st->retries = cfg->backup_retries > 0 ? cfg->backup_retries : 1;
	st->delay_ms = cfg->backup_retry_delay_ms;
	if (strncmp(destination, "s3://", 5) == 0)
		rc = open_s3(st, cfg, destination + 5, err, errlen);
	else if (strncmp(destination, "file://", 7) == 0)
		rc = open_local(st, destination + 7, err, errlen);
	else if (strstr(destination, "://") != NULL) {
		snprintf(err, errlen, "BACKUP_DESTINATION : schéma non pris en charge (file:// ou "
		    "s3://)");
		rc = -1;
	} else
		rc = open_local(st, destination, err, errlen);
	if (rc != 0) {
		storage_close(st);
		return NULL;
	}
	return st;
}

void
storage_close(struct storage *st)
{
	if (st == NULL)
		return;
	if (st->curl != NULL) {
		curl_easy_cleanup(st->curl);
		curl_global_cleanup();
	}
	if (st->secret_key != NULL) {
		OPENSSL_cleanse(st->secret_key, strlen(st->secret_key));
		free(st->secret_key);
	}
	free(st->access_key);
	free(st);
}

/* --- Local directory ------------------------------------------------------------------------ */

static void
local_path(const struct storage *st, const char *key, char *out, size_t len)
{
	/* st->dir leaves room for any valid key (storage_open): never truncated. */
	if (snprintf(out, len, "%s/%s", st->dir, key) >= (int)len)
		out[0] = '\0';
}

/* Writes a hidden temporary file beside the object, then renames it: a reader (or a crash)
 * never sees half an object under its final name. */
static enum storage_result
local_put(struct storage *st, const char *key, int fd, const unsigned char *mem,
    long long size, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	unsigned char *buf = NULL;
	long long off = 0;
	int out = -1, dir = -1;
	enum storage_result ret = STORAGE_FAILED;
	bool renamed = false;

	tmp[0] = '\0';
	/* st->dir leaves room for any valid key: never truncated. */
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", st->dir, key) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "chemin trop long");
		tmp[0] = '\0';
		goto fail;
	}
	local_path(st, key, path, sizeof(path));
	if ((out = mkstemp(tmp)) < 0) {
		snprintf(err, errlen, "création d'un fichier dans %s impossible : %s", st->dir,
		    storage_errno_text(errno));
		tmp[0] = '\0';
		goto fail;
	}
	(void)fchmod(out, 0640);
	if (mem == NULL && (buf = malloc(CHUNK)) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	while (off < size) {
		size_t want = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
		const unsigned char *p = mem ? mem + off : buf;
		if (mem == NULL) {
			ssize_t n = pread(fd, buf, want, (off_t)off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				snprintf(err, errlen, "lecture de la sauvegarde à copier impossible : %s",
				    n < 0 ? storage_errno_text(errno) : "fin de fichier inattendue");
				goto fail;
			}
			want = (size_t)n;
		}
		if (fd_write_all(out, p, want) != 0) {
			snprintf(err, errlen, "écriture de %s impossible : %s", path, storage_errno_text(errno));
			goto fail;
		}
		off += (long long)want;
	}
	if (fsync(out) != 0 || close(out) != 0) {
		out = -1;
		snprintf(err, errlen, "écriture de %s impossible : %s", path, storage_errno_text(errno));
		goto fail;
	}
	out = -1;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "renommage vers %s impossible : %s", path, storage_errno_text(errno));
		goto fail;
	}
	renamed = true;
	/* The new name itself must survive a crash. */
	if ((dir = open(st->dir, O_RDONLY | O_DIRECTORY)) < 0 || fsync(dir) != 0) {
		snprintf(err, errlen, "synchronisation de %s impossible : %s", st->dir,
		    storage_errno_text(errno));
		goto fail;
	}
	ret = STORAGE_OK;
fail:
	if (dir >= 0)
		close(dir);
	if (out >= 0)
		close(out);
	if (!renamed && tmp[0] != '\0')
		unlink(tmp);
	free(buf);
	return ret;
}

static enum storage_result
local_get(struct storage *st, const char *key, int fd, long long *size,
    char sha256_hex[STORAGE_SHA256_HEX], char *err, size_t errlen)
{
	char path[PATH_MAX];
	unsigned char *buf = NULL;
	EVP_MD_CTX *md = NULL;
	int in = -1;
	enum storage_result ret = STORAGE_FAILED;

	*size = 0;
	local_path(st, key, path, sizeof(path));
	if ((in = open(path, O_RDONLY)) < 0) {
		if (errno == ENOENT) {
			snprintf(err, errlen, "%s n'existe pas", path);
			ret = STORAGE_NOT_FOUND;
		} else {
			snprintf(err, errlen, "lecture de %s impossible : %s", path, storage_errno_text(errno));
		}
		goto fail;
	}
	if ((buf = malloc(CHUNK)) == NULL || (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	if (fd >= 0 && (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)) {
		snprintf(err, errlen, "fichier temporaire inutilisable : %s", storage_errno_text(errno));
		goto fail;
	}
	for (;;) {
		ssize_t n = read(in, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "lecture de %s impossible : %s", path, storage_errno_text(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (fd >= 0 && fd_write_all(fd, buf, (size_t)n) != 0) {
			snprintf(err, errlen, "écriture du fichier temporaire impossible : %s",
			    storage_errno_text(errno));
			goto fail;
		}
		EVP_DigestUpdate(md, buf, (size_t)n);
		*size += n;
	}
	digest_final_hex(md, sha256_hex);
	ret = STORAGE_OK;
fail:
	if (in >= 0)
		close(in);
	EVP_MD_CTX_free(md);
	free(buf);
	return ret;
}

static enum storage_result
local_head(struct storage *st, const char *key, long long *size, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat sb;

	local_path(st, key, path, sizeof(path));
	if (stat(path, &sb) != 0) {
		snprintf(err, errlen, "%s : %s", path, storage_errno_text(errno));
		return errno == ENOENT ? STORAGE_NOT_FOUND : STORAGE_FAILED;
	}
	*size = (long long)sb.st_size;
	return STORAGE_OK;
}

static enum storage_result
local_delete(struct storage *st, const char *key, char *err, size_t errlen)
{
	char path[PATH_MAX];

	local_path(st, key, path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "suppression de %s impossible : %s", path, storage_errno_text(errno));
		return STORAGE_FAILED;
	}
	return STORAGE_OK;
}

static enum storage_result
local_list(struct storage *st, void (*each)(const char *, long long, void *), void *arg,
    char *err, size_t errlen)
{
	struct dirent *e;
	struct stat sb;
	DIR *d;

	if ((d = opendir(st->dir)) == NULL) {
		snprintf(err, errlen, "lecture de %s impossible : %s", st->dir, storage_errno_text(errno));
		return STORAGE_FAILED;
	}
	while ((e = readdir(d)) != NULL) {
		if (!storage_key_valid(e->d_name) ||
		    fstatat(dirfd(d), e->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode))
			continue;
		each(e->d_name, (long long)sb.st_size, arg);
	}
	closedir(d);
	return STORAGE_OK;
}

/* --- S3 ------------------------------------------------------------------------------------- */

/* One request's data: what is uploaded, where the answer goes. */
struct transfer {
	CURL *curl;
	/* upload: from fd (pread) or from memory */
	int in_fd;
	const unsigned char *in_mem;
	long long in_size, in_off;
	int in_errno;
	/* successful body: into out_fd (if >= 0), hashed, counted */
	int out_fd;
	EVP_MD_CTX *md;
	long long out_size;
	int out_errno;
	/* kept body (error answers, listings), NUL-terminated */
	bool keep_body;
	char *body;
	size_t body_len, body_max;
	bool body_truncated;
};

static size_t
transfer_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct transfer *t = arg;
	size_t want = size * nitems;
	ssize_t n;

	if ((long long)want > t->in_size - t->in_off)
		want = (size_t)(t->in_size - t->in_off);
	if (want == 0)
		return 0;
	if (t->in_mem != NULL) {
		memcpy(buf, t->in_mem + t->in_off, want);
		t->in_off += (long long)want;
		return want;
	}
	do
		n = pread(t->in_fd, buf, want, (off_t)t->in_off);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		t->in_errno = n < 0 ? errno : EIO;
		return CURL_READFUNC_ABORT;
	}
	t->in_off += n;
	return (size_t)n;
}

/* libcurl rewinds the upload when it must send it again (a redirect, a reused connection
 * that was closed). */
static int
transfer_seek(void *arg, curl_off_t offset, int origin)
{
	struct transfer *t = arg;

	if (origin != SEEK_SET || offset < 0 || offset > t->in_size)
		return CURL_SEEKFUNC_FAIL;
	t->in_off = offset;
	return CURL_SEEKFUNC_OK;
}

static size_t
transfer_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb, keep;
	long code = 0;

	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300 && !t->keep_body) {
		if (t->out_fd >= 0 && fd_write_all(t->out_fd, ptr, n) != 0) {
			t->out_errno = errno;
			return 0;
		}
		if (t->md != NULL)
			EVP_DigestUpdate(t->md, ptr, n);
		t->out_size += (long long)n;
		return n;
	}
	keep = n;
	if (t->body_len + keep > t->body_max) {
		keep = t->body_max - t->body_len;
		t->body_truncated = true;
	}
	if (keep > 0) {
		char *p = realloc(t->body, t->body_len + keep + 1);
		if (p == NULL)
			return 0;
		t->body = p;
		memcpy(t->body + t->body_len, ptr, keep);
		t->body_len += keep;
		t->body[t->body_len] = '\0';
	}
	return n;
}

/* The text of the next <tag>...</tag> at or after *pos, copied into out; advances *pos.
 * Only for the few fields of S3's XML answers we read (Code, Message, Key, Size,
 * IsTruncated, NextContinuationToken), whose values hold no markup. */
static bool
xml_next(const char **pos, const char *end_limit, const char *tag, char *out, size_t outlen)
{
	char open[64], close[64];
	const char *a, *b;
	size_t len;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if ((a = strstr(*pos, open)) == NULL || (end_limit != NULL && a >= end_limit))
		return false;
	a += strlen(open);
	if ((b = strstr(a, close)) == NULL || (end_limit != NULL && b > end_limit))
		return false;
	len = (size_t)(b - a);
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, a, len);
	out[len] = '\0';
	*pos = b + strlen(close);
	return true;
}

/* Failures that may pass besides the network's. Not those of TLS verification or of
 * credentials, unlike the mail (whose messages wait hours in the outbox): a backup retries
 * within its run, too soon for anyone to have fixed them. */
static const CURLcode s3_transient[] = { CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_OK };

/* One attempt of a request. key NULL: the bucket itself (listing). query: already sorted
 * and percent-encoded (libcurl 7.88 signs it as given). payload_sha: hex SHA-256 of the
 * upload, NULL for none. */
static enum storage_result
s3_attempt(struct storage *st, const char *method, const char *key, const char *query,
    const char *payload_sha, struct transfer *t, long *status, bool *transient,
    char *err, size_t errlen)
{
	char url[1024], header[128], curl_err[CURL_ERROR_SIZE], code[128], message[512];
	struct curl_slist *headers = NULL;
	const char *p;
	CURL *c = st->curl;
	CURLcode rc;
	enum storage_result ret = STORAGE_FAILED;

	*status = 0;
	*transient = false;
	snprintf(url, sizeof(url), "%s/%s/%s%s%s%s", st->endpoint, st->bucket,
	    key ? st->prefix : "", key ? key : "", query ? "?" : "", query ? query : "");
	/* curl 7.88 neither adds x-amz-content-sha256 nor hashes an upload: S3 needs the
	 * header, and curl signs the value given there. */
	snprintf(header, sizeof(header), "x-amz-content-sha256: %s",
	    payload_sha ? payload_sha : EMPTY_SHA256);
	if ((headers = curl_slist_append(NULL, header)) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		return STORAGE_FAILED;
	}
	curl_easy_reset(c);
	curl_err[0] = '\0';
	t->curl = c;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_LIMIT);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, st->sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, st->access_key);
	curl_easy_setopt(c, CURLOPT_PASSWORD, st->secret_key);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, transfer_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	if (strcmp(method, "PUT") == 0) {
		t->in_off = 0;
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, transfer_read);
		curl_easy_setopt(c, CURLOPT_READDATA, t);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, transfer_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)t->in_size);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "DELETE") == 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	}

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (rc != CURLE_OK) {
		if (rc == CURLE_WRITE_ERROR && t->out_errno != 0)
			snprintf(err, errlen, "écriture du fichier temporaire impossible : %s",
			    storage_errno_text(t->out_errno));
		else if (rc == CURLE_ABORTED_BY_CALLBACK && t->in_errno != 0)
			snprintf(err, errlen, "lecture de la sauvegarde à envoyer impossible : %s",
			    storage_errno_text(t->in_errno));
		else {
			*transient = curl_transient(rc, s3_transient);
			snprintf(err, errlen, "stockage S3 injoignable (%s) : %s%s%s", st->endpoint,
			    curl_easy_strerror(rc), curl_err[0] ? " : " : "", curl_err);
		}
		goto fail;
	}
	if (*status >= 200 && *status < 300) {
		ret = STORAGE_OK;
		goto fail;
	}
	code[0] = message[0] = '\0';
	if (t->body != NULL) {
		p = t->body;
		(void)xml_next(&p, NULL, "Code", code, sizeof(code));
		p = t->body;
		(void)xml_next(&p, NULL, "Message", message, sizeof(message));
	}
	if (*status == 404 && strcmp(code, "NoSuchBucket") == 0) {
		snprintf(err, errlen, "le compartiment S3 « %s » n'existe pas (%s)", st->bucket,
		    st->endpoint);
	} else if (*status == 404 && key != NULL) {
		snprintf(err, errlen, "l'objet %s/%s n'existe pas", st->name, key);
		ret = STORAGE_NOT_FOUND;
	} else if (*status == 403) {
		snprintf(err, errlen, "accès refusé par le stockage S3 (403%s%s) : vérifiez "
		    "S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION et les droits sur le "
		    "compartiment « %s »", code[0] ? " " : "", code, st->bucket);
	} else {
		*transient = *status >= 500 || *status == 429 || *status == 408 ||
		    strcmp(code, "RequestTimeout") == 0 || strcmp(code, "SlowDown") == 0;
		snprintf(err, errlen, "le stockage S3 a répondu %ld à %s%s%s%s%s", *status, method,
		    code[0] ? " : " : "", code, message[0] ? " — " : "", message);
	}
fail:
	curl_slist_free_all(headers);
	return ret;
}

/* Runs a request, retrying transient failures with backoff. The transfer's download state
 * is reset before each attempt. */
static enum storage_result
s3_request(struct storage *st, const char *method, const char *key, const char *query,
    const char *payload_sha, struct transfer *t, char *err, size_t errlen)
{
	enum storage_result ret = STORAGE_FAILED;
	bool transient = false;
	long status = 0, delay;
	int attempt;

	for (attempt = 1; attempt <= st->retries; attempt++) {
		t->out_size = 0;
		t->out_errno = t->in_errno = 0;
		t->body_len = 0;
		t->body_truncated = false;
		if (t->body != NULL)
			t->body[0] = '\0';
		if (t->md != NULL && EVP_DigestInit_ex(t->md, EVP_sha256(), NULL) != 1) {
			snprintf(err, errlen, "initialisation de SHA-256 impossible");
			return STORAGE_FAILED;
		}
		if (t->out_fd >= 0 && (ftruncate(t->out_fd, 0) != 0 ||
		    lseek(t->out_fd, 0, SEEK_SET) != 0)) {
			snprintf(err, errlen, "fichier temporaire inutilisable : %s", storage_errno_text(errno));
			return STORAGE_FAILED;
		}
		ret = s3_attempt(st, method, key, query, payload_sha, t, &status, &transient,
		    err, errlen);
		if (ret != STORAGE_FAILED || !transient)
			return ret;
		if (attempt < st->retries) {
			delay = retry_delay(st, attempt);
			log_warn("stockage : %s %s : %s ; nouvel essai (%d/%d) dans %ld ms", method,
			    key ? key : st->bucket, err, attempt + 1, st->retries, delay);
			sleep_ms(delay);
		}
	}
	if (st->retries > 1) {
		size_t len = strlen(err);
		snprintf(err + len, errlen - len, " (abandon après %d essais)", st->retries);
	}
	return ret;
}

static enum storage_result
s3_put(struct storage *st, const char *key, int fd, const unsigned char *mem, long long size,
    const char *sha256_hex, char *err, size_t errlen)
{
	struct transfer t;
	enum storage_result ret;

	memset(&t, 0, sizeof(t));
	t.in_fd = fd;
	t.in_mem = mem;
	t.in_size = size;
	t.out_fd = -1;
	t.body_max = ERROR_BODY_MAX;
	ret = s3_request(st, "PUT", key, NULL, sha256_hex, &t, err, errlen);
	if (ret == STORAGE_NOT_FOUND) {
		/* A 404 to a PUT is the bucket. */
		snprintf(err, errlen, "le compartiment S3 « %s » n'existe pas (%s)", st->bucket,
		    st->endpoint);
		ret = STORAGE_FAILED;
	}
	free(t.body);
	return ret;
}

/* --- Public operations --------------------------------------------------------------------- */

static bool
check_key(const char *key, char *err, size_t errlen)
{
	if (storage_key_valid(key))
		return true;
	snprintf(err, errlen, "nom d'objet invalide : %s", key ? key : "(vide)");
	return false;
}

enum storage_result
storage_put_fd(struct storage *st, const char *key, int fd, long long size,
    const char *sha256_hex, char *err, size_t errlen)
{
	if (!check_key(key, err, errlen))
		return STORAGE_FAILED;
	if (st->kind == STORAGE_LOCAL)
		return local_put(st, key, fd, NULL, size, err, errlen);
	return s3_put(st, key, fd, NULL, size, sha256_hex, err, errlen);
}

enum storage_result
storage_put_mem(struct storage *st, const char *key, const void *data, size_t len,
    char *err, size_t errlen)
{
	unsigned char h[SHA256_LEN];
	char hex[STORAGE_SHA256_HEX];

	if (!check_key(key, err, errlen))
		return STORAGE_FAILED;
	if (st->kind == STORAGE_LOCAL)
		return local_put(st, key, -1, data, (long long)len, err, errlen);
	sha256(data, len, h);
	hex_encode(h, SHA256_LEN, hex);
	return s3_put(st, key, -1, data, (long long)len, hex, err, errlen);
}

enum storage_result
storage_get(struct storage *st, const char *key, int fd, long long *size,
    char sha256_hex[STORAGE_SHA256_HEX], char *err, size_t errlen)
{
	struct transfer t;
	enum storage_result ret;

	*size = 0;
	sha256_hex[0] = '\0';
	if (!check_key(key, err, errlen))
		return STORAGE_FAILED;
	if (st->kind == STORAGE_LOCAL)
		return local_get(st, key, fd, size, sha256_hex, err, errlen);
	memset(&t, 0, sizeof(t));
	t.out_fd = fd;
	t.body_max = ERROR_BODY_MAX;
	if ((t.md = EVP_MD_CTX_new()) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		return STORAGE_FAILED;
	}
	ret = s3_request(st, "GET", key, NULL, NULL, &t, err, errlen);
	if (ret == STORAGE_OK) {
		*size = t.out_size;
		digest_final_hex(t.md, sha256_hex);
	}
	EVP_MD_CTX_free(t.md);
	free(t.body);
	return ret;
}

enum storage_result
storage_head(struct storage *st, const char *key, long long *size, char *err, size_t errlen)
{
	struct transfer t;
	curl_off_t len = -1;
	enum storage_result ret;

	*size = 0;
	if (!check_key(key, err, errlen))
		return STORAGE_FAILED;
	if (st->kind == STORAGE_LOCAL)
		return local_head(st, key, size, err, errlen);
	memset(&t, 0, sizeof(t));
	t.out_fd = -1;
	t.body_max = ERROR_BODY_MAX;
	ret = s3_request(st, "HEAD", key, NULL, NULL, &t, err, errlen);
	if (ret == STORAGE_OK) {
		curl_easy_getinfo(st->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
		if (len < 0) {
			snprintf(err, errlen, "le stockage S3 n'a pas donné la taille de %s", key);
			ret = STORAGE_FAILED;
		} else {
			*size = (long long)len;
		}
	}
	free(t.body);
	return ret;
}

enum storage_result
storage_delete(struct storage *st, const char *key, char *err, size_t errlen)
{
	struct transfer t;
	enum storage_result ret;

	if (!check_key(key, err, errlen))
		return STORAGE_FAILED;
	if (st->kind == STORAGE_LOCAL)
		return local_delete(st, key, err, errlen);
	memset(&t, 0, sizeof(t));
	t.out_fd = -1;
	t.body_max = ERROR_BODY_MAX;
	ret = s3_request(st, "DELETE", key, NULL, NULL, &t, err, errlen);
	free(t.body);
	return ret == STORAGE_NOT_FOUND ? STORAGE_OK : ret;
}

enum storage_result
storage_list(struct storage *st, void (*each)(const char *, long long, void *), void *arg,
    char *err, size_t errlen)
{
	char query[1024], token[512], truncated[16], key[512], size_text[32];
	char *enc_prefix = NULL, *enc_token = NULL;
	const char *p, *end;
	struct transfer t;
	enum storage_result ret = STORAGE_FAILED;
	size_t plen = strlen(st->prefix);

	if (st->kind == STORAGE_LOCAL)
		return local_list(st, each, arg, err, errlen);
	memset(&t, 0, sizeof(t));
	t.out_fd = -1;
	t.keep_body = true;
	t.body_max = LIST_BODY_MAX;
	if ((enc_prefix = curl_easy_escape(st->curl, st->prefix, 0)) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	token[0] = '\0';
	do {
		/* Parameters in byte order, values percent-encoded with uppercase hex, as
		 * SigV4 signs them: libcurl 7.88 does neither. */
		curl_free(enc_token);
		enc_token = NULL;
		if (token[0] != '\0' && (enc_token = curl_easy_escape(st->curl, token, 0)) == NULL) {
			snprintf(err, errlen, "mémoire insuffisante");
			goto fail;
		}
		snprintf(query, sizeof(query), "%s%s%slist-type=2&prefix=%s",
		    enc_token ? "continuation-token=" : "", enc_token ? enc_token : "",
		    enc_token ? "&" : "", enc_prefix);
		if ((ret = s3_request(st, "GET", NULL, query, NULL, &t, err, errlen)) != STORAGE_OK)
			goto fail;
		ret = STORAGE_FAILED;
		if (t.body_truncated || t.body == NULL) {
			snprintf(err, errlen, "liste des objets S3 illisible");
			goto fail;
		}
		p = t.body;
		while ((p = strstr(p, "<Contents>")) != NULL) {
			end = strstr(p, "</Contents>");
			if (end == NULL)
				break;
			if (xml_next(&p, end, "Key", key, sizeof(key)) &&
			    strncmp(key, st->prefix, plen) == 0 && storage_key_valid(key + plen)) {
				const char *q = p;
				long long size = -1;
				char *num_end;

				if (xml_next(&q, end, "Size", size_text, sizeof(size_text))) {
					errno = 0;
					size = strtoll(size_text, &num_end, 10);
					if (errno != 0 || *num_end != '\0')
						size = -1;
				}
				each(key + plen, size, arg);
			}
			p = end + strlen("</Contents>");
		}
		p = t.body;
		truncated[0] = '\0';
		token[0] = '\0';
		(void)xml_next(&p, NULL, "IsTruncated", truncated, sizeof(truncated));
		p = t.body;
		if (strcmp(truncated, "true") == 0 &&
		    !xml_next(&p, NULL, "NextContinuationToken", token, sizeof(token))) {
			snprintf(err, errlen, "liste des objets S3 tronquée sans jeton de suite");
			goto fail;
		}
	} while (token[0] != '\0');
	ret = STORAGE_OK;
fail:
	curl_free(enc_token);
	curl_free(enc_prefix);
	free(t.body);
	return ret;
}
