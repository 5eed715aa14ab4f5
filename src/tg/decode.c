/*
 * tg decode: the Bot API answer envelope (protocols.md A.2) turned into a
 * return code and a typed struct tg_error. A pure function over the bytes of
 * an answer, so it is unit tested and fuzzed on its own.
 *
 * Failures are classified by error_code first (401, 404, 409, 429, 5xx) and,
 * for 400 and 403, by the description after its "Bad Request: " or
 * "Forbidden: " head, compared case-insensitively as a prefix: Telegram says
 * the texts may change, so anything not recognised falls back to the code.
 */
#include "tg/tg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/json.h"
#include "lib/utf8.h"
#include "tg/tg_impl.h"

#define TG_JSON_DEPTH      64
#define TG_RETRY_AFTER_MAX 86400 /* seconds; a bigger value is clamped */

static const char *const fail_names[] = {
    [TG_FAIL_NONE] = "none",
    [TG_FAIL_RETRY_AFTER] = "retry after",
    [TG_FAIL_MIGRATED] = "migrated",
    [TG_FAIL_BLOCKED] = "blocked",
    [TG_FAIL_KICKED] = "kicked",
    [TG_FAIL_CHAT_NOT_FOUND] = "chat not found",
    [TG_FAIL_NO_RIGHTS] = "no rights",
    [TG_FAIL_NOT_MODIFIED] = "not modified",
    [TG_FAIL_MESSAGE_GONE] = "message gone",
    [TG_FAIL_QUERY_TOO_OLD] = "query too old",
    [TG_FAIL_BAD_REQUEST] = "bad request",
    [TG_FAIL_UNAUTHORIZED] = "unauthorized",
    [TG_FAIL_NOT_FOUND] = "not found",
    [TG_FAIL_CONFLICT] = "conflict",
    [TG_FAIL_SERVER] = "server",
    [TG_FAIL_NETWORK] = "network",
    [TG_FAIL_MALFORMED] = "malformed",
};

const char *tg_fail_name(enum tg_fail f)
{
	if ((unsigned)f < sizeof(fail_names) / sizeof(fail_names[0]) && fail_names[f])
		return fail_names[f];
	return "unknown";
}

int tg_fail_rc(enum tg_fail f)
{
	switch (f) {
	case TG_FAIL_NONE:
		return 0;
	case TG_FAIL_RETRY_AFTER:
		return -ERR_BUSY;
	case TG_FAIL_SERVER:
	case TG_FAIL_NETWORK:
		return -ERR_UNAVAILABLE;
	case TG_FAIL_UNAUTHORIZED:
		return -ERR_AUTH;
	case TG_FAIL_CONFLICT:
		return -ERR_CONFLICT;
	case TG_FAIL_BLOCKED:
	case TG_FAIL_KICKED:
	case TG_FAIL_CHAT_NOT_FOUND:
	case TG_FAIL_MESSAGE_GONE:
	case TG_FAIL_NOT_FOUND:
		return -ERR_NOT_FOUND;
	case TG_FAIL_MALFORMED:
		return -ERR_INTERNAL;
	case TG_FAIL_MIGRATED:
	case TG_FAIL_NO_RIGHTS:
	case TG_FAIL_NOT_MODIFIED:
	case TG_FAIL_QUERY_TOO_OLD:
	case TG_FAIL_BAD_REQUEST:
		return -ERR_INVALID;
	}
	return -ERR_INTERNAL;
}

int tg_fail_set(struct tg_error *te, enum tg_fail f, int code, const char *fmt, ...)
{
	int rc = tg_fail_rc(f);
	va_list ap;
	int w;

	te->fail = f;
	te->code = code;
	te->err.code = -rc;
	va_start(ap, fmt);
	w = vsnprintf(te->err.msg, sizeof(te->err.msg), fmt, ap);
	va_end(ap);
	if (w < 0)
		te->err.msg[0] = '\0';
	return rc;
}

/* A description's phrase (after its head) and what it means. */
static const struct {
	const char *prefix;
	enum tg_fail fail;
} phrases[] = {
    {"bot was blocked by the user", TG_FAIL_BLOCKED},
    /* the user never started the bot: as unreachable as blocked */
    {"bot can't initiate conversation", TG_FAIL_BLOCKED},
    {"bot was kicked", TG_FAIL_KICKED},
    {"bot is not a member", TG_FAIL_KICKED},
    {"user is deactivated", TG_FAIL_KICKED},
    {"chat not found", TG_FAIL_CHAT_NOT_FOUND},
    {"not enough rights", TG_FAIL_NO_RIGHTS},
    {"need administrator rights", TG_FAIL_NO_RIGHTS},
    {"have no rights", TG_FAIL_NO_RIGHTS},
    {"chat_admin_required", TG_FAIL_NO_RIGHTS},
    {"message is not modified", TG_FAIL_NOT_MODIFIED},
    {"message to edit not found", TG_FAIL_MESSAGE_GONE},
    {"message to delete not found", TG_FAIL_MESSAGE_GONE},
    {"message can't be deleted", TG_FAIL_MESSAGE_GONE},
    {"message can't be edited", TG_FAIL_MESSAGE_GONE},
    {"message to copy not found", TG_FAIL_MESSAGE_GONE},
    {"message to forward not found", TG_FAIL_MESSAGE_GONE},
    {"message to pin not found", TG_FAIL_MESSAGE_GONE},
    {"query is too old", TG_FAIL_QUERY_TOO_OLD},
    {"query id is invalid", TG_FAIL_QUERY_TOO_OLD},
};

