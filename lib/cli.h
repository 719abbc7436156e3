/* cli.h — the command line of the programs of cron/ (run by cron, systemd or by hand): each
 * program declares its options in one table indexed by an enum, and reads them with
 * cli_next (getopt_long underneath); --help and --version come with every table, and the
 * help text is written from the table, so an option and its help line cannot drift apart. */
#ifndef FIABLE_CLI_H
#define FIABLE_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <getopt.h>

#include "config.h"

/* Exit status of a usage error (sysexits' EX_USAGE, what the programs always returned). */
#define CLI_USAGE 64
/* Options a table may hold, --help and --version not counted. */
#define CLI_OPTIONS_MAX 16

/* A limit's macro as text, for a help line built from the limit itself. */
#define CLI_TEXT(x) CLI_TEXT_(x)
#define CLI_TEXT_(x) #x

/* cli_next's answers that are not an option's index. */
enum {
	CLI_DONE = -1,     /* no more arguments */
	CLI_EXIT = -2,     /* stop now and return c->status: --help or --version answered (0),
	                    * or a usage error said on stderr (CLI_USAGE) */
	CLI_OPERAND = -3,  /* an argument that is not an option (only when c->operands) */
};

/* One option: --name, or --name ARG when arg is set. */
struct cli_option {
	const char *name;  /* long name, without "--"; NULL ends the table */
	const char *arg;   /* the argument's name in the help ("FICHIER"); NULL: takes none */
	const char *help;  /* in French; a '\n' starts a continuation line */
};

struct cli {
	const char *program;    /* "fiable-..." */
	const char *summary;    /* what the program does, after "PROGRAM — " */
	const char *synopsis;   /* the usage forms, one a line, each after the program's name */
	const struct cli_option *options;  /* indexed by the program's enum, ends with { NULL } */
	bool operands;          /* arguments other than options are returned (CLI_OPERAND);
	                         * otherwise each one is a usage error */
	const char *notes;      /* printed after the options (exit status...), or NULL */
	void (*more_help)(FILE *out);  /* printed after notes (lists built at run time), or NULL */
	FILE *out, *err;        /* NULL: stdout and stderr (tests capture them) */

	/* Set by cli_next. */
	int status;             /* with CLI_EXIT */
	bool started;
	int rest;               /* once getopt is done: the next operand after "--" */
	struct option long_options[CLI_OPTIONS_MAX + 3];
};

/* Reads the next argument of argv: the index of the option in c->options (its argument, if
 * it takes one, in *arg), CLI_OPERAND (the text in *arg), CLI_DONE, or CLI_EXIT. Names are
 * taken whole: an abbreviation (--dry for --dry-run) is a usage error, as before getopt.
 * Options and operands are returned in the order given (POSIXLY_CORRECT changes nothing). */
int cli_next(struct cli *c, int argc, char **argv, const char **arg);

/* The help: summary, usage forms, options, notes, then the settings (config_usage). */
void cli_help(const struct cli *c, FILE *out);

/* For a usage error the program finds itself (a value out of range, a missing option):
 * "PROGRAM : message" and the hint to --help on stderr; returns CLI_USAGE. */
int cli_usage_error(const struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* config_load, saying why on stderr ("PROGRAM : configuration : ..."); false on failure. */
bool cli_config_load(const struct cli *c, struct config *cfg);

/* Prints s left-aligned in a column of width characters of a terminal (UTF-8 aware: « é »
 * takes one column), for the programs' tables. */
void cli_cell(FILE *out, const char *s, int width);

#endif
