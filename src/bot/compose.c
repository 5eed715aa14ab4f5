/*
 * bot/compose: the pure parts of composing a post in the bot. A message's
 * text and its formatting entities (UTF-16 offsets, possibly overlapping)
 * become Telegram HTML; lines of "Text - URL" become rows of URL buttons; a
 * local time typed as "18:30", "25.11 09:00" or "2026-11-25 09:00" becomes
 * wall-clock fields; and a post's HTML becomes a plain excerpt for /queue.
 * Nothing here touches the store or the network: all of it is unit tested
 * and fuzzed (tests/fuzz/fuzz_compose.c).
 */
#include "bot/bot_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/utf8.h"
#include "posts/html.h"
#include "posts/posts.h"

/* ---- entities to HTML ---------------------------------------------------- */

/* Nesting classes, outermost first: the order tags open in when two
 * entities cover the same range. */
enum ent_class { EC_QUOTE, EC_LINK, EC_FORMAT, EC_EMOJI, EC_CODE };

struct ent {
	size_t start, end; /* bytes of the text */
	size_t index;      /* in the entities array: a stable order */
	enum ent_class cls;
	const char *open, *close; /* fixed tags; open NULL: built from attr */
	const char *attr;         /* URL, language, custom emoji id, or NULL */
	char user[32];            /* text_mention: tg://user?id=N */
};

static const struct {
	const char *type, *open, *close;
	enum ent_class cls;
} ent_types[] = {
    {"bold", "<b>", "</b>", EC_FORMAT},
    {"italic", "<i>", "</i>", EC_FORMAT},
    {"underline", "<u>", "</u>", EC_FORMAT},
    {"strikethrough", "<s>", "</s>", EC_FORMAT},
    {"spoiler", "<tg-spoiler>", "</tg-spoiler>", EC_FORMAT},
    {"code", "<code>", "</code>", EC_CODE},
    {"pre", NULL, "</pre>", EC_CODE},
    {"text_link", NULL, "</a>", EC_LINK},
    {"text_mention", NULL, "</a>", EC_LINK},
    {"blockquote", "<blockquote>", "</blockquote>", EC_QUOTE},
    {"expandable_blockquote", "<blockquote expandable>", "</blockquote>", EC_QUOTE},
    {"custom_emoji", NULL, "</tg-emoji>", EC_EMOJI},
};

/* Whether y may open while x is open (Telegram's entity rules, as html_check
 * enforces them): nothing inside code and pre, only formatting inside links
 * and custom emoji, no quote inside a quote. */
static bool may_contain(enum ent_class x, enum ent_class y)
{
	switch (x) {
	case EC_CODE:
		return false;
	case EC_LINK:
	case EC_EMOJI:
		return y == EC_FORMAT;
	case EC_QUOTE:
		return y != EC_QUOTE;
	case EC_FORMAT:
		break;
	}
	return true;
}

static int ent_cmp(const void *pa, const void *pb)
{
	const struct ent *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end > b->end ? -1 : 1; /* the longer one outside */
	if (a->cls != b->cls)
		return a->cls < b->cls ? -1 : 1;
	return a->index < b->index ? -1 : (a->index > b->index);
}

/* Bytes of the UTF-8 sequence starting with c (1 for a byte that starts none). */
static size_t seq_len(unsigned char c)
{
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	return 1;
}

/*
 * units[u] = the byte offset of UTF-16 unit u (0..*nunits), or SIZE_MAX for
 * a unit in the middle of a surrogate pair. Returns a malloc'd array.
 */
static size_t *unit_offsets(const char *text, size_t len, size_t *nunits)
{
	size_t n = 0, *units = xcalloc(2 * len + 1, sizeof(*units));

	for (size_t i = 0; i < len;) {
		size_t k = seq_len((unsigned char)text[i]);

		if (i + k > len || utf8_check(text + i, k, true) != k)
			k = 1; /* an invalid byte counts one unit, like html_utf16_units */
		units[n++] = i;
		if (k == 4)
			units[n++] = SIZE_MAX;
		i += k;
	}
	units[n] = len;
	*nunits = n;
	return units;
}

