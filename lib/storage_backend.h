/* storage_backend.h — between storage.c, which checks the keys and answers the calls of
 * storage.h, and its backends (storage_local.c, storage_s3.c): the table of operations each
 * backend fills, and the start of every backend's handle. Not for the callers of storage.h. */
#ifndef FIABLE_STORAGE_BACKEND_H
#define FIABLE_STORAGE_BACKEND_H

#include <limits.h>

#include "storage.h"

/* The longest object name (storage_key_valid). */
#define STORAGE_KEY_MAX 200

/* The operations of storage.h, on a key already checked (storage_key_valid); the same
 * contracts. put stores size bytes read from fd (pread) or, when mem is not NULL, from mem;
 * sha256_hex is their SHA-256. */
struct storage_ops {
	enum storage_result (*put)(struct storage *st, const char *key, int fd,
	    const unsigned char *mem, long long size, const char *sha256_hex, char *err,
	    size_t errlen);
	enum storage_result (*get)(struct storage *st, const char *key, int fd, long long *size,
	    char sha256_hex[STORAGE_SHA256_HEX], char *err, size_t errlen);
	enum storage_result (*head)(struct storage *st, const char *key, long long *size,
	    char *err, size_t errlen);
	enum storage_result (*del)(struct storage *st, const char *key, char *err,
	    size_t errlen);
	enum storage_result (*list)(struct storage *st,
	    void (*each)(const char *key, long long size, void *arg), void *arg, char *err,
	    size_t errlen);
	/* Frees the handle and all it holds. */
	void (*close)(struct storage *st);
};

/* The first member of every backend's handle. */
struct storage {
	const struct storage_ops *ops;
	char name[PATH_MAX + 16];    /* storage_name */
};

/* Opens each backend from a destination without its scheme: a directory (file:// or an
 * absolute path), or bucket[/prefix] (s3://). NULL with a message on error. */
struct storage *storage_local_open(const char *path, char *err, size_t errlen);
struct storage *storage_s3_open(const struct config *cfg, const char *bucket_prefix,
    char *err, size_t errlen);

#endif
