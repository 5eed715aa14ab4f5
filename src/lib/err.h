/*
 * err: the program's one error enum and a caller-owned error record.
 *
 * Functions that can fail return 0 or a negative ERR_* code; details meant
 * for a person go into a struct err that the caller owns (and may omit).
 */
#ifndef HERALD_ERR_H
#define HERALD_ERR_H

#define WUR __attribute__((warn_unused_result))

enum {
	ERR_NOMEM = 1,
	ERR_INVALID,     /* bad input from outside */
	ERR_NOT_FOUND,   /* no such thing */
	ERR_EXISTS,      /* unique key already taken */
	ERR_BUSY,        /* held by someone else, or rate limited */
	ERR_UNAVAILABLE, /* a dependency (store, kv, outside API) cannot be reached */
	ERR_IO,          /* a system call failed */
	ERR_TOO_BIG,     /* a bound was exceeded */
	ERR_AUTH,        /* missing or wrong credentials */
	ERR_CONFLICT,    /* state does not allow the operation */
	ERR_TIMEOUT,     /* gave up waiting */
	ERR_INTERNAL,    /* a bug or an unexpected answer */
	ERR_MAX
};

struct err {
	int code;
	char msg[256];
};

/* Record code and message in e (if e is not NULL); returns -code. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A short lower-case name of a code, positive or negative ("not found"). */
const char *err_name(int code);

#endif
