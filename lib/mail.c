#include "mail.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "log.h"

/* Header lines are kept within the 78 characters RFC 5322 recommends. */
#define LINE_MAX_CHARS 78
/* Bytes of text per encoded-word: 52 base64 characters, 64 with "=?UTF-8?B?...?=",
 * so "Subject: " and one word still fit in 78 characters. */
#define WORD_BYTES 39
#define ADDR_MAX_LEN 254
#define SMTP_CONNECT_TIMEOUT 10L
#define SMTP_TOTAL_TIMEOUT 30L

/* A growing string; after a failed allocation every append is a no-op and failed is set. */
struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Copy of s in which every run of control characters (CR and LF first: they would start a
 * new header line) becomes one space, without leading or trailing spaces. */
static char *
header_clean(const char *s)
{
	char *out, *o;
	bool space = false;

	if ((out = malloc(strlen(s) + 1)) == NULL)
		return NULL;
	for (o = out; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = o != out;
			continue;
		}
		if (space)
			*o++ = ' ';
		space = false;
		*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

static bool
is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Longest run of characters without a space: a longer one cannot be folded. */
static size_t
longest_word(const char *s)
{
	size_t n, max = 0;

	while (*s != '\0') {
		n = strcspn(s, " ");
		if (n > max)
			max = n;
		s += n;
		s += strspn(s, " ");
	}
	return max;
}

/* Appends text as RFC 2047 encoded-words (UTF-8, base64), one per line. */
static void
buf_encoded_words(struct buf *b, const char *text)
{
	unsigned char enc[4 * ((WORD_BYTES + 2) / 3) + 1];
	size_t len = strlen(text), i = 0, n;

	while (i < len) {
		n = len - i < WORD_BYTES ? len - i : WORD_BYTES;
		/* Never split a UTF-8 sequence between two words (RFC 2047 §5). */
		while (n > 1 && i + n < len && ((unsigned char)text[i + n] & 0xc0) == 0x80)
			n--;
		if (i > 0)
			buf_adds(b, "\r\n ");
		EVP_EncodeBlock(enc, (const unsigned char *)text + i, (int)n);
		buf_adds(b, "=?UTF-8?B?");
		buf_adds(b, (const char *)enc);
		buf_adds(b, "?=");
		i += n;
	}
}

/* Appends plain ASCII text, folded before a space when a line would pass 78 characters. */
static void
buf_folded(struct buf *b, const char *text, size_t col)
{
	size_t n;
	bool first = true;

	for (;;) {
		n = strcspn(text, " ");
		if (!first) {
			if (col + 1 + n > LINE_MAX_CHARS) {
				buf_adds(b, "\r\n ");
				col = 1;
			} else {
				buf_adds(b, " ");
				col++;
			}
		}
		buf_add(b, text, n);
		col += n;
		first = false;
		text += n;
		if (*text == '\0')
			break;
		text++;
	}
}

/* "Name: value" of unstructured text (the subject), cleaned, encoded when it is not plain
 * ASCII (or could be mistaken for an encoded-word, or cannot be folded), and folded. */
static void
buf_text_header(struct buf *b, const char *name, const char *value)
{
	char *clean = header_clean(value);

	if (clean == NULL) {
		b->failed = true;
		return;
	}
	buf_adds(b, name);
	buf_adds(b, ": ");
	if (!is_ascii(clean) || strstr(clean, "=?") != NULL ||
	    longest_word(clean) > LINE_MAX_CHARS - strlen(name) - 2)
		buf_encoded_words(b, clean);
	else
		buf_folded(b, clean, strlen(name) + 2);
	buf_adds(b, "\r\n");
	free(clean);
}

/* An address we can put in a header and give to SMTP as is: printable ASCII without
 * spaces or the characters that delimit addresses, one @ with text on both sides. */
static bool
addr_ok(const char *a)
{
	const char *at = strchr(a, '@');
	size_t len = strlen(a);

	if (len < 3 || len > ADDR_MAX_LEN || at == NULL || at == a || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return false;
	for (; *a != '\0'; a++) {
		unsigned char c = (unsigned char)*a;
		if (c <= 0x20 || c >= 0x7f || strchr("<>()[],;:\\\"", c) != NULL)
			return false;
	}
	return true;
}

/* Splits "Display Name <addr@host>" or "addr@host" (already cleaned) into its parts:
 * *display is malloc'd ("" when absent), addr receives the address. */
static int
mailbox_parse(const char *clean, char **display, char addr[ADDR_MAX_LEN + 1])
{
	const char *lt = strrchr(clean, '<');
	size_t len = strlen(clean), dlen;

	*display = NULL;
	if (lt != NULL && len > 0 && clean[len - 1] == '>') {
		if ((size_t)(clean + len - 1 - (lt + 1)) > ADDR_MAX_LEN)
			return -1;
		memcpy(addr, lt + 1, (size_t)(clean + len - 1 - (lt + 1)));
		addr[clean + len - 1 - (lt + 1)] = '\0';
		dlen = (size_t)(lt - clean);
		while (dlen > 0 && clean[dlen - 1] == ' ')
			dlen--;
		/* A display name given in quotes loses them: they are put back when needed. */
		if (dlen >= 2 && clean[0] == '"' && clean[dlen - 1] == '"') {
			clean++;
			dlen -= 2;
		}
		if ((*display = strndup(clean, dlen)) == NULL)
			return -1;
	} else {
		if (len > ADDR_MAX_LEN)
			return -1;
		memcpy(addr, clean, len + 1);
		if ((*display = strdup("")) == NULL)
			return -1;
	}
	if (!addr_ok(addr)) {
		free(*display);
		*display = NULL;
		return -1;
	}
	return 0;
}

/* "Name: Display <addr>": the display name as atoms, a quoted string or encoded-words. */
static int
buf_mailbox_header(struct buf *b, const char *name, const char *value)
{
	char addr[ADDR_MAX_LEN + 1], *clean, *display = NULL;
	const char *p;
	bool atoms = true;

	if ((clean = header_clean(value)) == NULL || mailbox_parse(clean, &display, addr) != 0) {
		free(clean);
		return -1;
	}
	buf_adds(b, name);
	buf_adds(b, ": ");
	if (display[0] != '\0') {
		for (p = display; *p != '\0' && atoms; p++)
			atoms = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789 !#$%&'*+-/=?^_`{|}~", *p) != NULL;
		if (!is_ascii(display) || strstr(display, "=?") != NULL) {
			buf_encoded_words(b, display);
		} else if (atoms) {
			buf_adds(b, display);
		} else {
			buf_adds(b, "\"");
			for (p = display; *p != '\0'; p++) {
				if (*p == '"' || *p == '\\')
					buf_adds(b, "\\");
				buf_add(b, p, 1);
			}
			buf_adds(b, "\"");
		}
		buf_adds(b, " ");
	}
	buf_adds(b, "<");
	buf_adds(b, addr);
	buf_adds(b, ">\r\n");
	free(display);
	free(clean);
	return 0;
}

/* The body with every line end (\n, \r\n or a lone \r) as CRLF, ending with one. */
static void
buf_body(struct buf *b, const char *body)
{
	size_t n;

	while (*body != '\0') {
		n = strcspn(body, "\r\n");
		buf_add(b, body, n);
		buf_adds(b, "\r\n");
		body += n;
		if (body[0] == '\r' && body[1] == '\n')
			body += 2;
		else if (*body != '\0')
			body++;
	}
}

/* A domain name usable after the @ of a Message-ID. */
static bool
domain_ok(const char *d)
{
	size_t len;

	if (d == NULL || (len = strlen(d)) == 0 || len > 253)
		return false;
	return strspn(d, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == len;
}

char *
mail_format(const char *from, const char *to, const char *subject, const char *body,
    long long now_epoch, const char *message_id_domain)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct buf b = { NULL, 0, 0, false };
	unsigned char rnd[16];
	char line[160], hex[2 * sizeof(rnd) + 1];
	time_t t = (time_t)now_epoch;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || random_bytes(rnd, sizeof(rnd)) != 0) {
		log_warn("%s: date ou aléa indisponible", __func__);
		return NULL;
	}
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	buf_adds(&b, line);
	if (buf_mailbox_header(&b, "From", from) != 0 ||
	    buf_mailbox_header(&b, "To", to) != 0) {
		log_warn("%s: adresse d'expéditeur ou de destinataire invalide", __func__);
		goto fail;
	}
	buf_text_header(&b, "Subject", subject);
	buf_adds(&b, "Message-ID: <");
	buf_adds(&b, hex);
	buf_adds(&b, "@");
	buf_adds(&b, domain_ok(message_id_domain) ? message_id_domain : "localhost");
	buf_adds(&b, ">\r\n");
	buf_adds(&b, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    /* RFC 3834: no vacation auto-reply should answer a robot. */
	    "Auto-Submitted: auto-generated\r\n"
	    "\r\n");
	buf_body(&b, body);
	if (b.failed) {
		log_warn("%s: mémoire insuffisante", __func__);
		goto fail;
	}
	return b.p;
fail:
	free(b.p);
	return NULL;
}

bool
mail_configured(const struct config *cfg)
{
	return (cfg->smtp_url != NULL && cfg->smtp_url[0] != '\0') ||
	    (cfg->mail_dir != NULL && cfg->mail_dir[0] != '\0');
}

/* The bare address of MAIL_FROM (or of a recipient), checked; -1 when unusable. */
static int
mail_address(const char *value, char addr[ADDR_MAX_LEN + 1])
{
	char *clean, *display = NULL;
	int rc;

	if ((clean = header_clean(value)) == NULL)
		return -1;
	rc = mailbox_parse(clean, &display, addr);
	free(display);
	free(clean);
	return rc;
}

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

/* Failures that may pass: the server unreachable, slow or not ready, and the ones an
 * administrator fixes (credentials, TLS) without the messages being lost meanwhile. */
static bool
curl_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_USE_SSL_FAILED:
	case CURLE_LOGIN_DENIED:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_AGAIN:
		return true;
	default:
		return false;
	}
}

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
		*transient = curl_transient(rc);
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
	if ((message = mail_format(cfg->mail_from, to, subject, body, (long long)time(NULL),
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
