/*
 * bot/conv: where a chat's conversation with the bot stands, one row per
 * chat in `conversations` (state plus a small JSON object), so a restart
 * resumes it. An idle chat has no row.
 */
#include "bot/bot_impl.h"

#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "store/store.h"

#define CONV_DATA_MAX 4096

int bot_conv_load(struct store *st, int64_t chat, struct bot_conv *c, struct err *e)
{
	struct store_val a[] = {SV_INT(chat)};
	struct store_res *res = NULL;
	const char *state, *data;
	int rc;

	c->state[0] = '\0';
	c->data = NULL;
	rc = store_exec(st, "SELECT state, data FROM conversations WHERE chat_id = $1", a, 1, &res,
	                e);
	if (rc)
		return rc;
	if (store_res_rows(res) == 1) {
		state = store_res_text(res, 0, 0);
		data = store_res_text(res, 0, 1);
		if (strlen(state) < sizeof(c->state))
			memcpy(c->state, state, strlen(state) + 1);
		/* a row that does not parse is treated as idle, not as a failure
		 * that would stop the chat's lane */
		if (json_parse(data, strlen(data), 8, &c->data, NULL) || !json_is_object(c->data)) {
			log_warn("msg=\"conversation data unreadable\" chat=%lld", (long long)chat);
			json_decref(c->data);
			c->data = NULL;
			c->state[0] = '\0';
		}
	}
	store_res_free(res);
	if (!c->data)
		c->data = json_object();
	return 0;
}

int bot_conv_save(struct store *st, int64_t chat, const char *state, const json_t *data,
                  struct err *e)
{
	struct buf b;
	int rc;

	if (!state || !*state) {
		struct store_val a[] = {SV_INT(chat)};

		return store_exec(st, "DELETE FROM conversations WHERE chat_id = $1", a, 1, NULL,
		                  e);
	}
	buf_init(&b, CONV_DATA_MAX);
	if (data)
		rc = json_to_buf(data, &b);
	else
		rc = buf_adds(&b, "{}");
	if (rc) {
		buf_release(&b);
		return err_set(e, ERR_TOO_BIG, "conversation data larger than %d bytes",
		               CONV_DATA_MAX);
	}
	{
		struct store_val a[] = {SV_INT(chat), SV_TEXT(state), SV_TEXTN(b.p, b.len),
		                        SV_INT(clock_now_ms())};

		rc = store_exec(st,
		                "INSERT INTO conversations (chat_id, state, data, updated_at) "
		                "VALUES ($1, $2, $3, $4) ON CONFLICT (chat_id) DO UPDATE SET "
		                "state = excluded.state, data = excluded.data, "
		                "updated_at = excluded.updated_at",
		                a, 4, NULL, e);
	}
	buf_release(&b);
	return rc;
}

void bot_conv_release(struct bot_conv *c)
{
	json_decref(c->data);
	c->data = NULL;
}
