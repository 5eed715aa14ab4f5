/*
 * html: Herald's check of post text written in Telegram's HTML (parse_mode
 * HTML) before a post is accepted, the length count Telegram applies to it,
 * the check of link and button URLs, and escaping of user text into HTML.
 *
 * All functions are pure over the bytes they are given: they allocate
 * nothing (html_escape appends to the caller's buffer) and never read past
 * the slice, which need not be NUL terminated.
 */
#ifndef HERALD_POSTS_HTML_H
#define HERALD_POSTS_HTML_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/str.h"

/* Telegram's limits after entity parsing, counted in UTF-16 code units. */
#define HTML_TEXT_MAX    4096
#define HTML_CAPTION_MAX 1024
/* The deepest nesting of tags html_check accepts. */
#define HTML_MAX_DEPTH 16
/* The longest URL (in bytes, after decoding entities) html_url_ok accepts. */
#define HTML_URL_MAX 2048

struct html_info {
	size_t units; /* visible length in UTF-16 code units */
	size_t tags;  /* number of elements (opening tags) */
};

/*
 * Validate text as Telegram HTML and measure it.
 *
 * Accepted: the tags b, strong, i, em, u, ins, s, strike, del,
 * span class="tg-spoiler", tg-spoiler, a href="URL" (URL passes html_url_ok
 * after decoding entities), code, code class="language-X" as the direct child
 * of pre, pre, blockquote and blockquote expandable, tg-emoji emoji-id="DIGITS";
 * tag and attribute names are case-insensitive, attribute values are quoted
 * with " or ', each attribute appears once. Tags are balanced, properly nested,
 * at most HTML_MAX_DEPTH deep, and follow Telegram's entity rules: nothing
 * inside code, only one code inside pre, only formatting tags (b ... del,
 * span, tg-spoiler) inside a and tg-emoji, and no blockquote inside another.
 * Outside tags, '<' and '>' must be written &lt; &gt;, and '&' must start one
 * of &lt; &gt; &amp; &quot; &#DEC; &#xHEX; (a Unicode scalar value other than
 * NUL). The whole text must be valid UTF-8 without NUL bytes.
 *
 * The visible length is what remains after removing the tags and decoding the
 * entities, in UTF-16 code units: a character beyond U+FFFF (most emoji)
 * counts 2, everything else 1 (the conservative reading of Telegram's limit).
 * No minimum length is enforced: the caller decides whether empty is allowed.
 *
 * Returns 0 and fills *info (if not NULL); -ERR_INVALID with a message naming
 * the byte offset of the problem ("unclosed <b> at byte 12") and *info
 * untouched; or -ERR_TOO_BIG when the text is valid but its length exceeds
 * max_units ("text is 4100 characters; the limit is 4096"), with *info filled.
 */
int html_check(struct str text, size_t max_units, struct html_info *info, struct err *e) WUR;

/*
 * The length of plain UTF-8 text in UTF-16 code units: every character counts
 * 1 except those encoded in 4 bytes, which count 2. Invalid UTF-8 does not
 * fail: each byte that does not continue a sequence counts 1, so the result
 * never exceeds plain.len.
 */
size_t html_utf16_units(struct str plain);

/*
 * Whether url is one Herald accepts for links and URL buttons: at most
 * HTML_URL_MAX bytes, no spaces, control bytes or any of " < > \ ` and
 * either tg:// followed by something, or http:// or https:// (scheme
 * case-insensitive) followed by a host of ASCII letters, digits, '-' and '.'
 * (non-empty labels, not starting or ending with '-'), an optional :port
 * (1-65535) and an optional path, query or fragment starting with / ? or #.
 * User info ("user@host") and IP literals in brackets are refused.
 */
bool html_url_ok(struct str url);

/*
 * Append plain to out with & < > " replaced by &amp; &lt; &gt; &quot;, so the
 * result shows as plain in HTML text and inside a double-quoted attribute.
 * Other bytes are copied unchanged. Returns 0, or -ERR_TOO_BIG when out's
 * maximum would be exceeded, in which case out is left as it was.
 */
int html_escape(struct str plain, struct buf *out) WUR;

#endif