static bool digits_only(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool language_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '+' || c == '#' || c == '.'))
			return false;
	}
	return true;
}

/* Read one entity; false when it is of a kind Herald does not keep (mentions,
 * hashtags, URLs Telegram links by itself) or malformed. */
static bool read_entity(const json_t *j, const size_t *units, size_t nunits, struct ent *out)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	const json_t *off = json_object_get(j, "offset"), *len = json_object_get(j, "length");
	json_int_t o, l;
	size_t t;

	if (!type || !json_is_integer(off) || !json_is_integer(len))
		return false;
	o = json_integer_value(off);
	l = json_integer_value(len);
	if (o < 0 || l <= 0 || (size_t)o > nunits || (size_t)l > nunits - (size_t)o)
		return false;
	if (units[o] == SIZE_MAX || units[o + l] == SIZE_MAX)
		return false; /* splits a surrogate pair */
	for (t = 0; t < ARRAY_SIZE(ent_types); t++)
		if (strcmp(type, ent_types[t].type) == 0)
			break;
	if (t == ARRAY_SIZE(ent_types))
		return false;
	memset(out, 0, sizeof(*out));
	out->start = units[o];
	out->end = units[o + l];
	out->cls = ent_types[t].cls;
	out->open = ent_types[t].open;
	out->close = ent_types[t].close;
	if (strcmp(type, "text_link") == 0) {
		out->attr = json_string_value(json_object_get(j, "url"));
		return out->attr && *out->attr;
	}
	if (strcmp(type, "text_mention") == 0) {
		const json_t *id = json_object_get(json_object_get(j, "user"), "id");

		if (!json_is_integer(id) || json_integer_value(id) <= 0)
			return false;
		snprintf(out->user, sizeof(out->user), "tg://user?id=%lld",
		         (long long)json_integer_value(id));
		return true;
	}
	if (strcmp(type, "custom_emoji") == 0) {
		out->attr = json_string_value(json_object_get(j, "custom_emoji_id"));
		return digits_only(out->attr, 20);
	}
	if (strcmp(type, "pre") == 0) {
		out->attr = json_string_value(json_object_get(j, "language"));
		if (!language_ok(out->attr))
			out->attr = NULL; /* no language, or one HTML cannot name: plain pre */
	}
	return true;
}

static int open_tag(const struct ent *x, struct buf *out)
{
	int rc;

	if (x->open)
		return buf_adds(out, x->open);
	switch (x->cls) {
	case EC_LINK:
		rc = buf_adds(out, "<a href=\"");
		if (!rc)
			rc = html_escape(str_c(x->user[0] ? x->user : x->attr), out);
		return rc ? rc : buf_adds(out, "\">");
	case EC_EMOJI:
		return buf_printf(out, "<tg-emoji emoji-id=\"%s\">", x->attr);
	case EC_CODE: /* pre */
		if (!x->attr)
			return buf_adds(out, "<pre>");
		return buf_printf(out, "<pre><code class=\"language-%s\">", x->attr);
	default:
		return -ERR_INVALID;
	}
}

static int close_tag(const struct ent *x, struct buf *out)
{
	if (x->cls == EC_CODE && !x->open && x->attr)
		return buf_adds(out, "</code></pre>");
	return buf_adds(out, x->close);
}

