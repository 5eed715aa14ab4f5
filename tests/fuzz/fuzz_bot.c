/*
 * Fuzz the bot's parsers of outside input: callback data, update routing
 * (after the bounded JSON parser), commands, channel references and the
 * time zone search. The first byte picks the parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bot/bot_impl.h"
#include "lib/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bot_zones *zones; /* built once: the harness's own state */

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
	switch (data[0] % 5) {
	case 0: {
		struct bot_cb cb;
		char again[BOT_CB_MAX + 1];

		/* what parses, encodes back to the same bytes */
		if (bot_cb_parse(p, n, &cb) == 0 &&
		    bot_cb_encode(again, cb.action, cb.arg, cb.id) == 0 &&
		    (strlen(again) != n || memcmp(again, p, n) != 0))
			abort();
		break;
	}
	case 1: {
		struct bot_route r;
		json_t *v = NULL;

		if (json_parse(p, n, BOT_UPDATE_DEPTH, &v, NULL) == 0) {
			if (bot_route_update(v, &r, NULL) == 0 && r.lane >= BOT_LANES)
				abort();
			json_decref(v);
		}
		break;
	}
	case 2: {
		struct bot_cmd c;

		if (bot_parse_command(text, "herald_bot", &c) && strlen(c.name) > BOT_CMD_MAX)
			abort();
		break;
	}
	case 3: {
		char user[64];
		int64_t chat;

		if (bot_parse_channel_ref((struct str){p, n}, user, &chat) == 0 && !user[0] &&
		    chat == 0)
			abort();
		break;
	}
	default: {
		const char *out[BOT_SEARCH_RESULT];

		if (!zones)
			zones = bot_zones_new();
		(void)bot_zones_search(zones, text, out, BOT_SEARCH_RESULT);
		break;
	}
	}
	free(text);
	return 0;
}
