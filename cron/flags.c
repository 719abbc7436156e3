/* fiable-flags — the feature flags from a shell (rollback scenario 2 of docs/plan-de-deploiement.md), for when
 * the administration page is out of reach:
 *
 *     fiable-flags                                    lists the flags and their state
 *     fiable-flags set NAME on|off [--actor NAME]     switches one, audited as cli:<user>
 *
 * The change and its audit row ('feature_flag.update') are written in ONE transaction, as
 * the administration's PUT /api/admin/fonctionnalites does (lib/flags.c).
 *
 * Exit status: 0 done (a flag already in that state included); 1 configuration or database
 * error; 64 usage (unknown command, flag or state). */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "flags.h"
#include "log.h"

#define PROGRAM "fiable-flags"
#define ACTOR_MAX 64

enum opt { OPT_ACTOR, OPT__MAX };

static const struct cli_option options[OPT__MAX + 1] = {
	[OPT_ACTOR] = { "actor", "NOM", "avec set : le nom inscrit au journal d'audit (cli:NOM) "
	    "au lieu de\nl'utilisateur du système" },
};

/* The names of the flags, known at run time. */
static void
list_names(FILE *out)
{
	size_t i;

	fputs("\nFonctionnalités :", out);
	for (i = 0; flag_at(i) != NULL; i++)
		fprintf(out, "%s %s", i ? "," : "", flag_at(i)->name);
	fputs(".\n", out);
}

static struct cli cli = {
	.program = PROGRAM,
	.summary = "fonctionnalités activables (scénario 2 du retour arrière de docs/plan-de-deploiement.md)",
	.synopsis = "[list]\nset NOM on|off [--actor NOM]",
	.options = options,
	.operands = true,
	.notes = "Sans argument (ou list) : liste les fonctionnalités et leur état.\n"
	    "set NOM on|off : active (on) ou désactive (off) une fonctionnalité ; le journal\n"
	    "d'audit l'attribue à cli:<utilisateur> (l'utilisateur du système, ou --actor).\n\n"
	    "Code de sortie : 0 terminé, 1 erreur de configuration ou de base de données,\n"
	    "64 usage incorrect.",
	.more_help = list_names,
};

/* One line: name, state, last change (UTC), by whom, label. */
static void
put_row(const char *const cols[5])
{
	static const int widths[4] = { 15, 12, 22, 20 };
	size_t i;

	for (i = 0; i < 4; i++) {
		cli_cell(stdout, cols[i] ? cols[i] : "", widths[i]);
		putchar(' ');
	}
	puts(cols[4] ? cols[4] : "");
}

static int
list_flags(struct db *db)
{
	static const char *const header[5] = { "NOM", "ÉTAT", "MODIFIÉE LE (UTC)", "PAR",
	    "LIBELLÉ" };
	const char *cols[5];
	const cJSON *f, *by;
	cJSON *list;

	if ((list = flags_list(db)) == NULL) {
		report_error("%s : lecture impossible (%s)\n", PROGRAM,
		    db_lost(db) ? "base de données injoignable" : db_error(db));
		return 1;
	}
	put_row(header);
	cJSON_ArrayForEach(f, list) {
		by = cJSON_GetObjectItemCaseSensitive(f, "modifie_par");
		cols[0] = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "nom"));
		cols[1] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "active")) ?
		    "activée" : "désactivée";
		cols[2] = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "modifie_le"));
		cols[3] = cJSON_IsString(by) ? by->valuestring : "—";
		cols[4] = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "libelle"));
		put_row(cols);
	}
	cJSON_Delete(list);
	return 0;
}

/* True for a name that can go into the audit row as is. */
static bool
valid_actor(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= ACTOR_MAX && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._@-") == n;
}

