/*
 * collect's internals, shared by collect.c and page.c.
 */
#ifndef HERALD_COLLECT_IMPL_H
#define HERALD_COLLECT_IMPL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct app;

/* A channel as its collection needs it. */
struct collect_chan {
	int64_t id, chat_id, owner_id;
	char username[64]; /* "" for a private channel: no public page */
	bool gone;         /* removed (or never was) */
	int64_t every_ms;  /* the owner's plan's interval */
	int64_t retain_days;
};

/* The public page of ch into channel_posts and post_snapshots (page.c).
 * Fails only when the store does. */
int collect_page(struct app *a, const struct collect_chan *ch, int64_t now, struct err *e) WUR;

/*
 * Views at posted + span from a post's snapshots (at ascending, with 0 views
 * when it was posted): linear between the readings on either side when at
 * most 12 h apart; -1 when they do not allow it.
 */
int64_t collect_reach(const int64_t *at, const int64_t *views, size_t n, int64_t posted,
                      int64_t span);

/* Count n points stored from source (metrics). */
void collect_stored(const char *source, int n);

/* A message's media kind as analytics groups them: text, photo, video,
 * document, album, poll, other. */
const char *collect_kind_of(const json_t *msg);

#endif
