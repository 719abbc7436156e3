/* storage_local.c — the local-folder backend of storage.h: one file per object in a
 * directory, which appears whole or not at all (hidden temporary file, fsync, rename, fsync
 * of the directory). */
#include "storage_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "crypto.h"

#define CHUNK (64 * 1024)

struct storage_local {
	struct storage st;           /* first: the handle storage.c sees */
	char dir[PATH_MAX];
};

static struct storage_local *
local_of(struct storage *st)
{
	return (struct storage_local *)st;
}

static void
local_path(const struct storage_local *loc, const char *key, char *out, size_t len)
{
	/* loc->dir leaves room for any valid key (storage_local_open): never truncated. */
	if (snprintf(out, len, "%s/%s", loc->dir, key) >= (int)len)
		out[0] = '\0';
}

/* Writes a hidden temporary file beside the object, then renames it: a reader (or a crash)
 * never sees half an object under its final name. */
static enum storage_result
local_put(struct storage *st, const char *key, int fd, const unsigned char *mem,
    long long size, const char *sha256_hex, char *err, size_t errlen)
{
	struct storage_local *loc = local_of(st);
	char path[PATH_MAX], tmp[PATH_MAX];
	unsigned char *buf = NULL;
	long long off = 0;
	int out = -1, dir = -1;
	enum storage_result ret = STORAGE_FAILED;
	bool renamed = false;

	(void)sha256_hex;            /* only S3 checks it on arrival */
	tmp[0] = '\0';
	/* loc->dir leaves room for any valid key: never truncated. */
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", loc->dir, key) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "chemin trop long");
		tmp[0] = '\0';
		goto fail;
	}
	local_path(loc, key, path, sizeof(path));
	if ((out = mkstemp(tmp)) < 0) {
		snprintf(err, errlen, "création d'un fichier dans %s impossible : %s", loc->dir,
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
	if ((dir = open(loc->dir, O_RDONLY | O_DIRECTORY)) < 0 || fsync(dir) != 0) {
		snprintf(err, errlen, "synchronisation de %s impossible : %s", loc->dir,
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
	struct storage_local *loc = local_of(st);
	char path[PATH_MAX];
	unsigned char *buf = NULL;
	EVP_MD_CTX *md = NULL;
	int in = -1;
	enum storage_result ret = STORAGE_FAILED;

	*size = 0;
	local_path(loc, key, path, sizeof(path));
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
	struct storage_local *loc = local_of(st);
	char path[PATH_MAX];
	struct stat sb;

	local_path(loc, key, path, sizeof(path));
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
	struct storage_local *loc = local_of(st);
	char path[PATH_MAX];

	local_path(loc, key, path, sizeof(path));
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
	struct storage_local *loc = local_of(st);
	struct dirent *e;
	struct stat sb;
	DIR *d;

	if ((d = opendir(loc->dir)) == NULL) {
		snprintf(err, errlen, "lecture de %s impossible : %s", loc->dir, storage_errno_text(errno));
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

static void
local_close(struct storage *st)
{
	free(local_of(st));
}

static const struct storage_ops local_ops = {
	.put = local_put,
	.get = local_get,
	.head = local_head,
	.del = local_delete,
	.list = local_list,
	.close = local_close,
};

struct storage *
storage_local_open(const char *path, char *err, size_t errlen)
{
	struct storage_local *loc;
	struct stat sb;
	size_t len = strlen(path);

	if ((loc = calloc(1, sizeof(*loc))) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		return NULL;
	}
	if (path[0] != '/') {
		snprintf(err, errlen, "BACKUP_DESTINATION : chemin absolu attendu (/dossier ou "
		    "file:///dossier), pas « %s »", path);
		goto fail;
	}
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= sizeof(loc->dir) - STORAGE_KEY_MAX - 16) {
		snprintf(err, errlen, "BACKUP_DESTINATION : chemin trop long");
		goto fail;
	}
	memcpy(loc->dir, path, len);
	loc->dir[len] = '\0';
	if (stat(loc->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "le dossier de sauvegarde %s n'existe pas (créez-le, avec des "
		    "droits réservés au compte de service)", loc->dir);
		goto fail;
	}
	loc->st.ops = &local_ops;
	snprintf(loc->st.name, sizeof(loc->st.name), "file://%s", loc->dir);
	return &loc->st;
fail:
	free(loc);
	return NULL;
}
