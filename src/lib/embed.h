/*
 * embed: files compiled into the binary by cmake/embed.cmake (migrations,
 * the OpenAPI document, the message catalogs). Each generated table ends
 * with a zeroed entry.
 */
#ifndef HERALD_EMBED_H
#define HERALD_EMBED_H

#include <stddef.h>

struct embed_file {
	const char *name; /* base name, e.g. "0001_init.sql" */
	const char *data; /* NUL terminated */
	size_t len;
};

extern const struct embed_file embed_migrations[];
extern const struct embed_file embed_openapi[];
/* Compiled gettext catalogs, one per po/<lang>.po: "en.mo", "ru.mo", ... */
extern const struct embed_file embed_catalogs[];

#endif
