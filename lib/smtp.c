/* smtp.c — delivery of a formatted message (mail.c): SMTP through libcurl, or an .eml file
 * in a folder. Apart from mail.c so that the programs that only queue messages (the FastCGI
 * programs) do not link libcurl and the libraries it brings. */
#include "mail.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "crypto.h"
#include "curl_transient.h"
#include "log.h"

#define ADDR_MAX_LEN MAIL_ADDR_MAX
#define SMTP_CONNECT_TIMEOUT 10L
#define SMTP_TOTAL_TIMEOUT 30L

struct upload {
	const char *data;
	size_t len, pos;
};

static size_t
upload_read(char *dst, size_t size, size_t nitems, void *ctx)
{
	struct upload *u = ctx;
	size_t n = size * nitems;

	if (n > u->len - u->pos)
		n = u->len - u->pos;
	memcpy(dst, u->data + u->pos, n);
	u->pos += n;
	return n;
}

/* Servers on this machine: no STARTTLS is required to reach them (the test server has no
 * TLS, and nothing crosses a network). */
static bool
host_is_loopback(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 ||
	    strcmp(host, "::1") == 0 || strcasecmp(host, "localhost") == 0;
}

/* Failures that may pass besides the network's: the server not ready, and the ones an
 * administrator fixes (credentials, TLS) while the messages wait in the outbox. */
static const CURLcode smtp_transient[] = {
	CURLE_WEIRD_SERVER_REPLY, CURLE_PEER_FAILED_VERIFICATION, CURLE_USE_SSL_FAILED,
	CURLE_LOGIN_DENIED, CURLE_OUT_OF_MEMORY, CURLE_AGAIN, CURLE_OK
};

/* Sends over SMTP; from_addr and to_addr are checked bare addresses. */
static int
smtp_send(const struct config *cfg, const char *from_addr, const char *to_addr,
    const char *message, bool *transient, char *err, size_t errlen)
{
	static bool curl_ready;
	char envelope_from[ADDR_MAX_LEN + 3], envelope_to[ADDR_MAX_LEN + 3];
	char curl_err[CURL_ERROR_SIZE];
	char *scheme = NULL, *host = NULL, *password = NULL;
	struct curl_slist *rcpt = NULL;
	struct upload up = { message, strlen(message), 0 };
	CURLU *url = NULL;
	CURL *curl = NULL;
	CURLcode rc;
	long code = 0;
	int ret = -1;

	/* Until a server has answered, a failure is one of configuration (SMTP_URL, memory):
	 * the messages wait while the administrator fixes it. */
	*transient = true;
	if ((url = curl_url()) == NULL ||
	    curl_url_set(url, CURLUPART_URL, cfg->smtp_url, 0) != CURLUE_OK ||
	    curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(url, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "SMTP_URL invalide");
		goto fail;
	}
	/* A password inside the URL would end up in error messages and process lists. */
	if (curl_url_get(url, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
		snprintf(err, errlen, "SMTP_URL ne doit pas contenir de mot de passe "
		    "(utilisez SMTP_USER et SMTP_PASSWORD)");
		goto fail;
	}
	if (strcmp(scheme, "smtp") != 0 && strcmp(scheme, "smtps") != 0) {
		snprintf(err, errlen, "SMTP_URL doit commencer par smtp:// ou smtps://");
		goto fail;
	}

	if (!curl_ready) {
		/* Not thread-safe; the programs are single-threaded. */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "initialisation de libcurl impossible");
			goto fail;
		}
		curl_ready = true;
	}
	snprintf(envelope_from, sizeof(envelope_from), "<%s>", from_addr);
	snprintf(envelope_to, sizeof(envelope_to), "<%s>", to_addr);
	if ((curl = curl_easy_init()) == NULL ||
	    (rcpt = curl_slist_append(NULL, envelope_to)) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	curl_err[0] = '\0';
	curl_easy_setopt(curl, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, SMTP_CONNECT_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, SMTP_TOTAL_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, envelope_from);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, &up);
	if (strcmp(scheme, "smtp") == 0 && !host_is_loopback(host))
		curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cfg->smtp_user != NULL && cfg->smtp_user[0] != '\0') {
		curl_easy_setopt(curl, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(curl, CURLOPT_PASSWORD,
		    cfg->smtp_password ? cfg->smtp_password : "");
	}

	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK) {
		*transient = false;
		ret = 0;
		goto fail;
	}
	/* The SMTP reply decides when there is one: 4xx passes, 5xx does not (a refused
	 * recipient), except a refused login, which the administrator can fix. */
	if (code >= 400 && code < 500)
		*transient = true;
	else if (code >= 500)
		*transient = rc == CURLE_LOGIN_DENIED;
	else
		*transient = curl_transient(rc, smtp_transient);
	/* libcurl's messages name the server and the SMTP step, never the credentials. */
	if (code > 0)
		snprintf(err, errlen, "SMTP (%s) : %s, réponse %ld%s%s", host,
		    curl_easy_strerror(rc), code, curl_err[0] ? " : " : "", curl_err);
	else
		snprintf(err, errlen, "SMTP (%s) : %s%s%s", host, curl_easy_strerror(rc),
		    curl_err[0] ? " : " : "", curl_err);
