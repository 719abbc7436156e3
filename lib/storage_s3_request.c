/* storage_s3_request.c — one request of the S3 backend (storage_s3.h): signed by libcurl
 * (SigV4, path style), its upload read from a file or from memory, its answer written to a
 * file and hashed or kept for its XML; a failure told in French from the HTTP status and
 * S3's <Code>; transient failures retried with exponential backoff and jitter. */
#include "storage_s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "curl_transient.h"
#include "log.h"

#define CONNECT_TIMEOUT 10L
/* A transfer slower than 1 KiB/s for a minute is stalled: abort it (and maybe retry). */
#define LOW_SPEED_LIMIT 1024L
#define LOW_SPEED_TIME 60L
#define RETRY_DELAY_MAX_MS 30000L
/* SHA-256 of the empty string: the payload hash of GET, HEAD, DELETE and listings. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

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
retry_delay(const struct storage_s3 *s3, int n)
{
	unsigned char r[2] = { 0, 0 };
	long d = s3->delay_ms;
	int i;

	for (i = 1; i < n && d < RETRY_DELAY_MAX_MS; i++)
		d *= 2;
	if (d > RETRY_DELAY_MAX_MS)
		d = RETRY_DELAY_MAX_MS;
	if (d > 0 && random_bytes(r, sizeof(r)) == 0)
		d += d * ((long)r[0] << 8 | r[1]) / 65535 / 5;
	return d;
}

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

bool
s3_xml_next(const char **pos, const char *end_limit, const char *tag, char *out,
    size_t outlen)
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

/* One attempt of s3_request (storage_s3.h); *status is the HTTP status (0: none), and
 * *transient tells whether another attempt may succeed. */
static enum storage_result
s3_attempt(struct storage_s3 *s3, const char *method, const char *key, const char *query,
    const char *payload_sha, struct transfer *t, long *status, bool *transient,
    char *err, size_t errlen)
{
	char url[1024], header[128], curl_err[CURL_ERROR_SIZE], code[128], message[512];
	struct curl_slist *headers = NULL;
	const char *p;
	CURL *c = s3->curl;
	CURLcode rc;
	enum storage_result ret = STORAGE_FAILED;

	*status = 0;
	*transient = false;
	snprintf(url, sizeof(url), "%s/%s/%s%s%s%s", s3->endpoint, s3->bucket,
	    key ? s3->prefix : "", key ? key : "", query ? "?" : "", query ? query : "");
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
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s3->sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, s3->access_key);
	curl_easy_setopt(c, CURLOPT_PASSWORD, s3->secret_key);
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
			snprintf(err, errlen, "stockage S3 injoignable (%s) : %s%s%s", s3->endpoint,
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
		(void)s3_xml_next(&p, NULL, "Code", code, sizeof(code));
		p = t->body;
		(void)s3_xml_next(&p, NULL, "Message", message, sizeof(message));
	}
	if (*status == 404 && strcmp(code, "NoSuchBucket") == 0) {
		snprintf(err, errlen, "le compartiment S3 « %s » n'existe pas (%s)", s3->bucket,
		    s3->endpoint);
	} else if (*status == 404 && key != NULL) {
		snprintf(err, errlen, "l'objet %s/%s n'existe pas", s3->st.name, key);
		ret = STORAGE_NOT_FOUND;
	} else if (*status == 403) {
		snprintf(err, errlen, "accès refusé par le stockage S3 (403%s%s) : vérifiez "
		    "S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION et les droits sur le "
		    "compartiment « %s »", code[0] ? " " : "", code, s3->bucket);
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

enum storage_result
s3_request(struct storage_s3 *s3, const char *method, const char *key, const char *query,
    const char *payload_sha, struct transfer *t, char *err, size_t errlen)
{
	enum storage_result ret = STORAGE_FAILED;
	bool transient = false;
	long status = 0, delay;
	int attempt;

	for (attempt = 1; attempt <= s3->retries; attempt++) {
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
		ret = s3_attempt(s3, method, key, query, payload_sha, t, &status, &transient,
		    err, errlen);
		if (ret != STORAGE_FAILED || !transient)
			return ret;
		if (attempt < s3->retries) {
			delay = retry_delay(s3, attempt);
			log_warn("stockage : %s %s : %s ; nouvel essai (%d/%d) dans %ld ms", method,
			    key ? key : s3->bucket, err, attempt + 1, s3->retries, delay);
			sleep_ms(delay);
		}
	}
	if (s3->retries > 1) {
		size_t len = strlen(err);
		snprintf(err + len, errlen - len, " (abandon après %d essais)", s3->retries);
	}
	return ret;
}
