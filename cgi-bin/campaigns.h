/* campaigns.h — what the handlers of fiable-campaigns share (campaigns.c, campaigns_slots.c,
 * campaigns_matrix.c): the campaign of the address, and the steps of an admin write. */
#ifndef FIABLE_CGI_CAMPAIGNS_H
#define FIABLE_CGI_CAMPAIGNS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "server.h"

/* The parts of an address under /api/admin/campagnes/: the campaign id (digits) and what
 * follows it ("", "creneaux", "creneaux/serie", ...); sid: the slot of
 * "creneaux/<sid>", or the participant of "participants/<pid>" (digits), else "". */
struct campaign_address {
	char id[24];
	const char *rest;
	char sid[72];
};
/* Splits the request's address; false when it is not one of ours. */
bool campaign_address_parse(const char *uri, struct campaign_address *a);

/* An admin write's start: the transaction with the administrator named, the campaign locked
 * (its row, a campaign_lock result, into *locked, to PQclear). True on success; false after
 * answering (404, 409 for an archived one, 503/500). */
bool campaign_write_begin(struct call *call, const char *id, PGresult **locked);
/* The end: the request's metric and COMMIT, then the answer (json, extra headers or NULL).
 * On failure the rollback and 503/500. */
void campaign_write_commit(struct call *call, int status, const char *headers, cJSON *json);
/* Gives up inside the transaction: rollback, then error e (ERR_NONE: 503/500 from the
 * connection's state). members: an "errors" member, or NULL. */
void campaign_write_fail(struct call *call, enum api_error e, const char *name,
    const cJSON *member);
/* COMMIT, then the campaign as it now is, with its slots, ETag (and Location for a 201). */
void campaign_answer(struct call *call, int status, const char *id);
/* The Origin check of a write that has no JSON body (DELETE, a file). */
bool campaign_origin_ok(struct call *call);

void handle_create(struct call *call);
void handle_update(struct call *call, const char *id);
/* The slots of l inserted into campaign id and answered 201 (a transaction open): the
 * first alone (one), else {"crees": n, "creneaux": [...]}. */
struct slot_list;
void campaign_slots_answer(struct call *call, const char *id, const struct slot_list *l,
    bool one);
/* A slot write's start: the address, the JSON body (answered refusals: NULL), the
 * transaction with the campaign locked; the campaign's zone into tz (65 bytes). */
cJSON *campaign_slot_write_begin(struct call *call, struct campaign_address *a, char *tz);
void handle_slot_add(struct call *call);
void handle_slot_series(struct call *call);
void handle_slot_import(struct call *call);
void handle_slot_edit(struct call *call);
void handle_slot_remove(struct call *call);
void handle_slot_order(struct call *call);
void handle_duplicate(struct call *call);
void handle_matrix(struct call *call);
void handle_export(struct call *call);
/* campaigns_participants.c: participants and invitations (sql/0018) */
void handle_participants_list(struct call *call);
void handle_participant_add(struct call *call);
void handle_participant_remove(struct call *call);
void handle_participants_import(struct call *call);
void handle_participants_invite(struct call *call);
void handle_campaign_access(struct call *call);
/* campaigns_reminders.c: reminders and those who have not answered (sql/0022) */
void handle_reminders_get(struct call *call);
void handle_reminders_schedule(struct call *call);
void handle_participants_remind(struct call *call);
void handle_no_answer_export(struct call *call);

#endif
