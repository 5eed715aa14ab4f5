/*
 * Fuzz the post spec check (posts_validate), what the REST API and the bot
 * hand it: any JSON (and anything that parses as JSON) is accepted or
 * refused with a field, a code and a message, never more; an accepted spec
 * in its canonical form is accepted again as it is, with the same first
 * occurrence (the check is stable).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "posts/posts.h"

#define NOW 1795521600000LL /* 2026-11-24T12:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL), *canon = NULL,
	       *again = NULL;
	struct post_when w, w2;
	struct post_fault f;
	int rc;

	if (!in)
		return 0;
	memset(&f, 0, sizeof(f));
	rc = posts_validate(in, "Europe/Berlin", NOW, &canon, &w, &f);
	if (rc) {
		assert(rc == -ERR_INVALID);
		assert(!canon && f.field[0] && f.code[0] && f.err.msg[0]);
	} else {
		assert(json_is_object(canon));
		memset(&f, 0, sizeof(f));
		rc = posts_validate(canon, "Europe/Berlin", NOW, &again, &w2, &f);
		assert(rc == 0);
		assert(w.first_at == w2.first_at && strcmp(w.adjust, w2.adjust) == 0);
		assert(json_equal(canon, again));
	}
	json_decref(again);
	json_decref(canon);
	json_decref(in);
	return 0;
}
