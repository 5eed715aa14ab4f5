/*
 * mem: allocation wrappers that abort on failure, so callers never handle
 * out-of-memory.
 */
#ifndef HERALD_MEM_H
#define HERALD_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
