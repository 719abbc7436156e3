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

#include <openssl/evp.h>

#include "buf.h"
#include "crypto.h"
#include "log.h"

/* Header lines are kept within the 78 characters RFC 5322 recommends. */
#define LINE_MAX_CHARS 78
/* Bytes of text per encoded-word: 52 base64 characters, 64 with "=?UTF-8?B?...?=",
 * so "Subject: " and one word still fit in 78 characters. */
#define WORD_BYTES 39
#define ADDR_MAX_LEN MAIL_ADDR_MAX

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

/* RFC 5322 §2.1.1: a line holds at most 998 octets before its CRLF. */
#define MAIL_LINE_MAX 998
/* RFC 2045 §6.7: an encoded line holds at most 76 characters, its soft break "=" included. */
#define QP_LINE_MAX 76

/* Whether some line of the body (ended by \n, \r\n or a lone \r) is longer than a line
 * of a message may be: such a body goes quoted-printable. */
static bool
body_has_long_line(const char *body)
{
	size_t n;

	while (*body != '\0') {
		if ((n = strcspn(body, "\r\n")) > MAIL_LINE_MAX)
			return true;
		body += n;
		if (body[0] == '\r' && body[1] == '\n')
			body += 2;
		else if (*body != '\0')
			body++;
	}
	return false;
}

/* The body in quoted-printable (RFC 2045 §6.7): line ends as CRLF (hard breaks), every
 * octet outside printable ASCII, "=" and a space or tab before a line end encoded, soft
 * breaks ("=" CRLF) keeping each line within 76 characters. The text decodes back exactly. */
static void
buf_body_qp(struct buf *b, const char *body)
{
	size_t col = 0;
	char enc[4];

	for (; *body != '\0'; body++) {
		unsigned char c = (unsigned char)*body;
		bool end = body[1] == '\0' || body[1] == '\r' || body[1] == '\n';
		size_t w;

		if (c == '\r' || c == '\n') {
			if (c == '\r' && body[1] == '\n')
				body++;
			buf_adds(b, "\r\n");
			col = 0;
			continue;
		}
		if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !end)) {
			enc[0] = (char)c;
			w = 1;
		} else {
			snprintf(enc, sizeof(enc), "=%02X", c);
			w = 3;
		}
		/* Room for the soft break "=" unless this is the line's last character. */
		if (col + w > QP_LINE_MAX - (end ? 0 : 1)) {
			buf_adds(b, "=\r\n");
			col = 0;
		}
		buf_add(b, enc, w);
		col += w;
	}
	if (col > 0)
		buf_adds(b, "\r\n");
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

/* Appends the extra header lines (\n-separated "Name: value"), each checked: a name of
 * letters, digits and hyphens, printable ASCII after it, at most 998 characters. False
 * (nothing trusted) on any other shape. */
static bool
buf_extra_headers(struct buf *b, const char *headers)
{
	const char *p = headers;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, "\n"), name = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-"), i;

		if (n > 998 || name == 0 || name + 2 > n || p[name] != ':' || p[name + 1] != ' ')
			return false;
		for (i = name + 2; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
				return false;
		buf_add(b, p, n);
		buf_adds(b, "\r\n");
		p += n;
		if (*p == '\n')
			p++;
	}
	return true;
}

char *
mail_format(const char *from, const char *to, const char *subject, const char *body,
    long long now_epoch, const char *message_id_domain)
{
	return mail_format_headers(from, to, subject, body, NULL, now_epoch, message_id_domain);
}

char *
mail_format_headers(const char *from, const char *to, const char *subject, const char *body,
    const char *headers, long long now_epoch, const char *message_id_domain)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct buf b = BUF_INIT;
	unsigned char rnd[16];
	char line[160], hex[2 * sizeof(rnd) + 1];
	time_t t = (time_t)now_epoch;
	struct tm tm;
	bool qp;

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
	if (!buf_extra_headers(&b, headers)) {
		log_warn("%s: en-têtes supplémentaires invalides", __func__);
		goto fail;
	}
	/* Lines as typed (8bit) unless one is too long for a message (a campaign's
	 * introduction in one paragraph): then quoted-printable, which folds without changing
	 * the text. */
	qp = body_has_long_line(body);
	buf_printf(&b, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: %s\r\n"
	    /* RFC 3834: no vacation auto-reply should answer a robot. */
	    "Auto-Submitted: auto-generated\r\n"
	    "\r\n", qp ? "quoted-printable" : "8bit");
	if (qp)
		buf_body_qp(&b, body);
	else
		buf_body(&b, body);
	if (b.failed) {
		log_warn("%s: mémoire insuffisante", __func__);
		goto fail;
	}
	return b.p;
fail:
	buf_free(&b);
	return NULL;
}

bool
mail_configured(const struct config *cfg)
{
	return (cfg->smtp_url != NULL && cfg->smtp_url[0] != '\0') ||
	    (cfg->mail_dir != NULL && cfg->mail_dir[0] != '\0');
}

int
mail_address(const char *value, char addr[MAIL_ADDR_MAX + 1])
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
