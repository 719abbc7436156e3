/* storage_s3.c — the S3 backend of storage.h: an s3://bucket/prefix destination checked and
 * opened (endpoint, region, keys), and its operations, each one request or more
 * (storage_s3_request.c): put, get, head, delete, and the listing page by page. */
#include "storage_s3.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "num.h"

/* An error body is only read for its <Code> and <Message>; a listing page of 1,000 keys
 * is a few hundred kilobytes. */
#define ERROR_BODY_MAX (16 * 1024)
#define LIST_BODY_MAX (8 * 1024 * 1024)

static struct storage_s3 *
s3_of(struct storage *st)
{
	return (struct storage_s3 *)st;
}

/* A transfer whose successful answer goes into out_fd (-1: nowhere) and whose other
 * answers are kept up to body_max bytes. */
static void
transfer_init(struct transfer *t, int out_fd, size_t body_max)
{
	memset(t, 0, sizeof(*t));
	t->out_fd = out_fd;
	t->body_max = body_max;
}

static enum storage_result
s3_put(struct storage *st, const char *key, int fd, const unsigned char *mem, long long size,
    const char *sha256_hex, char *err, size_t errlen)
{
	struct storage_s3 *s3 = s3_of(st);
	struct transfer t;
	enum storage_result ret;

	transfer_init(&t, -1, ERROR_BODY_MAX);
	t.in_fd = fd;
	t.in_mem = mem;
	t.in_size = size;
	ret = s3_request(s3, "PUT", key, NULL, sha256_hex, &t, err, errlen);
	if (ret == STORAGE_NOT_FOUND) {
		/* A 404 to a PUT is the bucket. */
		snprintf(err, errlen, "le compartiment S3 « %s » n'existe pas (%s)", s3->bucket,
		    s3->endpoint);
		ret = STORAGE_FAILED;
	}
	free(t.body);
	return ret;
}

static enum storage_result
s3_get(struct storage *st, const char *key, int fd, long long *size,
    char sha256_hex[STORAGE_SHA256_HEX], char *err, size_t errlen)
{
	struct storage_s3 *s3 = s3_of(st);
	struct transfer t;
	enum storage_result ret;

	transfer_init(&t, fd, ERROR_BODY_MAX);
	if ((t.md = EVP_MD_CTX_new()) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		return STORAGE_FAILED;
	}
	ret = s3_request(s3, "GET", key, NULL, NULL, &t, err, errlen);
	if (ret == STORAGE_OK) {
		*size = t.out_size;
		digest_final_hex(t.md, sha256_hex);
	}
	EVP_MD_CTX_free(t.md);
	free(t.body);
	return ret;
}

