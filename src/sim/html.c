/*
 * html: the checks Telegram makes of a text sent with parse_mode HTML. Tags
 * must be among the supported ones and properly nested; the text's length is
 * counted without tags, with each character entity as one character, in
 * UTF-16 code units (the stricter of the two readings of Telegram's limit;
 * protocols.md G.2). Attribute values are not checked. Pure functions.
 */
#include "sim/sim_impl.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/mem.h"
#include "lib/utf8.h"

#define MAX_NESTING 32

static const char *const tags[] = {"b",   "strong",     "i",        "em",        "u", "ins",
                                   "s",   "strike",     "del",      "span",      "a", "code",
                                   "pre", "tg-spoiler", "tg-emoji", "blockquote"};

bool sim_utf8_valid(const char *str, size_t n)
{
	return utf8_check(str, n, true) == n;
}

size_t sim_utf16_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			len++;
		if (s[i] >= 0xF0)
			len++; /* a surrogate pair */
	}
	return len;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

static bool supported(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(tags); i++)
		if (strlen(tags[i]) == len && strncasecmp(tags[i], name, len) == 0)
			return true;
	return false;
}

/* The length of a character entity at s ("&lt;", "&#33;"), 0 if none. */
static size_t entity(const char *s, size_t n, size_t *units)
{
	static const char *const named[] = {"&lt;", "&gt;", "&amp;", "&quot;"};
	size_t i = 2;
	unsigned long cp = 0;
	bool hex;

	*units = 1;
	for (size_t k = 0; k < ARRAY_SIZE(named); k++)
		if (n >= strlen(named[k]) && memcmp(s, named[k], strlen(named[k])) == 0)
			return strlen(named[k]);
	if (n < 4 || s[1] != '#')
		return 0;
	hex = s[2] == 'x' || s[2] == 'X';
	if (hex)
		i++;
	for (; i < n && i < 12 && s[i] != ';'; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (hex && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (hex && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return 0;
		cp = cp * (hex ? 16 : 10) + d;
	}
	if (i >= n || s[i] != ';' || i == (hex ? 3u : 2u))
		return 0;
	if (cp >= 0x10000)
		*units = 2;
	return i + 1;
}

int sim_html_check(const char *text, size_t *len, char *msg, size_t msgsz)
{
	struct {
		const char *p;
		size_t n;
	} stack[MAX_NESTING];
	size_t depth = 0, n = strlen(text), units = 0, i = 0;

	while (i < n) {
		if (text[i] == '&') {
			size_t u, k = entity(text + i, n - i, &u);

			units += k ? u : 1;
			i += k ? k : 1;
			continue;
		}
		if (text[i] != '<') {
			units += sim_utf16_len(text + i, 1);
			i++;
			continue;
		}
		if (i + 1 < n && text[i + 1] == '/') {
			size_t at = i, s = i + 2, e = s;

			while (e < n && name_char(text[e]))
				e++;
			i = e;
			while (i < n && text[i] != '>')
				i++;
			if (i >= n) {
				snprintf(msg, msgsz, "Unclosed end tag at byte offset %zu", at);
				return -ERR_INVALID;
			}
			i++;
			if (!depth) {
				snprintf(msg, msgsz, "Unexpected end tag at byte offset %zu", at);
				return -ERR_INVALID;
			}
			if (stack[depth - 1].n != e - s ||
			    strncasecmp(stack[depth - 1].p, text + s, e - s) != 0) {
				snprintf(
				    msg, msgsz,
				    "Unmatched end tag at byte offset %zu, expected \"</%.*s>\", "
				    "found \"</%.*s>\"",
				    at, (int)stack[depth - 1].n, stack[depth - 1].p, (int)(e - s),
				    text + s);
				return -ERR_INVALID;
			}
			depth--;
			continue;
		}
		{
			size_t at = i, s = i + 1, e = s;
			char quote = 0;

			while (e < n && name_char(text[e]))
				e++;
			if (!supported(text + s, e - s)) {
				snprintf(msg, msgsz,
				         "Unsupported start tag \"%.*s\" at byte offset %zu",
				         (int)(e - s), text + s, at);
				return -ERR_INVALID;
			}
			for (i = e; i < n && (quote || text[i] != '>'); i++) {
				if (quote && text[i] == quote)
					quote = 0;
				else if (!quote && (text[i] == '"' || text[i] == '\''))
					quote = text[i];
			}
			if (i >= n) {
				snprintf(msg, msgsz, "Unclosed start tag at byte offset %zu", at);
				return -ERR_INVALID;
			}
			i++;
			if (depth == MAX_NESTING) {
				snprintf(msg, msgsz, "Too deep entity nesting at byte offset %zu",
				         at);
				return -ERR_INVALID;
			}
			stack[depth].p = text + s;
			stack[depth].n = e - s;
			depth++;
		}
	}
	if (depth) {
		snprintf(msg, msgsz, "Can't find end tag corresponding to start tag \"%.*s\"",
		         (int)stack[depth - 1].n, stack[depth - 1].p);
		return -ERR_INVALID;
	}
	*len = units;
	return 0;
}
