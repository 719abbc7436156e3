#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "num.h"

/* The one table of API errors: status, stable code, French title and default detail, and the
 * header each needs (http.h, struct api_error_info). ERR_NONE has no entry: success is
 * answered by the endpoint, never from this table. */
static const struct api_error_info api_errors[ERR__MAX] = {
	[ERR_INVALID_JSON] = { 400, "invalid_json", "JSON invalide",
	    "Le corps de la requête n’est pas un objet JSON valide.", .allow = false },
	[ERR_VALIDATION] = { 400, "validation_failed", "Champs invalides",
	    "Certains champs sont invalides : corrigez-les puis envoyez à nouveau.", .allow = false },
	[ERR_PAYLOAD_TOO_LARGE] = { 413, "payload_too_large", "Requête trop volumineuse",
	    "La requête dépasse la taille autorisée.", .allow = false },
	[ERR_LENGTH_REQUIRED] = { 411, "length_required", "Longueur requise",
	    "L’en-tête Content-Length est obligatoire.", .allow = false },
	[ERR_BAD_LENGTH] = { 400, "invalid_content_length", "Longueur invalide",
	    "L’en-tête Content-Length est invalide ou ne correspond pas au corps reçu.", .allow = false },
	[ERR_UNSUPPORTED_MEDIA_TYPE] = { 415, "unsupported_media_type", "Type de contenu non pris en charge",
	    "Le corps doit être envoyé en JSON (Content-Type: application/json).", .allow = false },
	[ERR_METHOD_NOT_ALLOWED] = { 405, "method_not_allowed", "Méthode non autorisée",
	    "Cette méthode n’est pas acceptée à cette adresse.", .allow = true },
	[ERR_FORBIDDEN_ORIGIN] = { 403, "forbidden_origin", "Origine refusée",
	    "Cette requête provient d’un autre site et a été refusée.", .allow = false },
	[ERR_IDEMPOTENCY_KEY_MISSING] = { 400, "idempotency_key_missing", "Clé d’idempotence manquante",
	    "L’en-tête Idempotency-Key (un UUID) est obligatoire.", .allow = false },
	[ERR_IDEMPOTENCY_KEY_INVALID] = { 400, "idempotency_key_invalid", "Clé d’idempotence invalide",
	    "L’en-tête Idempotency-Key doit être un UUID.", .allow = false },
	[ERR_IDEMPOTENCY_KEY_REUSED] = { 422, "idempotency_key_reused", "Clé d’idempotence déjà utilisée",
	    "Cette clé d’idempotence a déjà servi pour un autre contenu.", .allow = false },
	[ERR_ALREADY_SUBMITTED] = { 409, "already_submitted", "Réponse déjà enregistrée",
	    "Une réponse existe déjà pour cette adresse e-mail. Utilisez votre lien de modification "
	    "ou demandez-en un nouveau.", .allow = false },
	[ERR_DATABASE_UNAVAILABLE] = { 503, "database_unavailable", "Service indisponible",
	    "Le service est momentanément indisponible : rien n’a été enregistré. Réessayez dans un instant.",
	    .retry_after = 2 },
	[ERR_NOT_FOUND] = { 404, "not_found", "Introuvable", "Cette ressource n’existe pas.", .allow = false },
	[ERR_INVALID_TOKEN] = { 401, "invalid_token", "Lien de modification non valable",
	    "Ce lien de modification n’est pas (ou plus) valable. Demandez un nouveau lien "
	    "avec votre adresse e-mail.", .www_authenticate = "Bearer realm=\"fiable\"" },
	[ERR_IF_MATCH_REQUIRED] = { 428, "if_match_required", "Version requise",
	    "L’en-tête If-Match (la version modifiée, par exemple \"v2\") est obligatoire.", .allow = false },
	[ERR_VERSION_MISMATCH] = { 412, "version_mismatch", "Réponse modifiée entre-temps",
	    "Votre réponse a été modifiée entre-temps (sur un autre appareil ?). "
	    "Voici la version actuelle : vérifiez-la avant d’enregistrer à nouveau.", .allow = false },
	[ERR_SUBMISSION_WITHDRAWN] = { 409, "submission_withdrawn", "Réponse retirée",
	    "Cette réponse a été retirée. Restaurez-la avant de la modifier.", .allow = false },
	[ERR_NOT_WITHDRAWN] = { 409, "not_withdrawn", "Réponse non retirée",
	    "Cette réponse n’est pas retirée : il n’y a rien à restaurer.", .allow = false },
	[ERR_RATE_LIMITED] = { 429, "rate_limited", "Trop de demandes",
	    "Trop de demandes en peu de temps. Réessayez dans une heure.", .retry_after = 3600 },
	[ERR_ADMIN_REQUIRED] = { 403, "admin_required", "Accès réservé",
	    "Cette adresse est réservée à l’administration.", .allow = false },
	/* Same text as nginx's fallback @authentification_refusee_nginx (nginx.conf.example).
	 * No WWW-Authenticate: nginx's auth_basic already put its Basic challenge on this
	 * response before handing it over; a second one would be a duplicate. */
	[ERR_ADMIN_AUTH_FAILED] = { 401, "admin_auth_failed", "Identification requise",
	    "L’administration demande son identifiant et son mot de passe : ils sont absents ou "
	    "incorrects.", .allow = false },
	[ERR_MODIFICATION_DISABLED] = { 403, "modification_disabled", "Modification indisponible",
	    "La modification des réponses est momentanément désactivée. Votre réponse reste "
	    "enregistrée telle quelle ; votre lien fonctionnera de nouveau à sa réactivation.", .allow = false },
	[ERR_EMAIL_LINKS_DISABLED] = { 403, "email_links_disabled", "Envoi de liens indisponible",
	    "L’envoi de liens de modification par e-mail est momentanément désactivé. "
	    "Réessayez plus tard.", .allow = false },
	[ERR_INTERNAL] = { 500, "internal_error", "Erreur interne",
	    "Une erreur interne est survenue. Rien n’a été enregistré ; réessayez.", .allow = false },
	[ERR_SLUG_TAKEN] = { 409, "slug_pris", "Adresse déjà prise",
	    "Une autre campagne utilise déjà cette adresse : choisissez-en une autre.", .allow = false },
	[ERR_CAMPAIGN_MODIFIED] = { 412, "modifiee_entre_temps", "Campagne modifiée entre-temps",
	    "Cette campagne a été modifiée entre-temps par un autre administrateur. Voici la "
	    "version actuelle : vérifiez-la avant d’enregistrer à nouveau.", .allow = false },
	[ERR_CAMPAIGN_ARCHIVED] = { 409, "campagne_archivee", "Campagne archivée",
	    "Cette campagne est archivée : elle ne peut plus être modifiée.", .allow = false },
	[ERR_SLOT_IMPORT_INVALID] = { 422, "import_invalide", "Fichier de créneaux refusé",
	    "Certaines lignes du fichier sont invalides : aucun créneau n’a été ajouté. "
	    "Corrigez-les puis importez à nouveau le fichier.", .allow = false },
	[ERR_CAMPAIGN_NOT_FOUND] = { 404, "campagne_introuvable", "Campagne introuvable",
	    "Ce formulaire n’existe pas ou n’est pas (ou plus) publié. Vérifiez l’adresse reçue "
	    "dans votre invitation.", .allow = false },
	[ERR_CAMPAIGN_UNKNOWN] = { 422, "campagne_inconnue", "Campagne inconnue",
	    "La campagne désignée n’existe pas : votre réponse n’a pas été enregistrée.", .allow = false },
	/* The detail of the next two names the date, written by fiable-submit. */
	[ERR_CAMPAIGN_NOT_OPEN] = { 403, "campagne_pas_ouverte", "Campagne pas encore ouverte",
	    "Cette campagne n’accepte pas de réponses ; votre réponse n’a pas été enregistrée.", .allow = false },
	[ERR_CAMPAIGN_CLOSED] = { 403, "campagne_fermee", "Campagne close",
	    "Cette campagne est close ; votre réponse n’a pas été enregistrée.", .allow = false },
	[ERR_MODIFICATION_CLOSED] = { 403, "modification_close", "Modification close",
	    "Cette campagne est close : votre réponse ne peut plus être modifiée ni retirée. "
	    "Elle reste enregistrée telle quelle.", .allow = false },
	[ERR_PARTICIPANT_EXISTS] = { 409, "participant_existant", "Participant déjà inscrit",
	    "Cette adresse e-mail figure déjà dans la liste des participants de la campagne.",
	    .allow = false },
	[ERR_PARTICIPANT_IMPORT_INVALID] = { 422, "import_participants_invalide",
	    "Fichier de participants refusé",
	    "Certaines lignes du fichier sont invalides : personne n’a été ajouté. "
	    "Corrigez-les puis importez à nouveau le fichier.", .allow = false },
	[ERR_CAMPAIGN_DRAFT] = { 409, "campagne_brouillon", "Campagne non publiée",
	    "Cette campagne est un brouillon : publiez-la (état « ouverte ») avant d’envoyer "
	    "les invitations.", .allow = false },
	[ERR_INVITATION_REQUIRED] = { 403, "invitation_requise", "Invitation requise",
	    "Cette campagne est réservée aux personnes invitées : ouvrez le lien personnel reçu "
	    "dans votre invitation. Votre réponse n’a pas été enregistrée.", .allow = false },
	[ERR_INVITATION_INVALID] = { 403, "invitation_invalide", "Invitation non valable",
	    "Ce lien d’invitation n’est pas valable pour cette campagne : ouvrez le lien reçu "
	    "dans votre invitation, sans le modifier. Votre réponse n’a pas été enregistrée.",
	    .allow = false },
	[ERR_INVITATION_EMAIL] = { 403, "invitation_autre_email", "Adresse différente",
	    "Votre invitation est personnelle : l’adresse e-mail de la réponse doit être celle "
	    "à laquelle vous l’avez reçue. Votre réponse n’a pas été enregistrée.",
	    .allow = false },
	[ERR_REMINDER_NOT_OPEN] = { 409, "relance_impossible", "Relance impossible",
	    "Cette campagne n’accepte pas de réponses en ce moment (brouillon, pas encore "
	    "ouverte, close ou archivée) : personne n’a été relancé.", .allow = false },
};

