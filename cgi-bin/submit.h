/* submit.h — what fiable-submit's two files share: the submission carried through its
 * transaction (submit.c), and the campaign side of it (submit_campaign.c: the campaign named,
 * an invited-only campaign's participant, the stored refusal outside the campaign's phase). */
#ifndef FIABLE_CGI_SUBMIT_H
#define FIABLE_CGI_SUBMIT_H

#include <stdbool.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "campaign_lookup.h"
#include "crypto.h"
#include "idempotency.h"
#include "server.h"
#include "submission.h"
#include "write_tx.h"

/* What one submission carries through its transaction. */
struct submit {
	const struct submission *s;
	const char *slug;            /* the campaign named ("" = the first) */
	const char *invitation_hash; /* hex SHA-256 of the invitation token, or NULL */
	struct campaign_answer camp;
	char key_hash[IDEM_KEY_HASH_LEN];
	char payload_hex[2 * SHA256_LEN + 1];
	char token[TOKEN_STR_LEN];
	unsigned char token_hash[SHA256_LEN];
	PGresult *participant;       /* invited-only: the token's participant (email, nom) */
	char *body;                  /* the representation stored and sent */
	int status;
	bool replayed, exposed;
};

/* Takes the member "campagne" out of the body: absent, the first campaign; else the slug
 * of a campaign that exists (its id into campaign_id). False after answering (400, 422). */
bool submit_campaign_named(struct call *call, cJSON *root, char slug[CAMPAIGN_SLUG_BUF],
    char campaign_id[24]);
/* Invited-only: the participant of sb's invitation in its campaign (sb->participant) and *out
 * the submission under the participant's e-mail and name. ERR_NONE, a 403, or ERR_INTERNAL. */
enum api_error submit_invited_participant(struct db *db, struct submit *sb,
    struct submission *out);
/* Outside the campaign's phase: the 403 stored as the key's response, with its metric and
 * audit row, nothing else written (ERR_NONE: sb->body and sb->status are the refusal). */
enum api_error submit_store_refusal(struct submit *sb, struct write_tx *tx);

#endif