static int
set_flag(struct db *db, const char *name, bool enabled, const char *user)
{
	char actor[ACTOR_MAX + 8];
	enum flag_set_result res;
	bool was = false;

	snprintf(actor, sizeof(actor), "cli:%s", user);
	if (!db_begin(db))
		goto fail;
	res = flag_set(db, NULL, name, enabled, actor, &was);
	if (res == FLAG_SET_FAILED)
		goto fail;
	if (res == FLAG_SET_UNKNOWN) {
		db_rollback(db);
		report_error("%s : la fonctionnalité %s n'existe pas dans la base "
		    "(migrations appliquées ?)\n", PROGRAM, name);
		return 1;
	}
	if (!db_commit(db))
		goto fail;
	if (res == FLAG_SET_UNCHANGED)
		printf("%s : %s était déjà %s ; rien n'a changé.\n", PROGRAM, name,
		    enabled ? "activée" : "désactivée");
	else
		printf("%s : %s %s (par %s, inscrit au journal d'audit).\n", PROGRAM, name,
		    enabled ? "activée" : "désactivée", actor);
	return 0;
fail:
	db_rollback(db);
	report_error("%s : changement non enregistré (%s)\n", PROGRAM,
	    db_lost(db) ? "base de données injoignable" : db_error(db));
	return 1;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct passwd *pw;
	struct db *db;
	const char *words[3], *user = NULL, *arg;
	char uid[32];
	bool set = false, enabled = false;
	int opt, nwords = 0, rc;

	log_init(PROGRAM);
	while ((opt = cli_next(&cli, argc, argv, &arg)) != CLI_DONE) {
		switch (opt) {
		case OPT_ACTOR:
			if (user != NULL)
				return cli_usage_error(&cli, "--actor donné deux fois");
			user = arg;
			break;
		case CLI_OPERAND:
			if (nwords == 3)
				return cli_usage_error(&cli, "arguments en trop : %s", arg);
			words[nwords++] = arg;
			break;
		default:	/* CLI_EXIT: --help, --version or a usage error */
			return cli.status;
		}
	}
	if (nwords > 0 && strcmp(words[0], "set") == 0) {
		set = true;
		if (nwords < 3)
			return cli_usage_error(&cli, "set demande un nom et un état (on ou off)");
		if (flag_find(words[1]) == NULL)
			return cli_usage_error(&cli, "fonctionnalité inconnue : %s", words[1]);
		if (strcmp(words[2], "on") == 0)
			enabled = true;
		else if (strcmp(words[2], "off") != 0)
			return cli_usage_error(&cli, "état inconnu : %s (on ou off)", words[2]);
		if (user != NULL && !valid_actor(user))
			return cli_usage_error(&cli, "--actor : de 1 à %d caractères parmi lettres, "
			    "chiffres et . _ @ -", ACTOR_MAX);
	} else if (nwords > 1 || (nwords == 1 && strcmp(words[0], "list") != 0)) {
		return cli_usage_error(&cli, "arguments incorrects (list, ou set NOM on|off)");
	} else if (user != NULL) {
		return cli_usage_error(&cli, "--actor ne va qu'avec set");
	}
	if (set && user == NULL) {
		/* Whoever runs it: the login of the process (the environment may be empty). */
		pw = getpwuid(geteuid());
		if (pw != NULL && valid_actor(pw->pw_name)) {
			user = pw->pw_name;
		} else {
			snprintf(uid, sizeof(uid), "uid%lu", (unsigned long)geteuid());
			user = uid;
		}
	}

	if (!cli_config_load(&cli, &cfg))
		return 1;
	if ((db = db_open(cfg.database_url)) == NULL) {
		report_error("%s : mémoire insuffisante\n", PROGRAM);
		return 1;
	}
	if (!db_ensure(db)) {
		report_error("%s : base de données injoignable (FIABLE_DATABASE_URL)\n", PROGRAM);
		rc = 1;
	} else {
		rc = set ? set_flag(db, words[1], enabled, user) : list_flags(db);
	}
	db_close(db);
	return rc;
}