static enum storage_result
s3_head(struct storage *st, const char *key, long long *size, char *err, size_t errlen)
{
	struct storage_s3 *s3 = s3_of(st);
	struct transfer t;
	curl_off_t len = -1;
	enum storage_result ret;

	transfer_init(&t, -1, ERROR_BODY_MAX);
	ret = s3_request(s3, "HEAD", key, NULL, NULL, &t, err, errlen);
	if (ret == STORAGE_OK) {
		curl_easy_getinfo(s3->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
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

static enum storage_result
s3_delete(struct storage *st, const char *key, char *err, size_t errlen)
{
	struct storage_s3 *s3 = s3_of(st);
	struct transfer t;
	enum storage_result ret;

	transfer_init(&t, -1, ERROR_BODY_MAX);
	ret = s3_request(s3, "DELETE", key, NULL, NULL, &t, err, errlen);
	free(t.body);
	return ret == STORAGE_NOT_FOUND ? STORAGE_OK : ret;
}

static enum storage_result
s3_list(struct storage *st, void (*each)(const char *, long long, void *), void *arg,
    char *err, size_t errlen)
{
	struct storage_s3 *s3 = s3_of(st);
	char query[1024], token[512], truncated[16], key[512], size_text[32];
	char *enc_prefix = NULL, *enc_token = NULL;
	const char *p, *end;
	struct transfer t;
	enum storage_result ret = STORAGE_FAILED;
	size_t plen = strlen(s3->prefix);

	transfer_init(&t, -1, LIST_BODY_MAX);
	t.keep_body = true;
	if ((enc_prefix = curl_easy_escape(s3->curl, s3->prefix, 0)) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	token[0] = '\0';
	do {
		/* Parameters in byte order, values percent-encoded with uppercase hex, as
		 * SigV4 signs them: libcurl 7.88 does neither. */
		curl_free(enc_token);
		enc_token = NULL;
		if (token[0] != '\0' && (enc_token = curl_easy_escape(s3->curl, token, 0)) == NULL) {
			snprintf(err, errlen, "mémoire insuffisante");
			goto fail;
		}
		snprintf(query, sizeof(query), "%s%s%slist-type=2&prefix=%s",
		    enc_token ? "continuation-token=" : "", enc_token ? enc_token : "",
		    enc_token ? "&" : "", enc_prefix);
		if ((ret = s3_request(s3, "GET", NULL, query, NULL, &t, err, errlen)) != STORAGE_OK)
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
			if (s3_xml_next(&p, end, "Key", key, sizeof(key)) &&
			    strncmp(key, s3->prefix, plen) == 0 && storage_key_valid(key + plen)) {
				const char *q = p;
				long long size = -1;

				/* An unreadable size is told as -1 (unknown), not as 0. */
				if (!s3_xml_next(&q, end, "Size", size_text, sizeof(size_text)) ||
				    !num_parse(size_text, 0, LLONG_MAX, &size))
					size = -1;
				each(key + plen, size, arg);
			}
			p = end + strlen("</Contents>");
		}
		p = t.body;
		truncated[0] = '\0';
		token[0] = '\0';
		(void)s3_xml_next(&p, NULL, "IsTruncated", truncated, sizeof(truncated));
		p = t.body;
		if (strcmp(truncated, "true") == 0 &&
		    !s3_xml_next(&p, NULL, "NextContinuationToken", token, sizeof(token))) {
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

static void
s3_close(struct storage *st)
{
	struct storage_s3 *s3 = s3_of(st);

	if (s3->curl != NULL) {
		curl_easy_cleanup(s3->curl);
		curl_global_cleanup();
	}
	if (s3->secret_key != NULL) {
		OPENSSL_cleanse(s3->secret_key, strlen(s3->secret_key));
		free(s3->secret_key);
	}
	free(s3->access_key);
	free(s3);
}

static const struct storage_ops s3_ops = {
	.put = s3_put,
	.get = s3_get,
	.head = s3_head,
	.del = s3_delete,
	.list = s3_list,
	.close = s3_close,
};

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

struct storage *
storage_s3_open(const struct config *cfg, const char *rest, char *err, size_t errlen)
{
	struct storage_s3 *s3;
	const char *slash = strchr(rest, '/'), *prefix, *region = cfg->s3_region;
	size_t blen = slash ? (size_t)(slash - rest) : strlen(rest), plen, i;

	if ((s3 = calloc(1, sizeof(*s3))) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		return NULL;
	}
	s3->retries = cfg->backup_retries > 0 ? cfg->backup_retries : 1;
	s3->delay_ms = cfg->backup_retry_delay_ms;
	if (!bucket_valid(rest, blen)) {
		snprintf(err, errlen, "BACKUP_DESTINATION : nom de compartiment S3 invalide "
		    "(3 à 63 caractères parmi a-z, 0-9, « . » et « - »)");
		goto fail;
	}
	memcpy(s3->bucket, rest, blen);
	s3->bucket[blen] = '\0';
	prefix = slash ? slash + 1 : "";
	plen = strlen(prefix);
	while (plen > 0 && prefix[plen - 1] == '/')
		plen--;
	if (plen + 2 > sizeof(s3->prefix)) {
		snprintf(err, errlen, "BACKUP_DESTINATION : préfixe S3 trop long");
		goto fail;
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
			goto fail;
		}
	}
	memcpy(s3->prefix, prefix, plen);
	if (plen > 0)
		s3->prefix[plen++] = '/';
	s3->prefix[plen] = '\0';
	snprintf(s3->st.name, sizeof(s3->st.name), "s3://%s%s%.*s", s3->bucket, plen ? "/" : "",
	    (int)(plen ? plen - 1 : 0), s3->prefix);

	for (i = 0; region[i] != '\0'; i++)
		if (!((region[i] >= 'a' && region[i] <= 'z') || (region[i] >= '0' &&
		    region[i] <= '9') || region[i] == '-') || i >= 32)
			break;
	if (i == 0 || region[i] != '\0') {
		snprintf(err, errlen, "S3_REGION invalide (par exemple eu-west-1)");
		goto fail;
	}
	snprintf(s3->sigv4, sizeof(s3->sigv4), "aws:amz:%s:s3", region);
	if (cfg->s3_endpoint[0] != '\0') {
		size_t elen = strlen(cfg->s3_endpoint);
		while (elen > 0 && cfg->s3_endpoint[elen - 1] == '/')
			elen--;
		if ((strncmp(cfg->s3_endpoint, "http://", 7) != 0 &&
		    strncmp(cfg->s3_endpoint, "https://", 8) != 0) ||
		    elen >= sizeof(s3->endpoint) || strpbrk(cfg->s3_endpoint, "?#@ ") != NULL) {
			snprintf(err, errlen, "S3_ENDPOINT doit être une adresse http(s)://hôte[:port]"
			    "[/chemin], sans identifiants ni requête");
			goto fail;
		}
		memcpy(s3->endpoint, cfg->s3_endpoint, elen);
		s3->endpoint[elen] = '\0';
	} else {
		snprintf(s3->endpoint, sizeof(s3->endpoint), "https://s3.%s.amazonaws.com", region);
	}
	if (cfg->s3_access_key_id[0] == '\0' || cfg->s3_secret_access_key[0] == '\0') {
		snprintf(err, errlen, "S3_ACCESS_KEY_ID et S3_SECRET_ACCESS_KEY sont obligatoires "
		    "pour une destination s3://");
		goto fail;
	}
	if ((s3->access_key = strdup(cfg->s3_access_key_id)) == NULL ||
	    (s3->secret_key = strdup(cfg->s3_secret_access_key)) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (s3->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "initialisation de libcurl impossible");
		goto fail;
	}
	s3->st.ops = &s3_ops;
	return &s3->st;
fail:
	s3_close(&s3->st);
	return NULL;
}
