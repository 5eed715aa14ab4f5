/*
 * log: one line per event on stderr, "ts=... level=... " followed by the
 * caller's key=value pairs. The level is checked before the arguments are
 * evaluated. Never pass a secret: use log_redact() on URLs that carry one.
 */
#ifndef HERALD_LOG_H
#define HERALD_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "error", "warn", "info", "debug" -> level; -1 when unknown. */
int log_level_parse(const char *name);

#define log_at(level, ...)                                                                         \
	do {                                                                                       \
		if ((level) <= log_threshold)                                                      \
			log_write((level), __VA_ARGS__);                                           \
	} while (0)
#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)

/*
 * Copy a URL into out with any password ("user:pass@") and any Bot API token
 * ("/bot<token>/") replaced by "***". Always NUL terminates.
 */
void log_redact_url(const char *url, char *out, size_t outsz);

#endif
