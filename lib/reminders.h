/* reminders.h — reminders to the participants who have not answered (sql/0022): one
 * reminder is a row of relances, manual (an administrator's click) or automatic (so many
 * hours before the campaign's closing, sent by cron/fiable-reminders), and a row of
 * relances_envois per person written to, which its primary key makes unique: the same
 * reminder never writes twice to one person, even with two senders at once. Whom a reminder
 * writes to is one rule, REMINDER_TARGETS in statements.c. Each mail carries the person's
 * personal link again (the same token: participants.h) and List-Unsubscribe. */
#ifndef FIABLE_REMINDERS_H
#define FIABLE_REMINDERS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "db.h"
#include "http.h"

#define REMINDER_SCHEDULE_MAX 5     /* campagnes.relances_heures CHECK */
#define REMINDER_HOURS_MAX 2160     /* 90 days before the closing */

/* What a reminder is: manual (admin set: the administrator's name) or automatic (hours
 * before the closing). */
struct reminder {
	const char *admin;
	int hours;
};

/* What reminder_run did. */
enum reminder_outcome {
	REMINDER_SENT,        /* *sent mails queued (maybe 0) */
	REMINDER_NOT_OPEN,    /* the campaign takes no answers now: nothing done */
	REMINDER_FAILED,      /* a database failure: roll back */
};

/* In the current transaction: locks campaign id, records reminder r (an automatic one
 * already done records and sends nothing; a manual one with nobody to remind records
 * nothing), queues one mail per person to remind, audits it (actor: "admin:<name>", or
 * "cron:fiable-reminders"; req may be NULL) and sets *sent. */
enum reminder_outcome reminder_run(struct db *db, const struct config *cfg,
    const struct http_request *req, const char *id, const struct reminder *r, int *sent);

/* The schedule of a body {heures: [h, ...]} (unknown members refused; at most
 * REMINDER_SCHEDULE_MAX distinct whole hours from 1 to REMINDER_HOURS_MAX) as a JSON array
 * text into out; false with a French message in errors. */
bool reminder_schedule_parse(const cJSON *root, char *out, size_t cap, cJSON *errors);

#endif
