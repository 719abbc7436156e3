/* storage_s3.h — between the S3 backend's operations (storage_s3.c) and its requests
 * (storage_s3_request.c): the handle, the data of one request, the request itself and the
 * reading of S3's XML answers. Not for the callers of storage.h. */
#ifndef FIABLE_STORAGE_S3_H
#define FIABLE_STORAGE_S3_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "storage_backend.h"

struct storage_s3 {
	struct storage st;           /* first: the handle storage.c sees */
	int retries;                 /* attempts of a request, at least 1 */
	long delay_ms;               /* before the second attempt, doubled after */
	char endpoint[512];
	char bucket[64];
	char prefix[256];            /* "" or "a/b/" */
	char sigv4[96];              /* aws:amz:REGION:s3 */
	char *access_key;
	char *secret_key;
	CURL *curl;                  /* reused: keeps the connection alive between requests */
};

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

/* Runs a request, retrying transient failures with backoff; the transfer's download state
 * is reset before each attempt. method: GET, PUT, HEAD or DELETE. key NULL: the bucket
 * itself (listing). query: already sorted and percent-encoded (libcurl 7.88 signs it as
 * given). payload_sha: hex SHA-256 of the upload, NULL for none. */
enum storage_result s3_request(struct storage_s3 *s3, const char *method, const char *key,
    const char *query, const char *payload_sha, struct transfer *t, char *err,
    size_t errlen);

/* The text of the next <tag>...</tag> at or after *pos (and before end_limit unless NULL),
 * copied into out; advances *pos. Only for the few fields of S3's XML answers we read
 * (Code, Message, Key, Size, IsTruncated, NextContinuationToken), whose values hold no
 * markup. */
bool s3_xml_next(const char **pos, const char *end_limit, const char *tag, char *out,
    size_t outlen);

#endif
