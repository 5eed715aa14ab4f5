/*
 * Fuzz the Telegram HTML check of post text: it must never read outside the
 * input (the copy is exactly size bytes, so ASan catches an overread), a
 * success must report no more UTF-16 units than bytes, and plain counting,
 * URL checking and escaping must hold up on the same bytes.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "posts/html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	struct str s = {copy, size};
	struct html_info info = {0, 0};
	struct err e = {0, {0}};
	struct buf b;
	int rc;

	assert(copy);
	if (size)
		memcpy(copy, data, size);
	rc = html_check(s, HTML_TEXT_MAX, &info, &e);
	assert(rc == 0 || rc == -ERR_INVALID || rc == -ERR_TOO_BIG);
	if (rc != 0)
		assert(e.code == -rc && e.msg[0] != '\0');
	if (rc == 0 || rc == -ERR_TOO_BIG) {
		assert(info.units <= size);
		assert(info.tags <= size / 3);
		assert((rc == 0) == (info.units <= HTML_TEXT_MAX));
	}
	assert(html_utf16_units(s) <= size);
	(void)html_url_ok(s);

	/* Escaped input is always valid HTML of the same visible length, when
	 * the input is valid UTF-8 without NUL (which html_check needs). */
	buf_init(&b, 6 * size + 1);
	assert(html_escape(s, &b) == 0);
	if (!memchr(copy, 0, size)) {
		struct html_info ei;

		rc = html_check((struct str){b.p, b.len}, SIZE_MAX, &ei, NULL);
		if (rc == 0)
			assert(ei.units == html_utf16_units(s) && ei.tags == 0);
		else
			assert(rc == -ERR_INVALID); /* only for invalid UTF-8 */
	}
	buf_release(&b);
	free(copy);
	return 0;
}
