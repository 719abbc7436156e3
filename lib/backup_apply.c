/* backup_apply.c — the restoration: after backup_load, in the same transaction, the
 * submissions of the backup brought back into the live tables (backup.h says how), and the
 * conflicts listed. A backup of format 1 has an empty scratch table of campaigns and its
 * slots and answers in the first campaign (backup_load). */
#include "backup.h"

#include <stdio.h>
#include <string.h>

int
backup_apply(struct db *db, long long backup_id, const char *email, const char *actor,
    struct backup_apply_result *r, FILE *report, char *err, size_t errlen)
{
	const char *lock[1] = { BACKUP_APPLY_LOCK_KEY };
	const char *who[1] = { actor };
	const char *params[3];
	char id[24];
	PGresult *res = NULL;
	long long n;
	int i, ret = -1;

	memset(r, 0, sizeof(*r));
	snprintf(id, sizeof(id), "%lld", backup_id);
	params[0] = email ? email : "";
	params[1] = id;
	params[2] = actor;
	if (!db_run(db, STMT_BACKUP_APPLY_LOCK, lock, "le verrou de restauration", err, errlen) ||
	    !db_run(db, STMT_BACKUP_APPLY_ACTOR, who, "l'auteur de la restauration", err,
	    errlen) ||
	    (r->considered = db_run_count(db, STMT_BACKUP_APPLY_CONSIDERED, params,
	    "le compte des réponses", err, errlen)) < 0)
		goto fail;
	if (email == NULL) {
		/* The audit rows first, and the sequences past them, so the rows this restoration
		 * appends (its own, and those the triggers write for the campaigns and slots put
		 * back) never take an id the backup holds. Then the campaigns, before what they
		 * hold. */
		if ((r->audit_added = db_run_count(db, STMT_BACKUP_APPLY_AUDIT_ROWS, NULL,
		    "l'ajout au journal d'audit", err, errlen)) < 0 ||
		    (r->audit_collisions = db_run_count(db, STMT_BACKUP_APPLY_AUDIT_COLLISIONS,
		    NULL, "la comparaison du journal d'audit", err, errlen)) < 0 ||
		    db_run_rows(db, STMT_BACKUP_APPLY_SEQUENCES, NULL, "l'avance des séquences",
		    err, errlen) < 0 ||
		    (r->campaigns_added = db_run_count(db, STMT_BACKUP_APPLY_CAMPAIGNS, NULL,
		    "l'ajout des campagnes", err, errlen)) < 0 ||
		    (r->slots_added = db_run_count(db, STMT_BACKUP_APPLY_SLOTS, NULL,
		    "l'ajout des créneaux", err, errlen)) < 0 ||
		    (r->participants_added = db_run_count(db, STMT_BACKUP_APPLY_PARTICIPANTS, NULL,
		    "l'ajout des participants", err, errlen)) < 0)
			goto fail;
	}
	if ((n = db_run_rows(db, STMT_BACKUP_APPLY_WITHDRAWN, params,
	    "la restauration des réponses retirées", err, errlen)) < 0)
		goto fail;
	r->updated += n;
	if ((n = db_run_rows(db, STMT_BACKUP_APPLY_ACTIVE, params,
	    "la restauration des réponses actives", err, errlen)) < 0)
		goto fail;
	r->updated += n;
	if ((r->inserted = db_run_rows(db, STMT_BACKUP_APPLY_INSERT, params,
	    "la réinsertion des réponses", err, errlen)) < 0)
		goto fail;
	res = db_exec(db, STMT_BACKUP_APPLY_CONFLICTS, params);
	if (!db_ok(res)) {
		db_failure_message(db, res, "la recherche des conflits", err, errlen);
		goto fail;
	}
	r->conflicts = PQntuples(res);
	for (i = 0; i < PQntuples(res); i++) {
		const char *rid = db_text_or(res, i, "id", "");
		const char *remail = db_text_or(res, i, "email", "");
		const char *holder = db_text_or(res, i, "holder", "");
		if (holder[0] != '\0')
			fprintf(report, "conflit : la réponse %s (%s) n'est pas restaurée : cette "
			    "adresse est active dans la réponse %s, laissée telle quelle\n",
			    rid, remail, holder);
		else
			fprintf(report, "conflit : la réponse %s (%s) n'est pas restaurée : son jeton "
			    "de modification est déjà pris par une autre réponse\n", rid, remail);
	}
	PQclear(res);
	res = NULL;
	if (db_run_rows(db, STMT_BACKUP_APPLY_SEQUENCES, NULL, "l'avance des séquences", err,
	    errlen) < 0)
		goto fail;
	ret = 0;
fail:
	PQclear(res);
	return ret;
}
