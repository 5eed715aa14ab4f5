/*
 * err: error codes and messages. Messages are formatted into a fixed buffer
 * in the caller's struct err, so reporting an error never allocates.
 */
#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>

int err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (code < 0)
		code = -code;
	if (e) {
		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

const char *err_name(int code)
{
	static const char *const names[ERR_MAX] = {
	    [0] = "ok",
	    [ERR_NOMEM] = "out of memory",
	    [ERR_INVALID] = "invalid",
	    [ERR_NOT_FOUND] = "not found",
	    [ERR_EXISTS] = "exists",
	    [ERR_BUSY] = "busy",
	    [ERR_UNAVAILABLE] = "unavailable",
	    [ERR_IO] = "i/o error",
	    [ERR_TOO_BIG] = "too big",
	    [ERR_AUTH] = "unauthorized",
	    [ERR_CONFLICT] = "conflict",
	    [ERR_TIMEOUT] = "timeout",
	    [ERR_INTERNAL] = "internal error",
	};

	if (code < 0)
		code = -code;
	if (code >= ERR_MAX)
		return "unknown error";
	return names[code];
}
