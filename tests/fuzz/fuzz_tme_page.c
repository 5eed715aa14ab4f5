/*
 * Fuzz the public channel page parser: any bytes give either an error with a
 * message and an empty page, or a page whose fields keep their promises
 * (ids > 0 and ascending, counts >= 0, an unknown count is 0 and not
 * approximate, a rejected field is unknown and counted, a title and a
 * username of the allowed shape).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect/tme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_count(struct tme_count c)
{
	if (c.known)
		assert(c.value >= 0);
	else
		assert(c.value == 0 && !c.approx);
}

static size_t bits(unsigned v)
{
	return (size_t)__builtin_popcount(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	struct err e = {0, {0}};
	struct tme_page page;
	size_t nbits;
	int rc;

	assert(copy);
	if (size)
		memcpy(copy, data, size);
	rc = tme_page_parse(copy, size, &page, &e);
	if (rc != 0) {
		assert(rc == -ERR_INVALID || rc == -ERR_NOT_FOUND || rc == -ERR_TOO_BIG);
		assert(e.code == -rc && e.msg[0] != '\0');
		assert(!page.posts && page.nposts == 0 && !page.title && page.nbad == 0);
		free(copy);
		return 0;
	}
	if (page.title) {
		size_t n = strlen(page.title);

		assert(n > 0 && n <= TME_TITLE_MAX);
	}
	assert(strlen(page.username) <= TME_USERNAME_MAX);
	for (const char *u = page.username; *u; u++)
		assert((*u >= '0' && *u <= '9') || (*u >= 'a' && *u <= 'z') ||
		       (*u >= 'A' && *u <= 'Z') || *u == '_');
	check_count(page.subscribers);
	assert(page.before >= 0);
	if (page.bad & TME_BAD_TITLE)
		assert(!page.title);
	if (page.bad & TME_BAD_USERNAME)
		assert(page.username[0] == '\0');
	if (page.bad & TME_BAD_SUBSCRIBERS)
		assert(!page.subscribers.known);
	if (page.bad & TME_BAD_BEFORE)
		assert(page.before == 0);
	nbits = bits(page.bad);
	for (size_t i = 0; i < page.nposts; i++) {
		const struct tme_post *p = &page.posts[i];

		assert(p->id > 0);
		if (i > 0)
			assert(p->id > page.posts[i - 1].id);
		check_count(p->views);
		check_count(p->reactions);
		check_count(p->paid);
		check_count(p->forwards);
		assert(p->reactions.known == p->paid.known);
		assert(p->media >= TME_MEDIA_TEXT && p->media <= TME_MEDIA_OTHER);
		if (p->bad & TME_BAD_DATE)
			assert(p->date_ms == 0);
		if (p->bad & TME_BAD_VIEWS)
			assert(!p->views.known);
		if (p->bad & TME_BAD_REACTIONS)
			assert(!p->reactions.known);
		if (p->bad & TME_BAD_FORWARDS)
			assert(!p->forwards.known);
		nbits += bits(p->bad);
	}
	assert(page.nbad == nbits);
	assert((page.nbad == 0) == (page.why[0] == '\0'));
	tme_page_release(&page);
	free(copy);
	return 0;
}