const char *
api_error_code(enum api_error e)
{
	return api_errors[e].code;
}

int
api_error_status(enum api_error e)
{
	return api_errors[e].status;
}

const struct api_error_info *
api_error_info(enum api_error e)
{
	return &api_errors[e];
}

void
api_error_headers(enum api_error e, const char *allow, char *buf, size_t cap)
{
	const struct api_error_info *info = &api_errors[e];
	size_t n = 0;

	buf[0] = '\0';
	if (info->allow)
		n += (size_t)snprintf(buf + n, cap - n, "Allow: %s\r\n", allow ? allow : "");
	if (info->www_authenticate != NULL && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, "WWW-Authenticate: %s\r\n",
		    info->www_authenticate);
	if (info->retry_after > 0 && n < cap)
		snprintf(buf + n, cap - n, "Retry-After: %d\r\n", info->retry_after);
}

bool
http_query_value(const char *query, const char *name, char *out, size_t cap)
{
	const char *q = query;
	size_t n = strlen(name);

	while (q != NULL && *q != '\0') {
		size_t len = strcspn(q, "&");
		if (len > n && strncmp(q, name, n) == 0 && q[n] == '=') {
			if (len - n - 1 >= cap)
				return false;
			memcpy(out, q + n + 1, len - n - 1);
			out[len - n - 1] = '\0';
			return true;
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return false;
}

uint64_t
http_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
http_request_init(struct http_request *req, http_param_fn param, void *ctx)
{
	const char *https;

	memset(req, 0, sizeof(*req));
	req->start_us = http_now_us();
	req->method = param("REQUEST_METHOD", ctx);
	req->uri = param("DOCUMENT_URI", ctx);
	req->content_type = param("CONTENT_TYPE", ctx);
	req->content_length = param("CONTENT_LENGTH", ctx);
	req->origin = param("HTTP_ORIGIN", ctx);
	req->sec_fetch_site = param("HTTP_SEC_FETCH_SITE", ctx);
	req->host = param("HTTP_HOST", ctx);
	req->server_port = param("SERVER_PORT", ctx);
	req->idempotency_key = param("HTTP_IDEMPOTENCY_KEY", ctx);
	req->authorization = param("HTTP_AUTHORIZATION", ctx);
	req->if_match = param("HTTP_IF_MATCH", ctx);
	req->remote_addr = param("REMOTE_ADDR", ctx);
	req->remote_user = param("REMOTE_USER", ctx);
	req->user_agent = param("HTTP_USER_AGENT", ctx);
	req->request_id = param("REQUEST_ID", ctx);
	req->fiable_client = param("HTTP_FIABLE_CLIENT", ctx);
	req->query_string = param("QUERY_STRING", ctx);
	https = param("HTTPS", ctx);
	req->scheme = (https != NULL && strcasecmp(https, "on") == 0) ? "https" : "http";
	if (req->method == NULL)
		req->method = "";
	if (req->uri == NULL)
		req->uri = "";
}

void
http_request_free(struct http_request *req)
{
	free(req->body);
	req->body = NULL;
}

int
http_parse_content_length(const char *value, size_t max, size_t *len, enum api_error *err)
{
	unsigned long long n;
	char *end;

	if (value == NULL || value[0] == '\0') {
		*err = ERR_LENGTH_REQUIRED;
		return -1;
	}
	if (!isdigit((unsigned char)value[0])) {
		*err = ERR_BAD_LENGTH;
		return -1;
	}
	errno = 0;
	n = strtoull(value, &end, 10);
	if (*end != '\0') {
		*err = ERR_BAD_LENGTH;
		return -1;
	}
	if (errno == ERANGE || n > max) {
		*err = ERR_PAYLOAD_TOO_LARGE;
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

int
http_read_body(struct http_request *req, FCGX_Stream *in, size_t max, enum api_error *err)
{
	size_t len, got = 0;

	if (http_parse_content_length(req->content_length, max, &len, err) != 0)
		return -1;
	if ((req->body = malloc(len + 1)) == NULL) {
		*err = ERR_INTERNAL;
		return -1;
	}
	while (got < len) {
		int n = FCGX_GetStr(req->body + got, (int)(len - got), in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != len) {
		*err = ERR_BAD_LENGTH;
		return -1;
	}
	req->body[len] = '\0';
	req->body_len = len;
	return 0;
}

bool
http_is_json(const char *ct)
{
	static const char json[] = "application/json";
	size_t n = sizeof(json) - 1;

	if (ct == NULL || strncasecmp(ct, json, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Whether host ("name", "name:port", "[v6]", "[v6]:port") names its port. */
static bool
host_has_port(const char *host)
{
	const char *bracket = strrchr(host, ']');

	return strchr(bracket != NULL ? bracket : host, ':') != NULL;
}

/* Whether the Origin is the site the request came to. The browser sets Host to the site it
 * talks to, so scheme://Host is our own origin. Behind Debian's stock fastcgi_params, HTTP_HOST
 * is nginx's $host, without the port: then the port is the one the request came in on
 * (SERVER_PORT; browsers leave the default port out of Origin), so a page of another port of
 * the same host is still another origin. A front that listens on another port than nginx
 * names its public address in PUBLIC_URL (or FIABLE_ALLOWED_ORIGINS). */
static bool
origin_is_own(const struct http_request *req)
{
	size_t slen = strlen(req->scheme), hlen;
	const char *rest, *port = req->server_port;
	const char *dflt = strcmp(req->scheme, "https") == 0 ? "443" : "80";

	if (req->host == NULL || req->host[0] == '\0' ||
	    strncasecmp(req->origin, req->scheme, slen) != 0 ||
	    strncmp(req->origin + slen, "://", 3) != 0)
		return false;
	rest = req->origin + slen + 3;
	if (host_has_port(req->host) || port == NULL || strcmp(port, dflt) == 0)
		return strcasecmp(rest, req->host) == 0;
	hlen = strlen(req->host);
	return port[0] != '\0' && strspn(port, "0123456789") == strlen(port) &&
	    strncasecmp(rest, req->host, hlen) == 0 && rest[hlen] == ':' &&
	    strcmp(rest + hlen + 1, port) == 0;
}

bool
http_origin_allowed(const struct http_request *req, const char *const *allowed, size_t nallowed)
{
	size_t i;

	if (req->origin == NULL || req->origin[0] == '\0')
		return req->sec_fetch_site == NULL ||
		    strcasecmp(req->sec_fetch_site, "cross-site") != 0;
	if (origin_is_own(req))
		return true;
	for (i = 0; i < nallowed; i++)
		if (strcasecmp(req->origin, allowed[i]) == 0)
			return true;
	return false;
}

const char *
http_bearer_token(const struct http_request *req)
{
	const char *a = req->authorization;

	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return NULL;
	a += 7;
	while (*a == ' ')
		a++;
	return *a != '\0' ? a : NULL;
}

int
http_if_match_version(const struct http_request *req, long *version)
{
	const char *v = req->if_match, *end;
	char digits[11];
	long long n;
	size_t len;

	if (v == NULL || v[0] == '\0')
		return 0;
	while (*v == ' ')
		v++;
	/* Strong comparison is byte for byte: "v07" is not our ETag "v7". */
	if (strncmp(v, "\"v", 2) != 0 || v[2] < '1' || v[2] > '9')
		return -1;
	len = strspn(v + 2, "0123456789");
	end = v + 2 + len;
	if (len >= sizeof(digits) || *end != '"')
		return -1;
	memcpy(digits, v + 2, len);
	digits[len] = '\0';
	if (!num_parse(digits, 1, 2147483647LL, &n))
		return -1;
	end++;
	while (*end == ' ')
		end++;
	if (*end != '\0')
		return -1;
	*version = (long)n;
	return 1;
}

bool
http_parse_uuid(const char *v, char out[37])
{
	size_t i;

	if (v == NULL || strlen(v) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (v[i] != '-')
				return false;
			out[i] = '-';
		} else if (isxdigit((unsigned char)v[i])) {
			out[i] = (char)tolower((unsigned char)v[i]);
		} else {
			return false;
		}
	}
	out[36] = '\0';
	return true;
}

void
http_sanitize(char *dst, size_t cap, const char *src)
{
	size_t i;

	if (src == NULL)
		src = "";
	for (i = 0; i + 1 < cap && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
}

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default:  return "Internal Server Error";
	}
}

void
http_send(FCGX_Stream *out, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len)
{
	FCGX_FPrintF(out,
	    "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %lu\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s"
	    "\r\n",
	    status, status_text(status), content_type, (unsigned long)len,
	    extra_headers ? extra_headers : "");
	if (len > 0)
		FCGX_PutStr(body, (int)len, out);
}

void
http_send_json(FCGX_Stream *out, int status, const char *extra_headers, const cJSON *json)
{
	char *body = cJSON_PrintUnformatted(json);

	if (body == NULL) {
		http_send_error(out, ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	http_send(out, status, "application/json; charset=utf-8", extra_headers, body, strlen(body));
	cJSON_free(body);
}

char *
http_problem_body(enum api_error e, const char *detail, const char *name, const cJSON *member)
{
	cJSON *p = cJSON_CreateObject();
	char type[128];
	char *body;

	if (p == NULL)
		return NULL;
	snprintf(type, sizeof(type), "https://fiable.invalid/problemes/%s", api_errors[e].code);
	cJSON_AddStringToObject(p, "type", type);
	cJSON_AddStringToObject(p, "code", api_errors[e].code);
	cJSON_AddStringToObject(p, "title", api_errors[e].title);
	cJSON_AddNumberToObject(p, "status", api_errors[e].status);
	cJSON_AddStringToObject(p, "detail", detail ? detail : api_errors[e].detail);
	if (name != NULL && member != NULL)
		cJSON_AddItemToObject(p, name, cJSON_Duplicate(member, 1));
	body = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	return body;
}

void
http_send_error(FCGX_Stream *out, enum api_error e, const char *detail,
    const cJSON *errors, const char *extra_headers)
{
	http_send_error_member(out, e, detail, "errors", errors, extra_headers);
}

void
http_send_error_member(FCGX_Stream *out, enum api_error e, const char *detail,
    const char *name, const cJSON *member, const char *extra_headers)
{
	char *body = http_problem_body(e, detail, name, member);
	static const char fallback[] = "{\"code\":\"internal_error\",\"status\":500}";

	if (body == NULL) {
		http_send(out, 500, "application/problem+json", NULL, fallback, sizeof(fallback) - 1);
		return;
	}
	http_send(out, api_errors[e].status, "application/problem+json; charset=utf-8",
	    extra_headers, body, strlen(body));
	cJSON_free(body);
}
