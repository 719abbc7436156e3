/* storage.h — where backups are kept: a local directory (file:///dir or /dir) or an
 * S3-compatible bucket (s3://bucket/prefix: AWS S3, MinIO, Supabase Storage...) reached with
 * libcurl's SigV4, path style. Objects are named by keys of [A-Za-z0-9._-] relative to the
 * destination. Transient failures (connection, timeout, HTTP 5xx, 429) are retried with
 * exponential backoff; anything else fails at once with a French message in err, which never
 * holds a secret. */
#ifndef FIABLE_STORAGE_H
#define FIABLE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define STORAGE_SHA256_HEX 65

enum storage_result {
	STORAGE_OK,
	STORAGE_NOT_FOUND,   /* no such object */
	STORAGE_FAILED       /* err says why */
};

struct storage;

/* Parses and checks destination (a local directory must exist); S3 settings come from cfg
 * (S3_ENDPOINT, S3_REGION, keys) and the retry policy from BACKUP_RETRIES and
 * BACKUP_RETRY_DELAY_MS. NULL with a message on error. */
struct storage *storage_open(const struct config *cfg, const char *destination, char *err,
    size_t errlen);
void storage_close(struct storage *st);

/* The canonical destination (file:///dir or s3://bucket[/prefix]), recorded with each backup. */
const char *storage_name(const struct storage *st);

/* True when key is usable as an object name: 1 to 200 characters of [A-Za-z0-9._-], not
 * starting with a dot. */
bool storage_key_valid(const char *key);

/* Stores size bytes of fd (read from offset 0, the offset is left alone) as key. sha256_hex
 * is their SHA-256 (S3 checks it: x-amz-content-sha256). A local object appears whole or not
 * at all (temporary file, fsync, rename). */
enum storage_result storage_put_fd(struct storage *st, const char *key, int fd, long long size,
    const char *sha256_hex, char *err, size_t errlen);
/* Same from memory (small objects: the manifest). */
enum storage_result storage_put_mem(struct storage *st, const char *key, const void *data,
    size_t len, char *err, size_t errlen);

/* Reads key back: its size and SHA-256, and its bytes into fd when fd >= 0 (fd is truncated
 * first, and again before a retry; its offset is left at the end). */
enum storage_result storage_get(struct storage *st, const char *key, int fd, long long *size,
    char sha256_hex[STORAGE_SHA256_HEX], char *err, size_t errlen);

/* Size of key without reading it. */
enum storage_result storage_head(struct storage *st, const char *key, long long *size,
    char *err, size_t errlen);

/* Deletes key; an object already gone is STORAGE_OK. */
enum storage_result storage_delete(struct storage *st, const char *key, char *err,
    size_t errlen);

/* French text of an errno value, for the errors backups meet (strerror otherwise). */
const char *storage_errno_text(int e);

/* Calls each(key, size, arg) for every object directly under the destination whose key is
 * valid (others are not ours and are skipped). */
enum storage_result storage_list(struct storage *st,
    void (*each)(const char *key, long long size, void *arg), void *arg,
    char *err, size_t errlen);

/* Writes all len bytes to fd (retrying short writes and EINTR); 0, or -1 with errno. */
int fd_write_all(int fd, const void *buf, size_t len);

#endif
