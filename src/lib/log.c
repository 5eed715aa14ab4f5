/*
 * log: formats the whole line into a stack buffer and writes it with one
 * write(2), so lines from different threads never interleave.
 */
#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static _Thread_local time_t stamp_sec = -1;
static _Thread_local char stamp[32];
static _Thread_local size_t stamp_len;

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;
	int w;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != stamp_sec) { /* format the date once a second per thread */
		gmtime_r(&ts.tv_sec, &tm);
		stamp_len = strftime(stamp, sizeof(stamp), "ts=%Y-%m-%dT%H:%M:%S", &tm);
		stamp_sec = ts.tv_sec;
	}
	memcpy(line, stamp, stamp_len);
	n = stamp_len;
	w = snprintf(line + n, sizeof(line) - n, ".%03ldZ level=%s ", ts.tv_nsec / 1000000L,
	             level_names[level]);
	n += (size_t)w;
	va_start(ap, fmt);
	w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (w < 0)
		w = 0;
	n += (size_t)w;
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void log_redact_url(const char *url, char *out, size_t outsz)
{
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	const char *at = strchr(host, '@');
	const char *slash = strchr(host, '/');
	const char *bot;
	size_t o = 0;

	if (!outsz)
		return;
#define PUT(s, n)                                                                                  \
	do {                                                                                       \
		size_t k_ = (n);                                                                   \
		if (k_ > outsz - 1 - o)                                                            \
			k_ = outsz - 1 - o;                                                        \
		memcpy(out + o, (s), k_);                                                          \
		o += k_;                                                                           \
	} while (0)
	if (at && (!slash || at < slash)) {
		const char *colon = memchr(host, ':', (size_t)(at - host));

		if (colon) {
			PUT(url, (size_t)(colon - url) + 1);
			PUT("***", 3);
			url = at;
		}
	}
	while ((bot = strstr(url, "/bot")) != NULL) {
		const char *end = strchr(bot + 4, '/');

		PUT(url, (size_t)(bot - url) + 4);
		PUT("***", 3);
		if (!end) {
			url = bot + strlen(bot);
			break;
		}
		url = end;
	}
	PUT(url, strlen(url));
#undef PUT
	out[o] = '\0';
}
