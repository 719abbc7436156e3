/* fiable-flags — the feature flags from a shell (rollback scenario 2 of the plan), for when
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

#include "config.h"
#include "db.h"
#include "flags.h"
#include "log.h"

#define PROGRAM "fiable-flags"
#define ACTOR_MAX 64

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out, "%s — fonctionnalités activables (scénario 2 du plan de retour arrière)\n\n"
	    "  %s                                  liste les fonctionnalités et leur état\n"
	    "  %s set NOM on|off [--actor NOM]     active (on) ou désactive (off) une "
	    "fonctionnalité ;\n"
	    "                                      le journal d'audit l'attribue à cli:<utilisateur>\n"
	    "                                      (l'utilisateur du système, ou --actor)\n\n"
	    "Fonctionnalités :", PROGRAM, PROGRAM, PROGRAM);
	for (i = 0; flag_at(i) != NULL; i++)
		fprintf(out, "%s %s", i ? "," : "", flag_at(i)->name);
	fprintf(out, ".\n\nCode de sortie : 0 terminé, 1 erreur de configuration ou de base de "
	    "données,\n64 usage incorrect.\n\n");
	config_usage(out);
}

/* Prints s then spaces up to width characters (UTF-8 characters, not bytes). */
static void
put_column(const char *s, size_t width)
{
	size_t chars = 0;
	const char *p;

	for (p = s; *p != '\0'; p++)
		chars += ((unsigned char)*p & 0xC0) != 0x80;
	fputs(s, stdout);
	for (; chars < width; chars++)
		putchar(' ');
}

/* One line: name, state, last change (UTC), by whom, label. */
static void
put_row(const char *const cols[5])
{
	static const size_t widths[4] = { 15, 12, 22, 20 };
	size_t i;

	for (i = 0; i < 4; i++) {
		put_column(cols[i] ? cols[i] : "", widths[i]);
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
		fprintf(stderr, "%s : lecture impossible (%s)\n", PROGRAM,
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
		fprintf(stderr, "%s : la fonctionnalité %s n'existe pas dans la base "
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
	fprintf(stderr, "%s : changement non enregistré (%s)\n", PROGRAM,
	    db_lost(db) ? "base de données injoignable" : db_error(db));
	return 1;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct passwd *pw;
	struct db *db;
	const char *name = NULL, *user = NULL;
	char err[256], uid[32];
	bool set = false, enabled = false;
	int i, rc;

	log_init(PROGRAM);
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "set") == 0) {
		set = true;
		if (argc < 4)
			goto bad_usage;
		name = argv[2];
		if (flag_find(name) == NULL) {
			fprintf(stderr, "%s : fonctionnalité inconnue : %s\n\n", PROGRAM, name);
			usage(stderr);
			return 64;
		}
		if (strcmp(argv[3], "on") == 0)
			enabled = true;
		else if (strcmp(argv[3], "off") != 0) {
			fprintf(stderr, "%s : état inconnu : %s (on ou off)\n", PROGRAM, argv[3]);
			return 64;
		}
		for (i = 4; i < argc; i++) {
			if (strcmp(argv[i], "--actor") == 0 && i + 1 < argc && user == NULL)
				user = argv[++i];
			else
				goto bad_usage;
		}
		if (user != NULL && !valid_actor(user)) {
			fprintf(stderr, "%s : --actor : de 1 à %d caractères parmi lettres, chiffres "
			    "et . _ @ -\n", PROGRAM, ACTOR_MAX);
			return 64;
		}
	} else if (argc > 2 || (argc == 2 && strcmp(argv[1], "list") != 0)) {
		goto bad_usage;
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

	if (config_load(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s : configuration : %s\n", PROGRAM, err);
		return 1;
	}
	if ((db = db_open(cfg.database_url)) == NULL) {
		fprintf(stderr, "%s : mémoire insuffisante\n", PROGRAM);
		return 1;
	}
	if (!db_ensure(db)) {
		fprintf(stderr, "%s : base de données injoignable (FIABLE_DATABASE_URL)\n", PROGRAM);
		rc = 1;
	} else {
		rc = set ? set_flag(db, name, enabled, user) : list_flags(db);
	}
	db_close(db);
	return rc;

bad_usage:
	fprintf(stderr, "%s : arguments incorrects\n\n", PROGRAM);
	usage(stderr);
	return 64;
}
