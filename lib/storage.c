/* storage.c — the public operations of storage.h: the destination read and handed to its
 * backend (storage_local.c, storage_s3.c: storage_backend.h), every key checked before a
 * backend sees it; and what both backends use (errno texts, whole writes). */
#include "storage_backend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"

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
		if (i >= STORAGE_KEY_MAX || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
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

struct storage *
storage_open(const struct config *cfg, const char *destination, char *err, size_t errlen)
{
	if (destination == NULL || destination[0] == '\0') {
		snprintf(err, errlen, "BACKUP_DESTINATION n'est pas configurée (dossier local ou "
		    "s3://compartiment/préfixe)");
		return NULL;
	}
	if (strncmp(destination, "s3://", 5) == 0)
		return storage_s3_open(cfg, destination + 5, err, errlen);
	if (strncmp(destination, "file://", 7) == 0)
		return storage_local_open(destination + 7, err, errlen);
	if (strstr(destination, "://") != NULL) {
		snprintf(err, errlen, "BACKUP_DESTINATION : schéma non pris en charge (file:// ou "
		    "s3://)");
		return NULL;
	}
	return storage_local_open(destination, err, errlen);
}

void
storage_close(struct storage *st)
{
	if (st != NULL)
		st->ops->close(st);
}

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
	return st->ops->put(st, key, fd, NULL, size, sha256_hex, err, errlen);
}

enum storage_result
storage_put_mem(struct storage *st, const char *key, const void *data, size_t len,
    char *err, size_t errlen)
{
	unsigned char h[SHA256_LEN];
	char hex[STORAGE_SHA256_HEX];

	if (!check_key(key, err, errlen))
		return STORAGE_FAILED;
	sha256(data, len, h);
	hex_encode(h, SHA256_LEN, hex);
	return st->ops->put(st, key, -1, data, (long long)len, hex, err, errlen);
}

enum storage_result
storage_get(struct storage *st, const char *key, int fd, long long *size,
    char sha256_hex[STORAGE_SHA256_HEX], char *err, size_t errlen)
{
	*size = 0;
	sha256_hex[0] = '\0';
	if (!check_key(key, err, errlen))
		return STORAGE_FAILED;
	return st->ops->get(st, key, fd, size, sha256_hex, err, errlen);
}

enum storage_result
storage_head(struct storage *st, const char *key, long long *size, char *err, size_t errlen)
{
	*size = 0;
	if (!check_key(key, err, errlen))
		return STORAGE_FAILED;
	return st->ops->head(st, key, size, err, errlen);
}

enum storage_result
storage_delete(struct storage *st, const char *key, char *err, size_t errlen)
{
	if (!check_key(key, err, errlen))
		return STORAGE_FAILED;
	return st->ops->del(st, key, err, errlen);
}

enum storage_result
storage_list(struct storage *st, void (*each)(const char *, long long, void *), void *arg,
    char *err, size_t errlen)
{
	return st->ops->list(st, each, arg, err, errlen);
}
