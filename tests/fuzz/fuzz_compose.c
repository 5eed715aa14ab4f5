/*
 * Fuzz the pure parts of composing a post in the bot: a message's text and
 * entities to HTML (input: text, a NUL, then the entities' JSON), URL button
 * lines, typed local times and plain excerpts of HTML. The first byte picks
 * the parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bot/bot_impl.h"
#include "lib/json.h"
#include "lib/utf8.h"
#include "posts/html.h"
#include "posts/posts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;
	char *text;

	if (size == 0)
		return 0;
	text = malloc(n + 1);
	if (!text)
		abort();
	memcpy(text, p, n);
	text[n] = '\0';
	switch (data[0] % 4) {
	case 0: {
		const char *nul = memchr(p, '\0', n);
		size_t tlen = nul ? (size_t)(nul - p) : n;
		json_t *ents = NULL;
		struct buf b;

		if (nul)
			(void)json_parse(nul + 1, n - tlen - 1, BOT_UPDATE_DEPTH, &ents, NULL);
		buf_init(&b, 1 << 20);
		if (bot_entities_html(p, tlen, ents, &b) == 0) {
			/* valid UTF-8 in, valid UTF-8 out (tags and escapes are ASCII) */
			if (utf8_check(p, tlen, true) == tlen &&
			    utf8_check(b.p, b.len, true) != b.len)
				abort();
		} else if (b.len != 0) {
			abort(); /* a failure appends nothing */
		}
		buf_release(&b);
		json_decref(ents);
		break;
	}
	case 1: {
		struct bot_btn_fault f;
		json_t *rows = NULL, *row, *btn;
		size_t i, j, total = 0;

		if (bot_parse_buttons((struct str){p, n}, &rows, &f) == 0) {
			json_array_foreach(rows, i, row)
			{
				if (json_array_size(row) > POST_ROW_MAX)
					abort();
				json_array_foreach(row, j, btn)
				{
					const char *url =
					    json_string_value(json_object_get(btn, "url"));

					total++;
					if (!url || !html_url_ok(str_c(url)))
						abort();
				}
			}
			if (total == 0 || total > POST_BUTTONS_MAX)
				abort();
			json_decref(rows);
		} else if (rows || f.code == BOT_BTN_OK) {
			abort();
		}
		break;
	}
	case 2: {
		struct when_local now = {2026, 12, 31, 18, 30}, t;

		if (bot_parse_time((struct str){p, n}, &now, &t) == 0 &&
		    (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour < 0 ||
		     t.hour > 23 || t.minute < 0 || t.minute > 59))
			abort();
		break;
	}
	default: {
		char out[64];

		bot_html_plain(text, 40, out, sizeof(out));
		if (strlen(out) > 43)
			abort();
		break;
	}
	}
	free(text);
	return 0;
}
