/*
 * config: settings from one declarative table. Each setting has a name, a
 * default, a checker and one line of help; values come from the defaults,
 * then a KEY=VALUE file, then the environment (HERALD_<NAME>), are checked
 * once at start-up and are read-only afterwards.
 */
#ifndef HERALD_CONFIG_H
#define HERALD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/err.h"

#define CONFIG_PREFIX "HERALD_"

struct config_def;

/* Check a value; set e (naming nothing: the caller adds the setting's name). */
typedef int (*config_check_fn)(const struct config_def *d, const char *v, struct err *e);

struct config_def {
	const char *name; /* without the prefix: "LISTEN" */
	const char *def;  /* default as text; NULL: unset */
	config_check_fn check;
	int64_t min, max; /* bounds for config_check_int */
	bool secret;      /* never printed */
	const char *help;
};

struct config {
	const struct config_def *defs;
	size_t n;
	char **val;   /* per setting, NULL when unset */
	int64_t *num; /* per setting: integers and booleans parsed at load, else 0 */
};

/*
 * Load the settings of defs (n of them): defaults, then file (may be NULL),
 * then environ entries prefixed HERALD_. A file line is KEY=VALUE with KEY
 * with or without the prefix; blank lines and lines starting with # are
 * skipped; an unknown key in the file is an error. Every set value is
 * checked. On failure c is left empty and e names the setting.
 */
int config_load(struct config *c, const struct config_def *defs, size_t n, const char *file,
                char *const *environ_, struct err *e) WUR;
void config_release(struct config *c);

/* The value of setting i, or NULL when unset or empty. */
const char *config_str(const struct config *c, size_t i);
/* The value of an integer or boolean setting (0 when unset), parsed once at
 * load. */
int64_t config_int(const struct config *c, size_t i);

/* Print every setting with its default and help. */
void config_help(const struct config_def *defs, size_t n, FILE *out);

/* Checkers for the table. */
int config_check_any(const struct config_def *d, const char *v, struct err *e);
int config_check_int(const struct config_def *d, const char *v, struct err *e);
int config_check_bool(const struct config_def *d, const char *v, struct err *e);
int config_check_http_url(const struct config_def *d, const char *v, struct err *e);
int config_check_listen(const struct config_def *d, const char *v, struct err *e);
int config_check_id_list(const struct config_def *d, const char *v, struct err *e);

/* Parse "host:port" (IPv4 literal or localhost) into host and port. */
int config_parse_listen(const char *v, char *host, size_t hostsz, int *port) WUR;

#endif
