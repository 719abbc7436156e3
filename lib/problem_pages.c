#include "problem_pages.h"

/* Text as HTML: the five characters that matter escaped. */
static void
html_text(struct buf *t, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': buf_adds(t, "&lt;"); break;
		case '>': buf_adds(t, "&gt;"); break;
		case '&': buf_adds(t, "&amp;"); break;
		case '"': buf_adds(t, "&quot;"); break;
		case '\'': buf_adds(t, "&#39;"); break;
		default: buf_add(t, s, 1);
		}
	}
}

void
problem_page(enum api_error e, struct buf *t)
{
	const struct api_error_info *i = api_error_info(e);

	buf_adds(t, "<!doctype html>\n<html lang=\"fr\">\n<head>\n <meta charset=\"utf-8\">\n"
	    " <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n <title>");
	html_text(t, i->title);
	buf_adds(t, " — erreur de Fiable</title>\n <link rel=\"stylesheet\" "
	    "href=\"/commun/commun.css\">\n</head>\n<body>\n<main>\n <h1>");
	html_text(t, i->title);
	buf_printf(t, "</h1>\n <p>Statut HTTP <strong>%d</strong>, code <code>", i->status);
	html_text(t, i->code);
	buf_adds(t, "</code>.</p>\n <p>");
	html_text(t, i->detail);
	buf_adds(t, "</p>\n <p>Cette erreur est rendue par l’API de Fiable en "
	    "<code>application/problem+json</code> (RFC 9457) ; son membre <code>type</code> "
	    "désigne cette page, son membre <code>detail</code> dit ce qui s’est passé pour "
	    "cette requête-là.</p>\n <p>Pour demander de l’aide, citez le membre "
	    "<code>instance</code> de la réponse (<code>urn:fiable:requete:…</code>, aussi "
	    "dans l’en-tête <code>X-Request-Id</code>) : il retrouve la requête dans les "
	    "journaux du serveur.</p>\n</main>\n</body>\n</html>\n");
}