int bot_entities_html(const char *text, size_t len, const json_t *entities, struct buf *out)
{
	size_t nunits = 0, n = 0, *units = NULL, depth = 0, nreopen, at = 0;
	struct ent *ents = NULL, **stack = NULL, **reopen = NULL;
	size_t start_len = out->len, next = 0;
	int rc = 0;

	if (entities && !json_is_array(entities))
		return -ERR_INVALID;
	if (entities && json_array_size(entities) > BOT_ENTITIES_MAX)
		return -ERR_TOO_BIG;
	units = unit_offsets(text, len, &nunits);
	if (entities && json_array_size(entities)) {
		ents = xcalloc(json_array_size(entities), sizeof(*ents));
		for (size_t i = 0; i < json_array_size(entities); i++)
			if (read_entity(json_array_get(entities, i), units, nunits, &ents[n])) {
				ents[n].index = i;
				n++;
			}
	}
	free(units);
	if (n > 1)
		qsort(ents, n, sizeof(*ents), ent_cmp);
	/* Keep an entity only when every entity it opens inside allows it. The
	 * order puts the outer one first, so one pass over the kept ones is
	 * enough; an entity that only partly overlaps another is split below,
	 * and its first part is inside, so the same rule covers it. */
	{
		size_t kept = 0;

		for (size_t i = 0; i < n; i++) {
			bool ok = true;

			for (size_t k = 0; k < kept && ok; k++)
				if (ents[k].start <= ents[i].start && ents[i].start < ents[k].end)
					ok = may_contain(ents[k].cls, ents[i].cls);
			if (ok)
				ents[kept++] = ents[i];
		}
		n = kept;
	}
	stack = xcalloc(n + 1, sizeof(*stack));
	reopen = xcalloc(n + 1, sizeof(*reopen));
	while (rc == 0 && (at < len || depth || next < n)) {
		size_t stop = len;

		/* the next boundary: an entity opening or one on the stack closing */
		if (next < n && ents[next].start < stop)
			stop = ents[next].start;
		for (size_t k = 0; k < depth; k++)
			if (stack[k]->end < stop)
				stop = stack[k]->end;
		if (stop > at)
			rc = html_escape((struct str){text + at, stop - at}, out);
		at = stop;
		/* close what ends here: whatever is above it closes too and opens
		 * again after, in the same order, so the nesting stays valid */
		nreopen = 0;
		for (size_t k = 0; rc == 0 && k < depth; k++) {
			if (stack[k]->end != at)
				continue;
			for (size_t j = depth; j-- > k && rc == 0;) {
				rc = close_tag(stack[j], out);
				if (stack[j]->end != at)
					reopen[nreopen++] = stack[j];
			}
			depth = k;
			break;
		}
		for (size_t j = nreopen; j-- > 0 && rc == 0;) {
			rc = open_tag(reopen[j], out);
			stack[depth++] = reopen[j];
		}
		while (rc == 0 && next < n && ents[next].start == at) {
			rc = open_tag(&ents[next], out);
			stack[depth++] = &ents[next++];
		}
		if (at >= len && depth == 0 && next >= n)
			break;
	}
	free(reopen);
	free(stack);
	free(ents);
	if (rc) {
		if (out->len != start_len) {
			out->len = start_len;
			out->p[start_len] = '\0';
		}
		return rc == -ERR_TOO_BIG ? rc : -ERR_INVALID;
	}
	return 0;
}

/* ---- URL buttons ----------------------------------------------------------- */

static size_t chars_of(struct str s)
{
	size_t n = 0;

	for (size_t i = 0; i < s.len; i++)
		n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
	return n;
}

/* Split "Text - URL" at the last " - " (or an en or em dash, which phones
 * put in place of "-"). */
static bool split_button(struct str b, struct str *text, struct str *url)
{
	static const char *const seps[] = {" - ", " \xe2\x80\x93 ", " \xe2\x80\x94 "};
	size_t best = SIZE_MAX, bestlen = 0;

	for (size_t s = 0; s < ARRAY_SIZE(seps); s++) {
		size_t k = strlen(seps[s]);

		for (size_t i = b.len >= k ? b.len - k + 1 : 0; i-- > 0;)
			if (memcmp(b.p + i, seps[s], k) == 0) {
				if (best == SIZE_MAX || i > best) {
					best = i;
					bestlen = k;
				}
				break;
			}
	}
	if (best == SIZE_MAX)
		return false;
	*text = str_trim((struct str){b.p, best});
	*url = str_trim((struct str){b.p + best + bestlen, b.len - best - bestlen});
	return true;
}

