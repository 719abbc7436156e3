/* cli.c — one argv parser for the programs of cron/ (see cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

#ifndef FIABLE_VERSION
#error "FIABLE_VERSION (CMake's PROJECT_VERSION) must be defined"
#endif

/* getopt_long's values: the index of an option in the table, shifted out of the range of
 * the characters, and the two options every program has. */
#define VAL_FIRST 256
#define VAL_VERSION (VAL_FIRST + CLI_OPTIONS_MAX + 1)

static FILE *
out_of(const struct cli *c)
{
	return c->out != NULL ? c->out : stdout;
}

static FILE *
err_of(const struct cli *c)
{
	return c->err != NULL ? c->err : stderr;
}

static void vusage_error(const struct cli *c, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
vusage_error(const struct cli *c, const char *fmt, va_list ap)
{
	FILE *err = err_of(c);

	fprintf(err, "%s : ", c->program);
	vfprintf(err, fmt, ap);
	fprintf(err, "\nEssayez « %s --help » pour l'aide.\n", c->program);
}

int
cli_usage_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vusage_error(c, fmt, ap);
	va_end(ap);
	return CLI_USAGE;
}

/* Says a usage error and returns CLI_EXIT. */
static int
fail(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vusage_error(c, fmt, ap);
	va_end(ap);
	c->status = CLI_USAGE;
	return CLI_EXIT;
}

/* Builds getopt_long's table from the program's; false when it is too long (a programming
 * error, said once). */
