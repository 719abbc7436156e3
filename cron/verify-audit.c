/* fiable-verify-audit — proves that the audit log was not altered (sql/0008); from cron
 * (cron/crontab.example), or by hand:
 *
 *     fiable-verify-audit [--manifest FICHIER]...
 *
 * Each row of audit_logs is sealed after its commit by fiable-audit-sealer (sql/0026): its
 * link in audit_chain carries seq (1, 2, 3...), prev_hash (the hash of the link before it,
 * 64 zeros for the first), the SHA-256 of the row's content taken at insert (content_hash)
 * and hash = SHA-256(prev_hash "\n" canonical), where canonical is the row's content as
 * audit_logs_canonical() writes it (the links of 0008 were copied there unchanged). This
 * program reads the whole chain in one REPEATABLE READ snapshot, recomputes every hash
 * itself (OpenSSL) and names the first link where the chain breaks: a modified row, a row or
 * link removed or inserted, a link rewritten. Then the rows not sealed yet: each must still
 * match the hash taken at its insert, and none may wait longer than FIABLE_AUDIT_SEAL_MAX_S
 * (the sealer is down, or a row was taken off the queue). A chain rewritten from some row to the end is consistent with itself: the
 * heads recorded with every successful backup (backup_metadata) and those of the manifests
 * given with --manifest (copies kept at the backup destination, out of the database's reach)
 * must still be found at their place in the chain.
 *
 * Exit status: 0 intact, 1 failure (database unreachable, unreadable manifest), 2 the chain
 * is broken (the first broken row is named) or a row waits for its seal past the bound,
 * 64 bad usage. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "cli.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "num.h"

#define PROGRAM "fiable-verify-audit"
#define HASH_HEX (2 * SHA256_LEN)
#define MANIFESTS_MAX 64
#define MANIFEST_BYTES_MAX (1 << 20)
#define PROGRESS_EVERY 100000

struct chain {
	long long rows;
	long long seq;                  /* of the last row read */
	char id[24];                    /* of the last row read */
	char hash[HASH_HEX + 1];        /* stored hash of the last row read */
	char broken[1024];              /* the first break, "" when none */
};

/* The rows of audit_logs without a link yet (sql/0026). */
struct unsealed {
	long long rows;
	long long oldest_s;             /* age of the oldest one, in seconds */
	long long bad;                  /* not matching the hash of their insert, or not queued */
	char oldest_id[24];
};

enum opt { OPT_MANIFEST, OPT__MAX };

static const struct cli_option options[OPT__MAX + 1] = {
	[OPT_MANIFEST] = { "manifest", "FICHIER", "manifeste de sauvegarde dont la tête de chaîne "
	    "doit se trouver à sa place\n(répétable, au plus " CLI_TEXT(MANIFESTS_MAX) " fois)" },
};

static struct cli cli = {
	.program = PROGRAM,
	.summary = "vérifie la chaîne d'empreintes du journal d'audit.",
	.synopsis = "[--manifest FICHIER]...",
	.options = options,
	.notes = "Recalcule l'empreinte SHA-256 de chaque ligne de audit_logs, dans l'ordre de la\n"
	    "chaîne, et nomme la première ligne où elle casse (ligne modifiée, retirée ou\n"
	    "intercalée). Vérifie aussi que la tête de chaîne inscrite avec chaque sauvegarde\n"
	    "réussie (backup_metadata) se trouve toujours à sa place, ainsi que celle de chaque\n"
	    "manifeste de sauvegarde donné avec --manifest (copie gardée à la destination des\n"
	    "sauvegardes, hors de portée de la base). Enfin, chaque ligne pas encore scellée\n"
	    "(fiable-audit-sealer) doit correspondre à l'empreinte prise à son ajout et attendre\n"
	    "depuis moins de FIABLE_AUDIT_SEAL_MAX_S secondes.\n\n"
	    "Code de sortie : 0 chaîne intacte, 1 échec, 2 chaîne cassée ou ligne non scellée\n"
	    "au-delà de la borne, 64 usage.",
};