int bot_parse_buttons(struct str text, json_t **rows, struct bot_btn_fault *f)
{
	json_t *all = json_array();
	size_t total = 0, line_no = 0;
	struct str line;
	bool more = true;

	*rows = NULL;
	memset(f, 0, sizeof(*f));
	while (more && f->code == BOT_BTN_OK) {
		json_t *row;
		struct str rest, cell;

		more = str_split(&text, '\n', &line);
		line_no++;
		rest = str_trim(line);
		if (rest.len == 0)
			continue;
		row = json_array();
		json_array_append_new(all, row);
		for (bool cells = true; cells && f->code == BOT_BTN_OK;) {
			struct str label, url;
			const char *bar = NULL;

			/* cells are separated by " | " (a URL holds no spaces) */
			for (size_t i = 0; i + 3 <= rest.len; i++)
				if (memcmp(rest.p + i, " | ", 3) == 0) {
					bar = rest.p + i;
					break;
				}
			cell =
			    str_trim((struct str){rest.p, bar ? (size_t)(bar - rest.p) : rest.len});
			if (bar)
				rest = (struct str){bar + 3, rest.len - (size_t)(bar + 3 - rest.p)};
			cells = bar != NULL;
			f->line = line_no;
			if (!split_button(cell, &label, &url) || url.len == 0)
				f->code = BOT_BTN_FORMAT;
			else if (label.len == 0 || chars_of(label) > POST_BUTTON_TEXT_MAX ||
			         utf8_check(label.p, label.len, false) != label.len)
				f->code = BOT_BTN_TEXT;
			else if (!html_url_ok(url))
				f->code = BOT_BTN_URL;
			else if (json_array_size(row) >= POST_ROW_MAX)
				f->code = BOT_BTN_ROW;
			else if (++total > POST_BUTTONS_MAX)
				f->code = BOT_BTN_TOTAL;
			else
				json_array_append_new(row,
				                      json_pack("{s:s%, s:s%}", "text", label.p,
				                                label.len, "url", url.p, url.len));
		}
	}
	if (f->code == BOT_BTN_OK && total == 0) {
		f->code = BOT_BTN_NONE;
		f->line = 0;
	}
	if (f->code != BOT_BTN_OK) {
		json_decref(all);
		return -ERR_INVALID;
	}
	f->line = 0;
	*rows = all;
	return 0;
}

/* ---- a typed local time ---------------------------------------------------- */

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Read 1..max digits (exactly max when exact) as a number. */
static bool num(struct str *s, size_t max, bool exact, int *out)
{
	size_t i = 0;
	int v = 0;

	while (i < s->len && i < max && s->p[i] >= '0' && s->p[i] <= '9')
		v = v * 10 + (s->p[i++] - '0');
	if (i == 0 || (exact && i != max))
		return false;
	s->p += i;
	s->len -= i;
	*out = v;
	return true;
}

static bool lit(struct str *s, char c)
{
	if (!s->len || s->p[0] != c)
		return false;
	s->p++;
	s->len--;
	return true;
}

static bool read_clock(struct str *s, struct when_local *t)
{
	return num(s, 2, false, &t->hour) && lit(s, ':') && num(s, 2, true, &t->minute) &&
	       s->len == 0 && t->hour <= 23 && t->minute <= 59;
}

/* Skip the blanks (one or more spaces, or a 'T') between a date and a time. */
static bool gap(struct str *s)
{
	size_t i = 0;

	if (s->len && s->p[0] == 'T')
		i = 1;
	else
		while (i < s->len && s->p[i] == ' ')
			i++;
	s->p += i;
	s->len -= i;
	return i > 0;
}