/* The description without a head of words and spaces before ": ". */
static const char *phrase_of(const char *d)
{
	for (size_t i = 0; i < 24 && d[i]; i++) {
		char ch = d[i];

		if (ch == ':' && d[i + 1] == ' ')
			return d + i + 2;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == ' '))
			break;
	}
	return d;
}

static enum tg_fail classify(int code, const char *desc, int64_t migrate_to)
{
	const char *ph = phrase_of(desc);

	if (migrate_to)
		return TG_FAIL_MIGRATED;
	switch (code) {
	case 401:
		return TG_FAIL_UNAUTHORIZED;
	case 404:
		return TG_FAIL_NOT_FOUND;
	case 409:
		return TG_FAIL_CONFLICT;
	case 429:
		return TG_FAIL_RETRY_AFTER;
	default:
		break;
	}
	if (code >= 500 && code <= 599)
		return TG_FAIL_SERVER;
	if (code < 400 || code > 499)
		return TG_FAIL_MALFORMED;
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (strncasecmp(ph, phrases[i].prefix, strlen(phrases[i].prefix)) == 0)
			return phrases[i].fail;
	/* every other 403 is some form of "no access to this chat" */
	return code == 403 ? TG_FAIL_KICKED : TG_FAIL_BAD_REQUEST;
}

/* Copy s into out (outsz bytes) without cutting a UTF-8 sequence in half,
 * and with control characters as spaces: it ends up in log lines. */
static void copy_text(char *out, size_t outsz, const char *s, size_t len)
{
	size_t n = utf8_cut(s, len < outsz - 1 ? len : outsz - 1);

	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	out[n] = '\0';
}

/* An integer member of o within [min, max], else def. */
static int64_t int_member(const json_t *o, const char *name, int64_t min, int64_t max, int64_t def)
{
	const json_t *v = json_object_get(o, name);
	json_int_t i;

	if (!json_is_integer(v))
		return def;
	i = json_integer_value(v);
	if (i < min)
		return min;
	return i > max ? max : i;
}

static int http_code(long status)
{
	return status >= 0 && status <= 999 ? (int)status : 0;
}

/* An answer that is not a Bot API envelope: judged by the HTTP status. */
static int not_envelope(long status, struct tg_error *te)
{
	int code = http_code(status);

	if (code >= 500 && code <= 599)
		return tg_fail_set(te, TG_FAIL_SERVER, code, "http %d from the bot api", code);
	/* a proxy in front of Telegram may answer its own 429 */
	if (code == 429)
		return tg_fail_set(te, TG_FAIL_RETRY_AFTER, code, "http 429 from the bot api");
	return tg_fail_set(te, TG_FAIL_MALFORMED, code, "malformed bot api answer (http %d)", code);
}

int tg_decode(long status, const char *body, size_t len, json_t **result, struct tg_error *te)
{
	struct tg_error local;
	json_t *root = NULL;
	const json_t *ok, *v, *params;
	int64_t code;
	int rc;

	if (!te)
		te = &local;
	memset(te, 0, sizeof(*te));
	if (result)
		*result = NULL;
	if (!body || json_parse(body, len, TG_JSON_DEPTH, &root, NULL) != 0 ||
	    !json_is_object(root) || !json_is_boolean(ok = json_object_get(root, "ok"))) {
		rc = not_envelope(status, te);
		goto out;
	}
	if (json_is_true(ok)) {
		v = json_object_get(root, "result");
		if (!v) {
			rc = tg_fail_set(te, TG_FAIL_MALFORMED, http_code(status),
			                 "bot api answer without a result");
			goto out;
		}
		if (result)
			*result = json_incref((json_t *)v);
		rc = 0;
		goto out;
	}

	code = int_member(root, "error_code", 0, 999, 0);
	if (code == 0)
		code = http_code(status);
	v = json_object_get(root, "description");
	if (json_is_string(v))
		copy_text(te->description, sizeof(te->description), json_string_value(v),
		          json_string_length(v));
	params = json_object_get(root, "parameters");
	te->retry_after = (int)int_member(params, "retry_after", 0, TG_RETRY_AFTER_MAX, 0);
	te->migrate_to = int_member(params, "migrate_to_chat_id", INT64_MIN, INT64_MAX, 0);
	rc = tg_fail_set(te, classify((int)code, te->description, te->migrate_to), (int)code,
	                 "%d %s", (int)code,
	                 te->description[0] ? te->description : "(no description)");
out:
	json_decref(root);
	return rc;
}