/* Checks one row against the row before it; false (with c->broken set) at a break. */
static bool
check_row(struct chain *c, const char *seq_text, const char *id, bool present,
    const char *prev_hash, const char *hash, const char *content_hash, const char *canonical)
{
	unsigned char digest[SHA256_LEN];
	char computed[HASH_HEX + 1];
	long long seq;
	size_t plen = strlen(prev_hash), clen = strlen(canonical);
	char *text;

	if (!num_parse(seq_text, 1, LLONG_MAX, &seq) || seq != c->seq + 1) {
		if (c->seq == 0)
			snprintf(c->broken, sizeof(c->broken), "la chaîne commence au maillon %s (ligne "
			    "id %s) au lieu du maillon 1 : des lignes ont été retirées avant elle",
			    seq_text, id);
		else
			snprintf(c->broken, sizeof(c->broken), "maillon %s (ligne id %s) : il suit le "
			    "maillon %lld (ligne id %s) : des lignes ont été retirées entre les deux",
			    seq_text, id, c->seq, c->id);
		return false;
	}
	if (strcmp(prev_hash, c->hash) != 0 && c->seq == 0) {
		snprintf(c->broken, sizeof(c->broken), "maillon 1 (ligne id %s) : son empreinte "
		    "précédente %.16s… n'est pas l'empreinte nulle du début de la chaîne : la ligne "
		    "a été modifiée ou remplacée", id, prev_hash);
		return false;
	}
	if (strcmp(prev_hash, c->hash) != 0) {
		snprintf(c->broken, sizeof(c->broken), "maillon %s (ligne id %s) : son empreinte "
		    "précédente %.16s… n'est pas celle du maillon %lld (ligne id %s, %.16s…) : l'une "
		    "des deux lignes a été modifiée ou remplacée", seq_text, id, prev_hash, c->seq,
		    c->id, c->hash);
		return false;
	}
	if (!present) {
		snprintf(c->broken, sizeof(c->broken), "maillon %s : la ligne id %s qu'il scelle a "
		    "été retirée du journal", seq_text, id);
		return false;
	}
	if ((text = malloc(plen + 1 + clen)) == NULL) {
		snprintf(c->broken, sizeof(c->broken), "mémoire insuffisante");
		return false;
	}
	memcpy(text, prev_hash, plen);
	text[plen] = '\n';
	memcpy(text + plen + 1, canonical, clen);
	sha256(text, plen + 1 + clen, digest);
	free(text);
	hex_encode(digest, SHA256_LEN, computed);
	if (strcmp(computed, hash) != 0) {
		snprintf(c->broken, sizeof(c->broken), "maillon %s (ligne id %s) : son contenu ne "
		    "correspond plus à son empreinte (enregistrée %.16s…, recalculée %.16s…) : la "
		    "ligne a été modifiée", seq_text, id, hash, computed);
		return false;
	}
	sha256(canonical, clen, digest);
	hex_encode(digest, SHA256_LEN, computed);
	if (strcmp(computed, content_hash) != 0) {
		snprintf(c->broken, sizeof(c->broken), "maillon %s (ligne id %s) : son contenu "
		    "scellé ne correspond pas à l'empreinte prise à son ajout (%.16s…, scellé "
		    "%.16s…) : la ligne a été modifiée avant son scellement", seq_text, id,
		    content_hash, computed);
		return false;
	}
	c->seq = seq;
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->hash, sizeof(c->hash), "%s", hash);
	c->rows++;
	if (c->rows % PROGRESS_EVERY == 0)
		log_info("%lld ligne(s) vérifiée(s)", c->rows);
	return true;
}

/* Walks the chain in the open transaction; -1 on a database error. */
static int
walk_chain(struct db *db, struct chain *c)
{
	PGresult *res = NULL;
	int i, n, ret = -1;

	memset(c, 0, sizeof(*c));
	memset(c->hash, '0', HASH_HEX);
	res = db_exec(db, STMT_AUDIT_CHAIN_DECLARE, NULL);
	if (!db_ok(res))
		goto fail;
	do {
		PQclear(res);
		res = db_exec(db, STMT_AUDIT_CHAIN_FETCH, NULL);
		if (!db_ok(res))
			goto fail;
		n = PQntuples(res);
		for (i = 0; i < n; i++)
			/* A NULL link or hash ("") breaks the chain like any other mismatch. */
			if (!check_row(c, db_text_or(res, i, "chain_seq", ""),
			    db_text_or(res, i, "id", ""),
			    strcmp(db_text_or(res, i, "present", "f"), "t") == 0,
			    db_text_or(res, i, "prev_hash", ""), db_text_or(res, i, "hash", ""),
			    db_text_or(res, i, "content_hash", ""), db_text_or(res, i, "canonical", "")))
				break;
	} while (n > 0 && c->broken[0] == '\0');
	PQclear(res);
	res = db_exec(db, STMT_AUDIT_CHAIN_CLOSE, NULL);
	if (!db_ok(res))
		goto fail;
	ret = 0;
fail:
	if (ret != 0)
		report_error("%s : lecture du journal d'audit impossible : %s\n", PROGRAM,
		    db_error(db));
	PQclear(res);
	return ret;
}

/* The heads recorded in backup_metadata: how many match, -1 on a database error; each one
 * that does not is printed and counted in *bad. */