static int cmp_local(const struct when_local *a, const struct when_local *b)
{
	const int x[] = {a->year, a->month, a->day, a->hour, a->minute};
	const int y[] = {b->year, b->month, b->day, b->hour, b->minute};

	for (size_t i = 0; i < ARRAY_SIZE(x); i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

void bot_local_add_days(struct when_local *t, int days)
{
	for (; days > 0; days--) {
		if (++t->day > month_days(t->year, t->month)) {
			t->day = 1;
			if (++t->month > 12) {
				t->month = 1;
				t->year++;
			}
		}
	}
}

int bot_parse_time(struct str s, const struct when_local *now, struct when_local *out)
{
	struct when_local t = *now, probe;
	struct str p = str_trim(s), q;
	int a = 0, b = 0;

	if (p.len == 0 || p.len > 32)
		return -ERR_INVALID;
	q = p;
	if (read_clock(&q, &t)) {
		/* HH:MM: today, or tomorrow once that minute has passed */
		t.year = now->year;
		t.month = now->month;
		t.day = now->day;
		if (cmp_local(&t, now) < 0)
			bot_local_add_days(&t, 1);
		*out = t;
		return 0;
	}
	q = p;
	if (num(&q, 4, true, &t.year)) {
		/* YYYY-MM-DD HH:MM */
		if (!lit(&q, '-') || !num(&q, 2, true, &t.month) || !lit(&q, '-') ||
		    !num(&q, 2, true, &t.day) || !gap(&q) || !read_clock(&q, &t))
			return -ERR_INVALID;
	} else {
		/* DD.MM[.YYYY] HH:MM */
		q = p;
		if (!num(&q, 2, false, &a) || !lit(&q, '.') || !num(&q, 2, false, &b))
			return -ERR_INVALID;
		t.day = a;
		t.month = b;
		t.year = now->year;
		if (lit(&q, '.')) {
			if (!num(&q, 4, true, &t.year))
				return -ERR_INVALID;
		} else if (t.month >= 1 && t.month <= 12) {
			/* the next such date: a day already gone this year is next year's */
			probe = t;
			probe.hour = 23;
			probe.minute = 59;
			if (cmp_local(&probe, now) < 0)
				t.year++;
		}
		if (!gap(&q) || !read_clock(&q, &t))
			return -ERR_INVALID;
	}
	if (t.year < 1900 || t.year > 9999 || t.month < 1 || t.month > 12 || t.day < 1 ||
	    t.day > month_days(t.year, t.month))
		return -ERR_INVALID;
	*out = t;
	return 0;
}

/* ---- a plain excerpt of HTML ----------------------------------------------- */

static size_t put_utf8(unsigned long cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decode the entity at s (which starts with '&'); its length in *used, 0
 * when it is not one. */
static size_t entity(const char *s, size_t n, size_t *used, char out[4])
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}};
	unsigned long cp = 0;
	size_t i = 2;
	bool hex;

	*used = 0;
	for (size_t k = 0; k < ARRAY_SIZE(named); k++) {
		size_t l = strlen(named[k].name);

		if (n >= l && memcmp(s, named[k].name, l) == 0) {
			*used = l;
			out[0] = named[k].c;
			return 1;
		}
	}
	if (n < 4 || s[1] != '#')
		return 0;
	hex = s[2] == 'x' || s[2] == 'X';
	i += hex;
	for (size_t start = i; i < n && i - start < 8; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'          ? c - '0'
		        : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
		                                      : -1;

		if (d < 0)
			break;
		cp = cp * (hex ? 16 : 10) + (unsigned long)d;
	}
	if (i >= n || s[i] != ';' || i == 2u + hex || cp == 0 || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	*used = i + 1;
	return put_utf8(cp, out);
}

void bot_html_plain(const char *html, size_t max, char *out, size_t outsz)
{
	size_t o = 0, n = html ? strlen(html) : 0, room = outsz ? outsz - 1 : 0;
	bool space = false, cut = false;

	if (max < room)
		room = max;
	for (size_t i = 0; i < n && !cut;) {
		char dec[4];
		size_t used = 1, k;

		if (html[i] == '<') {
			const char *gt = memchr(html + i, '>', n - i);

			i = gt ? (size_t)(gt - html) + 1 : n;
			continue;
		}
		if (html[i] == '\n' || html[i] == '\r' || html[i] == '\t' || html[i] == ' ') {
			space = o > 0;
			i++;
			continue;
		}
		k = html[i] == '&' ? entity(html + i, n - i, &used, dec) : 0;
		if (k == 0) {
			dec[0] = html[i];
			k = 1;
			used = 1;
		}
		if (o + space + k > room) {
			cut = true;
			break;
		}
		if (space)
			out[o++] = ' ';
		space = false;
		memcpy(out + o, dec, k);
		o += k;
		i += used;
	}
	if (cut && room >= 3) {
		/* make room for the ellipsis */
		o = utf8_cut(out, o + 3 > room ? room - 3 : o);
		memcpy(out + o, "\xe2\x80\xa6", 3); /* … */
		o += 3;
	}
	if (outsz)
		out[o] = '\0';
}
