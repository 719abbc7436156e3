/* The argv parser of the programs of cron/ (lib/cli.c): a table of command lines, each with
 * what cli_next reads from it and what it says; then the help written from the table. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "unit.h"

enum opt { OPT_DRY_RUN, OPT_RULES, OPT_CONFIRM, OPT__MAX };

static const struct cli_option options[OPT__MAX + 1] = {
	[OPT_DRY_RUN] = { "dry-run", NULL, "ne fait rien" },
	[OPT_RULES] = { "rules", "FICHIER", "les règles\nsur deux lignes" },
	[OPT_CONFIRM] = { "confirm", NULL, "confirme" },
};

/* Parses line (words separated by spaces) and describes what was read: "dry-run rules=F
 * operand=X done", or "... exit=STATUS"; *out and *err get what was printed. */
static void
trace(bool operands, const char *line, char *desc, size_t desclen, char **out, char **err)
{
	struct cli c = { .program = "fiable-essai", .summary = "un essai",
	    .synopsis = "[--dry-run] [--rules FICHIER]", .options = options,
	    .operands = operands, .notes = "Code de sortie : 0 ou 64." };
	char copy[256], *argv[16], *save = NULL, *w;
	const char *arg;
	size_t outlen, errlen, used = 0;
	int argc = 0, r;

	snprintf(copy, sizeof(copy), "fiable-essai %s", line);
	for (w = strtok_r(copy, " ", &save); w != NULL && argc < 15; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	c.out = open_memstream(out, &outlen);
	c.err = open_memstream(err, &errlen);
	desc[0] = '\0';
	do {
		r = cli_next(&c, argc, argv, &arg);
		if (r >= 0)
			used += (size_t)snprintf(desc + used, desclen - used, "%s%s%s ",
			    options[r].name, arg ? "=" : "", arg ? arg : "");
		else if (r == CLI_OPERAND)
			used += (size_t)snprintf(desc + used, desclen - used, "operand=%s ", arg);
		else if (r == CLI_EXIT)
			used += (size_t)snprintf(desc + used, desclen - used, "exit=%d", c.status);
		else
			used += (size_t)snprintf(desc + used, desclen - used, "done");
	} while (r != CLI_DONE && r != CLI_EXIT && used < desclen);
	fclose(c.out);
	fclose(c.err);
}

int
main(void)
{
	static const struct {
		bool operands;
		const char *line;
		const char *want;
		const char *err;        /* what stderr must contain, NULL: nothing */
	} cases[] = {
		{ false, "", "done", NULL },
		{ false, "--dry-run", "dry-run done", NULL },
		{ false, "--rules r.json --dry-run", "rules=r.json dry-run done", NULL },
		{ false, "--rules=r.json", "rules=r.json done", NULL },
		/* The argument is the next word, whatever it looks like (as before getopt). */
		{ false, "--rules --dry-run", "rules=--dry-run done", NULL },
		{ false, "--help", "exit=0", NULL },
		{ false, "-h", "exit=0", NULL },
		{ false, "--dry-run --version", "dry-run exit=0", NULL },
		{ false, "--nonsense", "exit=64", "fiable-essai : argument inconnu : --nonsense\n"
		    "Essayez « fiable-essai --help » pour l'aide.\n" },
		/* Abbreviations are not names: --dry was unknown before getopt, and stays so. */
		{ false, "--dry", "exit=64", "argument inconnu : --dry\n" },
		{ false, "--conf", "exit=64", "argument inconnu : --conf\n" },
		{ false, "--rul x", "exit=64", "argument inconnu : --rul\n" },
		{ false, "--vers", "exit=64", "argument inconnu : --vers\n" },
		{ false, "--rules", "exit=64", "l'option --rules demande une valeur (FICHIER)" },
		{ false, "--dry-run=oui", "exit=64", "l'option --dry-run ne prend pas de valeur" },
		{ false, "--help=oui", "exit=64", "l'option --help ne prend pas de valeur" },
		{ false, "-x", "exit=64", "argument inconnu : -x\n" },
		{ false, "extra", "exit=64", "argument inconnu : extra\n" },
		{ false, "--dry-run -- extra", "dry-run exit=64", "argument inconnu : extra\n" },
		{ true, "set a --confirm b", "operand=set operand=a confirm operand=b done", NULL },
		{ true, "a -- --confirm", "operand=a operand=--confirm done", NULL },
		{ true, "a --bruit", "operand=a exit=64", "argument inconnu : --bruit\n" },
	};
	char desc[512], *out = NULL, *err = NULL;
	size_t i;

	/* Operands come back in order even where POSIXLY_CORRECT would stop at the first. */
	setenv("POSIXLY_CORRECT", "1", 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		trace(cases[i].operands, cases[i].line, desc, sizeof(desc), &out, &err);
		CHECK(strcmp(desc, cases[i].want) == 0, "« %s » : %s au lieu de %s", cases[i].line,
		    desc, cases[i].want);
		if (cases[i].err != NULL)
			CHECK(strstr(err, cases[i].err) != NULL, "« %s » : stderr %s", cases[i].line,
			    err);
		else
			CHECK(err[0] == '\0', "« %s » : stderr %s", cases[i].line, err);
		free(out);
		free(err);
	}

	/* The help is written from the table. */
	trace(false, "--help", desc, sizeof(desc), &out, &err);
	CHECK(strncmp(out, "fiable-essai — un essai\n\nUsage : fiable-essai [--dry-run] "
	    "[--rules FICHIER]\n\nOptions :\n", strlen("fiable-essai — un essai\n\nUsage : "
	    "fiable-essai [--dry-run] [--rules FICHIER]\n\nOptions :\n")) == 0, "%s", out);
	CHECK(strstr(out, "\n  --rules FICHIER  les règles\n                   sur deux lignes\n")
	    != NULL, "%s", out);
	CHECK(strstr(out, "\n  --version        affiche le nom et la version") != NULL, "%s", out);
	CHECK(strstr(out, "\nCode de sortie : 0 ou 64.\n") != NULL, "%s", out);
	CHECK(strstr(out, "Variables d'environnement :\n  FIABLE_DATABASE_URL") != NULL, "%s", out);
	free(out);
	free(err);
	trace(false, "--version", desc, sizeof(desc), &out, &err);
	CHECK(strcmp(out, "fiable-essai (Fiable) " FIABLE_VERSION "\n") == 0, "%s", out);
	free(out);
	free(err);

	/* A table cell counts characters, not bytes. */
	{
		size_t len;
		FILE *f = open_memstream(&out, &len);
		cli_cell(f, "ÉTAT", 6);
		cli_cell(f, "trop long", 3);
		fclose(f);
		CHECK(strcmp(out, "ÉTAT  trop long") == 0, "« %s »", out);
		free(out);
	}
	return UNIT_END();
}