static int
check_recorded_heads(struct db *db, int *bad)
{
	PGresult *res = db_exec(db, STMT_AUDIT_CHAIN_BACKUPS, NULL);
	int i, n, ok = 0;

	if (!db_ok(res)) {
		report_error("%s : lecture de backup_metadata impossible : %s\n", PROGRAM,
		    db_error(db));
		PQclear(res);
		return -1;
	}
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		const char *now = db_text_or(res, i, "hash_now", "");
		const char *hash = db_text_or(res, i, "audit_chain_hash", "");
		const char *id = db_text_or(res, i, "id", "");
		const char *started = db_text_or(res, i, "started", "");
		const char *seq = db_text_or(res, i, "audit_chain_seq", "");

		if (strcmp(now, hash) == 0) {
			ok++;
			continue;
		}
		(*bad)++;
		if (now[0] == '\0')
			report_error("%s : la sauvegarde %s du %s UTC a inscrit le maillon %s, qui "
			    "n'existe plus : des lignes du journal ont été retirées\n", PROGRAM, id,
			    started, seq);
		else
			report_error("%s : la sauvegarde %s du %s UTC a inscrit le maillon %s avec "
			    "l'empreinte %.16s… ; la ligne id %s qui l'occupe maintenant a %.16s… : la "
			    "chaîne a été réécrite depuis\n", PROGRAM, id, started, seq,
			    hash, db_text_or(res, i, "id_now", ""), now);
	}
	PQclear(res);
	return ok;
}

/* The rows not sealed yet, read in the open transaction: 0, or -1 on a database error. */
static int
read_unsealed(struct db *db, struct unsealed *u)
{
	PGresult *res = db_exec(db, STMT_AUDIT_UNSEALED, NULL);
	int ret = -1;

	memset(u, 0, sizeof(*u));
	if (db_ok(res) && db_int(res, 0, "n", 0, LLONG_MAX, &u->rows) &&
	    db_int(res, 0, "oldest_s", LLONG_MIN, LLONG_MAX, &u->oldest_s) &&
	    db_int(res, 0, "bad", 0, LLONG_MAX, &u->bad)) {
		snprintf(u->oldest_id, sizeof(u->oldest_id), "%s",
		    db_text_or(res, 0, "oldest_id", ""));
		ret = 0;
	} else {
		report_error("%s : lecture des lignes non scellées impossible : %s\n", PROGRAM,
		    db_error(db));
	}
	PQclear(res);
	return ret;
}

static char *
read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len;

	if (f == NULL) {
		snprintf(err, errlen, "%s : %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(MANIFEST_BYTES_MAX + 1)) == NULL) {
		snprintf(err, errlen, "mémoire insuffisante");
		goto fail;
	}
	len = fread(buf, 1, MANIFEST_BYTES_MAX + 1, f);
	if (ferror(f) || len > MANIFEST_BYTES_MAX) {
		snprintf(err, errlen, "%s : %s", path, ferror(f) ? "lecture impossible" :
		    "trop grand pour un manifeste");
		free(buf);
		buf = NULL;
		goto fail;
	}
	buf[len] = '\0';
fail:
	fclose(f);
	return buf;
}

/* One manifest's head: 0 found at its place, 1 not (printed), -1 failure (printed). */
static int
check_manifest(struct db *db, const char *path)
{
	struct backup_manifest *m = calloc(1, sizeof(*m));
	char err[512], seq[24], *json = NULL;
	const char *params[1] = { seq };
	PGresult *res = NULL;
	int ret = -1;

	if (m == NULL || (json = read_file(path, err, sizeof(err))) == NULL ||
	    backup_manifest_parse(json, m, err, sizeof(err)) != 0) {
		report_error("%s : manifeste %s : %s\n", PROGRAM, path,
		    m == NULL ? "mémoire insuffisante" : err);
		goto fail;
	}
	if (m->audit_chain_seq == 0) {
		report_error("%s : le manifeste %s (sauvegarde %lld) ne porte pas de tête de "
		    "chaîne (sauvegarde antérieure à la migration 0008, ou journal vide)\n", PROGRAM,
		    path, m->id);
		ret = 0;
		goto fail;
	}
	snprintf(seq, sizeof(seq), "%lld", m->audit_chain_seq);
	res = db_exec(db, STMT_AUDIT_CHAIN_AT, params);
	if (!db_ok(res)) {
		report_error("%s : lecture du journal d'audit impossible : %s\n", PROGRAM,
		    db_error(db));
		goto fail;
	}
	if (PQntuples(res) == 1 &&
	    strcmp(db_text_or(res, 0, "hash", ""), m->audit_chain_hash) == 0) {
		log_info("manifeste %s (sauvegarde %lld) : maillon %s présent, même empreinte", path,
		    m->id, seq);
		ret = 0;
	} else {
		report_error("%s : le manifeste %s (sauvegarde %lld du %s) a inscrit le maillon "
		    "%s avec l'empreinte %.16s… ; %s\n", PROGRAM, path, m->id, m->snapshot_at, seq,
		    m->audit_chain_hash, PQntuples(res) == 1 ? "la ligne qui l'occupe maintenant en "
		    "a une autre : la chaîne a été réécrite depuis" : "ce maillon n'existe plus : des "
		    "lignes du journal ont été retirées");
		ret = 1;
	}
fail:
	PQclear(res);
	free(json);
	free(m);
	return ret;
}