static bool
start(struct cli *c)
{
	size_t i;

	for (i = 0; c->options[i].name != NULL; i++) {
		if (i == CLI_OPTIONS_MAX) {
			fprintf(err_of(c), "%s : plus de %d options (CLI_OPTIONS_MAX)\n", c->program,
			    CLI_OPTIONS_MAX);
			return false;
		}
		c->long_options[i].name = c->options[i].name;
		c->long_options[i].has_arg = c->options[i].arg ? required_argument : no_argument;
		c->long_options[i].flag = NULL;
		c->long_options[i].val = VAL_FIRST + (int)i;
	}
	c->long_options[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	c->long_options[i++] = (struct option){ "version", no_argument, NULL, VAL_VERSION };
	c->long_options[i] = (struct option){ NULL, 0, NULL, 0 };
	/* 0, not 1: glibc then forgets the state of a previous parse (the unit tests parse
	 * several argv in one process). */
	optind = 0;
	opterr = 0;
	c->started = true;
	return true;
}

/* True when the element that named a long option spells it whole (getopt_long also takes
 * any unambiguous prefix: --conf for --confirm). */
static bool
spelled_whole(const char *element, const char *name)
{
	size_t len = strlen(name);

	return strncmp(element, "--", 2) == 0 && strncmp(element + 2, name, len) == 0 &&
	    (element[2 + len] == '\0' || element[2 + len] == '=');
}

int
cli_next(struct cli *c, int argc, char **argv, const char **arg)
{
	const char *element;
	int val, index = -1;

	*arg = NULL;
	if (!c->started && !start(c)) {
		c->status = 1;
		return CLI_EXIT;
	}
	/* '-': operands come back in order (as 1), whatever POSIXLY_CORRECT says; ':': a
	 * missing argument is told apart from an unknown option. */
	val = c->rest > 0 ? -1 : getopt_long(argc, argv, "-:h", c->long_options, &index);
	if (val == -1) {
		/* After "--", the rest are operands; getopt, asked again, would give them back
		 * from the first each time. */
		if (c->rest == 0)
			c->rest = optind;
		if (c->rest >= argc)
			return CLI_DONE;
		element = argv[c->rest++];
		if (!c->operands)
			return fail(c, "argument inconnu : %s", element);
		*arg = element;
		return CLI_OPERAND;
	}
	if (index >= 0) {
		/* A long option: its name is the element before its separate argument, if any. */
		element = argv[optind - 1];
		if (optarg != NULL && optarg == argv[optind - 1] && optind >= 2)
			element = argv[optind - 2];
		if (!spelled_whole(element, c->long_options[index].name))
			return fail(c, "argument inconnu : %s", element);
	}
	switch (val) {
	case 1:
		if (!c->operands)
			return fail(c, "argument inconnu : %s", optarg);
		*arg = optarg;
		return CLI_OPERAND;
	case 'h':
		cli_help(c, out_of(c));
		c->status = 0;
		return CLI_EXIT;
	case VAL_VERSION:
		fprintf(out_of(c), "%s (Fiable) %s\n", c->program, FIABLE_VERSION);
		c->status = 0;
		return CLI_EXIT;
	case ':':
		if (optopt >= VAL_FIRST && optopt < VAL_FIRST + CLI_OPTIONS_MAX)
			return fail(c, "l'option --%s demande une valeur (%s)",
			    c->options[optopt - VAL_FIRST].name, c->options[optopt - VAL_FIRST].arg);
		return fail(c, "une option demande une valeur");
	case '?':
		/* optopt: 0 for an unknown long option, its value for one given a value it does
		 * not take (--dry-run=oui), the character for an unknown short one. */
		if (optopt == 0)
			return fail(c, "argument inconnu : %s", argv[optind - 1]);
		if (optopt == 'h' || optopt == VAL_VERSION)
			return fail(c, "l'option --%s ne prend pas de valeur",
			    optopt == 'h' ? "help" : "version");
		if (optopt >= VAL_FIRST && optopt < VAL_FIRST + CLI_OPTIONS_MAX)
			return fail(c, "l'option --%s ne prend pas de valeur",
			    c->options[optopt - VAL_FIRST].name);
		return fail(c, "argument inconnu : -%c", optopt);
	default:
		if (val >= VAL_FIRST && val < VAL_FIRST + CLI_OPTIONS_MAX) {
			*arg = optarg;
			return val - VAL_FIRST;
		}
		return fail(c, "argument inconnu");
	}
}

/* "--name ARG": the left column of the help. */
static void
label(const char *name, const char *argname, char *out, size_t len)
{
	snprintf(out, len, "--%s%s%s", name, argname ? " " : "", argname ? argname : "");
}

/* Prints text, each '\n' followed by indent spaces. */
static void
indented(FILE *out, const char *text, int indent)
{
	const char *p;

	for (p = text; *p != '\0'; p++) {
		fputc(*p, out);
		if (*p == '\n')
			fprintf(out, "%*s", indent, "");
	}
	fputc('\n', out);
}

void
cli_help(const struct cli *c, FILE *out)
{
	static const struct cli_option common[] = {
		{ "help", NULL, "affiche cette aide et s'arrête (aussi -h)" },
		{ "version", NULL, "affiche le nom et la version du programme et s'arrête" },
		{ NULL, NULL, NULL },
	};
	const struct cli_option *tables[2] = { c->options, common };
	const char *line, *next;
	char text[128];
	int t, width = 0;
	size_t i;

	fprintf(out, "%s — %s\n\n", c->program, c->summary);
	if (strchr(c->synopsis, '\n') == NULL) {
		fprintf(out, "Usage : %s %s\n\n", c->program, c->synopsis);
	} else {
		fputs("Usage :\n", out);
		for (line = c->synopsis; *line != '\0'; line = next) {
			next = strchr(line, '\n');
			next = next ? next + 1 : line + strlen(line);
			fprintf(out, "  %s %.*s\n", c->program, (int)(next - line -
			    (next[-1] == '\n')), line);
		}
		fputc('\n', out);
	}
	for (t = 0; t < 2; t++)
		for (i = 0; tables[t][i].name != NULL; i++) {
			label(tables[t][i].name, tables[t][i].arg, text, sizeof(text));
			if ((int)strlen(text) > width)
				width = (int)strlen(text);
		}
	fputs("Options :\n", out);
	for (t = 0; t < 2; t++)
		for (i = 0; tables[t][i].name != NULL; i++) {
			label(tables[t][i].name, tables[t][i].arg, text, sizeof(text));
			fprintf(out, "  %-*s  ", width, text);
			indented(out, tables[t][i].help, width + 4);
		}
	if (c->notes != NULL)
		fprintf(out, "\n%s\n", c->notes);
	if (c->more_help != NULL)
		c->more_help(out);
	fputc('\n', out);
	config_usage(out);
}

bool
cli_config_load(const struct cli *c, struct config *cfg)
{
	char err[512];

	if (config_load(cfg, err, sizeof(err)) != 0) {
		fprintf(err_of(c), "%s : configuration : %s\n", c->program, err);
		return false;
	}
	return true;
}

void
cli_cell(FILE *out, const char *s, int width)
{
	int n = 0;
	const char *p;

	for (p = s; *p != '\0'; p++)
		n += ((unsigned char)*p & 0xc0) != 0x80;
	fprintf(out, "%s%*s", s, width > n ? width - n : 0, "");
}
