/*
 * buf: a growable byte buffer with a mandatory maximum size. The contents are
 * always NUL terminated, so b->p can be used as a C string when the data is
 * text. An empty buffer points at a shared "" and owns no memory.
 */
#ifndef HERALD_BUF_H
#define HERALD_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "lib/err.h"

struct buf {
	char *p;
	size_t len;
	size_t cap; /* 0 while p is the shared empty string */
	size_t max; /* the most bytes len may reach */
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);

/* Append; -ERR_TOO_BIG (and nothing appended) when max would be exceeded. */
int buf_add(struct buf *b, const void *data, size_t len) WUR;
int buf_adds(struct buf *b, const char *s) WUR;
int buf_addch(struct buf *b, char c) WUR;
int buf_printf(struct buf *b, const char *fmt, ...) WUR __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) WUR
    __attribute__((format(printf, 2, 0)));

/* Hand the contents to the caller (free() them); b is left empty. */
char *buf_take(struct buf *b, size_t *len);

#endif