int
main(int argc, char **argv)
{
	const char *manifests[MANIFESTS_MAX];
	struct config cfg;
	struct chain chain;
	struct unsealed unsealed;
	struct db *db = NULL;
	PGresult *snapshot = NULL;
	const char *arg;
	int i, opt, nmanifests = 0, heads_ok, bad = 0, rc = 1;

	log_init(PROGRAM);
	while ((opt = cli_next(&cli, argc, argv, &arg)) != CLI_DONE) {
		switch (opt) {
		case OPT_MANIFEST:
			if (nmanifests == MANIFESTS_MAX)
				return cli_usage_error(&cli, "au plus %d manifestes", MANIFESTS_MAX);
			manifests[nmanifests++] = arg;
			break;
		default:	/* CLI_EXIT: --help, --version or a usage error */
			return cli.status;
		}
	}
	if (!cli_config_load(&cli, &cfg))
		return 1;
	/* The backup role reads audit_logs and backup_metadata, and writes nothing here. */
	if ((db = db_open(cfg.backup_database_url)) == NULL || !db_ensure(db)) {
		report_error("%s : base de données injoignable (BACKUP_DATABASE_URL ou "
		    "FIABLE_DATABASE_URL)\n", PROGRAM);
		goto done;
	}
	/* The chain and the heads, read in one snapshot. */
	if (!db_begin(db)) {
		report_error("%s : transaction impossible : %s\n", PROGRAM, db_error(db));
		goto done;
	}
	snapshot = db_exec(db, STMT_BACKUP_SNAPSHOT, NULL);
	if (!db_ok(snapshot)) {
		report_error("%s : instantané impossible : %s\n", PROGRAM, db_error(db));
		goto rollback;
	}
	if (walk_chain(db, &chain) != 0 || (heads_ok = check_recorded_heads(db, &bad)) < 0 ||
	    read_unsealed(db, &unsealed) != 0)
		goto rollback;
	for (i = 0; i < nmanifests; i++) {
		int r = check_manifest(db, manifests[i]);
		if (r < 0)
			goto rollback;
		bad += r;
	}
	if (chain.broken[0] != '\0') {
		report_error("%s : CHAÎNE CASSÉE : %s (%lld ligne(s) intactes avant elle)\n",
		    PROGRAM, chain.broken, chain.rows);
		rc = 2;
	} else if (bad > 0) {
		report_error("%s : CHAÎNE RÉÉCRITE : %lld ligne(s) cohérentes entre elles, mais "
		    "%d tête(s) de sauvegarde introuvable(s) (voir ci-dessus)\n", PROGRAM,
		    chain.rows, bad);
		rc = 2;
	} else if (unsealed.bad > 0) {
		report_error("%s : LIGNE MODIFIÉE AVANT SCELLEMENT : %lld ligne(s) non scellée(s) "
		    "ne correspondent plus à l'empreinte prise à leur ajout, ou ont été retirées de "
		    "la file du scelleur (%lld ligne(s) scellées intactes)\n", PROGRAM, unsealed.bad,
		    chain.rows);
		rc = 2;
	} else if (unsealed.rows > 0 && unsealed.oldest_s >= cfg.audit_seal_max_s) {
		report_error("%s : SCELLEMENT EN RETARD : %lld ligne(s) non scellée(s), la plus "
		    "ancienne (id %s) depuis %lld s, au-delà de la borne de %d s "
		    "(FIABLE_AUDIT_SEAL_MAX_S) : fiable-audit-sealer --watch est-il en marche ? "
		    "(%lld ligne(s) scellées intactes)\n", PROGRAM, unsealed.rows, unsealed.oldest_id,
		    unsealed.oldest_s, cfg.audit_seal_max_s, chain.rows);
		rc = 2;
	} else {
		report_info("%s : chaîne intacte : %lld ligne(s)%s%.16s%s ; %d tête(s) de "
		    "sauvegarde et %d manifeste(s) concordent ; %lld ligne(s) en attente de "
		    "scellement depuis au plus %lld s (borne : %d s)\n", PROGRAM, chain.rows,
		    chain.rows > 0 ? ", tête " : "", chain.rows > 0 ? chain.hash : "",
		    chain.rows > 0 ? "…" : "", heads_ok, nmanifests, unsealed.rows,
		    unsealed.rows > 0 ? unsealed.oldest_s : 0, cfg.audit_seal_max_s);
		rc = 0;
	}
rollback:
	db_rollback(db);
done:
	PQclear(snapshot);
	db_close(db);
	return rc;
}
