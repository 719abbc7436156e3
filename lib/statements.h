/* statements.h — every SQL statement the programs run, named; the text is in statements.c.
 * They are prepared lazily on each connection and prepared again after a reconnection. */
#ifndef FIABLE_STATEMENTS_H
#define FIABLE_STATEMENTS_H

enum stmt {
	STMT_PING,
	STMT_UNKNOWN_SLOTS,
	STMT_IDEMPOTENCY_CLAIM,
	STMT_IDEMPOTENCY_LOOKUP,
	STMT_IDEMPOTENCY_STORE,
	STMT_SUBMISSION_INSERT,
	STMT_AUDIT_APPEND,
	STMT_METRIC_RECORD,
	STMT_FORM_SLOTS,
	STMT_FORM_FLAGS,
	STMT_TIMEZONE_CHECK,
	/* modification, withdrawal, restoration, links */
	STMT_SUBMISSION_BY_ID,
	STMT_SUBMISSION_LOCK_BY_TOKEN,
	STMT_SUBMISSION_LOCK_BY_ID,
	STMT_SUBMISSION_UPDATE,
	STMT_SUBMISSION_WITHDRAW,
	STMT_SUBMISSION_UNDELETE,
	STMT_SUBMISSION_CONTENT_AT,
	STMT_SUBMISSION_ACTIVE_BY_EMAIL,
	STMT_SUBMISSION_SET_TOKEN,
	STMT_LINK_RECENT,
	STMT_LINK_RECORD,
	/* mail outbox */
	STMT_OUTBOX_ENQUEUE,
	STMT_OUTBOX_DUE,
	STMT_OUTBOX_SENT,
	STMT_OUTBOX_RETRY,
	STMT_OUTBOX_GIVE_UP,
	STMT_OUTBOX_DUE_COUNT,
	/* backups (section of issue 6) */
	/* metrics and alerts (section of issue 5) */
	STMT__MAX
};

struct stmt_def {
	const char *name;
	const char *sql;
	int nparams;
};

const struct stmt_def *stmt_get(enum stmt s);

#endif
