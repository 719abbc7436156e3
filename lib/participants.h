/* participants.h — the people invited to a campaign (sql/0018): the bodies and files that
 * add them, checked; the organiser's list with who has answered; the invitations.
 *
 * Invitation tokens: HMAC-SHA-256 under the server's secret of the participant's id and a
 * salt of 16 random bytes drawn at the invitation (sql/0022), base64url (43 characters),
 * sent only in the body of the queued invitation or reminder (mail_outbox erases a body
 * once sent or given up, as it does for the edit link of a receipt); the database keeps the
 * salt and the token's SHA-256, so a reminder gives the person the same link again and
 * nothing stored gives the token without FIABLE_SECRET. The personal link is
 * PUBLIC_URL/c/SLUG/#invitation=TOKEN: in the fragment, never in a server log. Once the
 * person has answered, the same token is also an edit token for that answer only
 * (TOKEN_SUBMISSION in statements.c).
 *
 * CSV of participants: one person a line, columns e-mail, nom[, groupe], separated by ';'
 * or ',' (the first of the two in the first line), UTF-8 with or without a BOM, LF or CRLF,
 * fields optionally in double quotes ("" for a quote). A first line whose first field holds
 * no '@' is a header and is skipped. Everything or nothing: any faulty line, and nobody is
 * added. */
#ifndef FIABLE_PARTICIPANTS_H
#define FIABLE_PARTICIPANTS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "slot.h"
#include "submission.h"

#define PARTICIPANT_NAME_MAX_CHARS  100            /* participants.nom CHECK */
#define PARTICIPANT_GROUP_MAX_CHARS 100            /* participants.groupe CHECK */
#define PARTICIPANT_IMPORT_MAX_BYTES (1024 * 1024) /* largest file read */
#define PARTICIPANT_IMPORT_MAX_ROWS 10000          /* people in one file */
#define INVITATION_TOKEN_LEN 43                    /* base64url of 32 bytes */
#define INVITATION_SALT_LEN 16                     /* participants.jeton_sel CHECK */

/* One person of a POST body, trimmed (malloc'd; groupe NULL when absent or empty). */
struct participant_fields {
	char *email, *nom, *groupe;
};

/* Checks {email, nom, groupe?} (unknown members refused). Returns the number of faulty
 * members, each with its French message in errors; free the fields either way. */
int participant_parse(const cJSON *root, struct participant_fields *f, cJSON *errors);
void participant_fields_free(struct participant_fields *f);

/* A CSV file to people, no database: 0 with *rows a JSON array of {ligne, email, nom,
 * groupe} (file order; the caller deletes it); >0 faults listed in errors (*rows NULL);
 * -1 out of memory. */
int participant_csv_parse(const char *data, size_t len, cJSON **rows,
    struct slot_errors *errors);

/* The list of campaign id for the organiser: {campagne, acces, participants: [...],
 * groupes: [...], total: {...}} (counts and response rate). NULL with *found false when
 * there is no such campaign, NULL with *found true on a failure. */
cJSON *participants_list_json(struct db *db, const char *id, bool *found);
/* One participant as the list shows it (row of STMT_PARTICIPANTS_LIST). */
cJSON *participant_row_json(const PGresult *res, int row);

/* A new salt for a participant's token (hex of INVITATION_SALT_LEN random bytes); false
 * when no randomness is available. */
bool invitation_salt_new(char salt_hex[2 * INVITATION_SALT_LEN + 1]);
/* The token of participant pid with salt salt_hex (INVITATION_TOKEN_LEN + 1 bytes) and the
 * hex of its SHA-256, as stored. The same inputs always give the same token. */
void invitation_token_derive(const struct config *cfg, const char *pid, const char *salt_hex,
    char token[TOKEN_STR_LEN], char hash_hex[2 * SHA256_LEN + 1]);
/* True when s has the shape of an invitation token (checked before any hashing). */
bool invitation_token_valid(const char *s);
/* The hex SHA-256 of a token, as stored. */
void invitation_token_hash(const char *token, char hash_hex[2 * SHA256_LEN + 1]);

/* In the current transaction (the campaign locked): for each participant of campaign id not
 * yet invited, a token, its invitation queued (titre, slug: the campaign's) and the token's
 * hash stored, together. How many were queued, or -1 on a failure (roll back). */
int participants_invite(struct db *db, const struct config *cfg, const char *id,
    const char *titre, const char *slug);

/* The signature that lets participant pid unsubscribe from reminders without logging in:
 * HMAC-SHA-256 under the server's secret, base64url (TOKEN_STR_LEN bytes). Only good for
 * that: it is in the List-Unsubscribe address, which mail clients may fetch and servers log. */
void unsubscribe_signature(const struct config *cfg, const char *pid, char out[TOKEN_STR_LEN]);

/* Invited-only campaigns (issue 16): the e-mail and name of an answer are those of the
 * list, and a change keeps them. For the locked answer row about to be changed to e-mail
 * email: ERR_NONE with *kept true (invited-only: write row's e-mail and name) or false (an
 * open campaign: write the body's); ERR_INVITATION_EMAIL when invited-only and email is
 * another address; ERR_INTERNAL on a database failure. */
enum api_error participant_identity_kept(struct db *db, const struct locked_submission *row,
    const char *email, bool *kept);

/* The List-Unsubscribe lines of participant pid's mails (RFC 2369, RFC 8058: one click),
 * "\n" between them, into out; false when PUBLIC_URL cannot be written there. */
bool unsubscribe_headers(const struct config *cfg, const char *pid, char *out, size_t cap);

#endif