fail:
	curl_slist_free_all(rcpt);
	if (curl != NULL)
		curl_easy_cleanup(curl);
	curl_free(password);
	curl_free(host);
	curl_free(scheme);
	if (url != NULL)
		curl_url_cleanup(url);
	return ret;
}

/* Writes the message as DIR/<UTC time>-<random>.eml (mode 0640): written to a hidden
 * temporary file first, then renamed, so a reader never sees half a message. */
static int
eml_write(const char *dir, const char *message, char *err, size_t errlen)
{
	unsigned char rnd[8];
	char hex[2 * sizeof(rnd) + 1], stamp[32], *tmp = NULL, *path = NULL;
	size_t len = strlen(message), off = 0, plen = strlen(dir) + 64;
	time_t now = time(NULL);
	struct tm tm;
	ssize_t n;
	int fd = -1, ret = -1;

	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "création du dossier %s impossible : %s", dir,
		    strerror(errno));
		return -1;
	}
	if (random_bytes(rnd, sizeof(rnd)) != 0 || gmtime_r(&now, &tm) == NULL) {
		snprintf(err, errlen, "aléa ou date indisponible");
		return -1;
	}
	hex_encode(rnd, sizeof(rnd), hex);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if ((tmp = malloc(plen)) == NULL || (path = malloc(plen)) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	snprintf(tmp, plen, "%s/.%s-%s.tmp", dir, stamp, hex);
	snprintf(path, plen, "%s/%s-%s.eml", dir, stamp, hex);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) == -1) {
		snprintf(err, errlen, "écriture dans %s impossible : %s", dir, strerror(errno));
		goto fail;
	}
	/* The umask must not widen or narrow what the mail reader is given. */
	(void)fchmod(fd, 0640);
	while (off < len) {
		if ((n = write(fd, message + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "écriture de %s impossible : %s", tmp,
			    strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		snprintf(err, errlen, "écriture de %s impossible : %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "renommage en %s impossible : %s", path, strerror(errno));
		goto fail;
	}
	ret = 0;
fail:
	if (fd != -1)
		close(fd);
	if (ret != 0 && tmp != NULL)
		(void)unlink(tmp);
	free(tmp);
	free(path);
	return ret;
}

int
mail_send(const struct config *cfg, const char *to, const char *subject, const char *body,
    bool *transient, char *err, size_t errlen)
{
	return mail_send_headers(cfg, to, subject, body, NULL, transient, err, errlen);
}

int
mail_send_headers(const struct config *cfg, const char *to, const char *subject,
    const char *body, const char *headers, bool *transient, char *err, size_t errlen)
{
	char from_addr[ADDR_MAX_LEN + 1], to_addr[ADDR_MAX_LEN + 1], *message;
	int rc;

	*transient = false;
	err[0] = '\0';
	if (!mail_configured(cfg)) {
		/* Configuring mail later delivers what waited. */
		*transient = true;
		snprintf(err, errlen, "courriel non configuré (SMTP_URL ou FIABLE_MAIL_DIR)");
		return -1;
	}
	if (mail_address(cfg->mail_from, from_addr) != 0) {
		/* The same for every message: the administrator fixes MAIL_FROM. */
		*transient = true;
		snprintf(err, errlen, "MAIL_FROM n'est pas une adresse valable");
		return -1;
	}
	if (mail_address(to, to_addr) != 0) {
		snprintf(err, errlen, "adresse du destinataire invalide");
		return -1;
	}
	if ((message = mail_format_headers(cfg->mail_from, to, subject, body, headers,
	    (long long)time(NULL),
	    strchr(from_addr, '@') + 1)) == NULL) {
		*transient = true;
		snprintf(err, errlen, "message impossible à composer (mémoire insuffisante)");
		return -1;
	}
	if (cfg->smtp_url != NULL && cfg->smtp_url[0] != '\0') {
		rc = smtp_send(cfg, from_addr, to_addr, message, transient, err, errlen);
	} else {
		rc = eml_write(cfg->mail_dir, message, err, errlen);
		/* A full disk or a wrong owner is fixed by the administrator. */
		*transient = rc != 0;
	}
	free(message);
	return rc;
}
