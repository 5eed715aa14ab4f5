/*
 * html: validation of Telegram HTML for posts. html_check first checks that
 * the text is UTF-8, then scans it once: text bytes and character entities
 * are counted in UTF-16 code units, tags are parsed into a name and at most a
 * few attributes, checked against a fixed table and pushed on or popped off a
 * bounded stack. Every error names the byte offset where it was found. No
 * allocation: the stack and the buffer for a decoded href live on the C stack.
 */
#include "posts/html.h"

#include <stdint.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/utf8.h"

#define MAX_ATTRS  4
#define NAME_SHOWN 32 /* the most bytes of a tag name quoted in a message */

enum tag {
	T_B,
	T_STRONG,
	T_I,
	T_EM,
	T_U,
	T_INS,
	T_S,
	T_STRIKE,
	T_DEL,
	T_SPAN,
	T_SPOILER, /* the last formatting tag */
	T_A,
	T_CODE,
	T_PRE,
	T_BLOCKQUOTE,
	T_EMOJI,
};

static const char *const tag_names[] = {
    [T_B] = "b",
    [T_STRONG] = "strong",
    [T_I] = "i",
    [T_EM] = "em",
    [T_U] = "u",
    [T_INS] = "ins",
    [T_S] = "s",
    [T_STRIKE] = "strike",
    [T_DEL] = "del",
    [T_SPAN] = "span",
    [T_A] = "a",
    [T_CODE] = "code",
    [T_PRE] = "pre",
    [T_SPOILER] = "tg-spoiler",
    [T_EMOJI] = "tg-emoji",
    [T_BLOCKQUOTE] = "blockquote",
};

struct open_tag {
	enum tag tag;
	size_t at;
	bool has_code; /* pre only: a code child was seen */
};

struct attr {
	struct str name;
	struct str val; /* raw, entities not decoded */
	bool has_val;
	size_t at;
};

static bool is_fmt(enum tag t)
{
	return t <= T_SPOILER;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool name_is(struct str s, const char *name)
{
	size_t n = strlen(name);

	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(s.p[i]) != name[i])
			return false;
	return true;
}

/* The offset of the first byte that is not valid UTF-8 or is NUL, or n. */
static size_t utf8_bad_at(const unsigned char *s, size_t n)
{
	return utf8_check((const char *)s, n, false);
}

size_t html_utf16_units(struct str plain)
{
	const unsigned char *s = (const unsigned char *)plain.p;
	size_t units = 0;

	for (size_t i = 0; i < plain.len; i++) {
		if ((s[i] & 0xC0) == 0x80)
			continue;
		units++;
		/* A surrogate pair, counted only when a continuation byte follows so
		 * that the count never exceeds the bytes even for broken input. */
		if (s[i] >= 0xF0 && i + 1 < plain.len && (s[i + 1] & 0xC0) == 0x80)
			units++;
	}
	return units;
}

/*
 * The character entity at s[0] == '&': its length in bytes (0 when it is not
 * one we accept) and the code point it stands for.
 */
static size_t entity(const char *s, size_t n, uint32_t *cp)
{
	static const struct {
		const char *text;
		uint32_t cp;
	} named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}};
	uint64_t v = 0;
	size_t i = 2, start;
	bool hex;

	for (size_t k = 0; k < ARRAY_SIZE(named); k++) {
		size_t len = strlen(named[k].text);

		if (n >= len && memcmp(s, named[k].text, len) == 0) {
			*cp = named[k].cp;
			return len;
		}
	}
	if (n < 4 || s[1] != '#')
		return 0;
	hex = s[2] == 'x' || s[2] == 'X';
	if (hex)
		i++;
	start = i;
	/* At most 8 digits: enough for U+10FFFF with leading zeros, and no
	 * overflow of v. */
	for (; i < n && i - start < 8; i++) {
		char c = s[i];
		unsigned d;

		if (is_digit(c))
			d = (unsigned)(c - '0');
		else if (hex && lower(c) >= 'a' && lower(c) <= 'f')
			d = (unsigned)(lower(c) - 'a' + 10);
		else
			break;
		v = v * (hex ? 16 : 10) + d;
	}
	if (i == start || i >= n || s[i] != ';')
		return 0;
	if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = (uint32_t)v;
	return i + 1;
}

static int bad_entity(struct err *e, size_t at)
{
	return err_set(e, ERR_INVALID,
	               "'&' at byte %zu does not start a character entity; write &amp;", at);
}

/* Decode the entities of an attribute value into dst (UTF-8); false when it
 * does not fit. The value was already checked by scan_value. */
static bool decode(struct str v, char *dst, size_t cap, size_t *len)
{
	size_t o = 0;

	for (size_t i = 0; i < v.len;) {
		uint32_t cp = 0;
		size_t k = v.p[i] == '&' ? entity(v.p + i, v.len - i, &cp) : 0;
		unsigned char u[4];
		size_t m;

		if (!k) {
			if (o >= cap)
				return false;
			dst[o++] = v.p[i++];
			continue;
		}
		i += k;
		if (cp < 0x80)
			u[0] = (unsigned char)cp, m = 1;
		else if (cp < 0x800)
			u[0] = (unsigned char)(0xC0 | cp >> 6),
			u[1] = (unsigned char)(0x80 | (cp & 0x3F)), m = 2;
		else if (cp < 0x10000)
			u[0] = (unsigned char)(0xE0 | cp >> 12),
			u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)),
			u[2] = (unsigned char)(0x80 | (cp & 0x3F)), m = 3;
		else
			u[0] = (unsigned char)(0xF0 | cp >> 18),
			u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F)),
			u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)),
			u[3] = (unsigned char)(0x80 | (cp & 0x3F)), m = 4;
		if (cap - o < m)
			return false;
		memcpy(dst + o, u, m);
		o += m;
	}
	*len = o;
	return true;
}

static bool host_ok(struct str h)
{
	size_t label = 0;

	if (h.len == 0)
		return false;
	for (size_t i = 0; i < h.len; i++) {
		char c = h.p[i];

		if (c == '.') {
			if (label == 0 || h.p[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		label++;
	}
	/* A trailing dot ("example.org.") is a valid absolute name. */
	return h.p[h.len - 1] != '-';
}

bool html_url_ok(struct str url)
{
	struct str rest, host;
	size_t i = 0;

	if (url.len == 0 || url.len > HTML_URL_MAX)
		return false;
	for (size_t k = 0; k < url.len; k++) {
		unsigned char c = (unsigned char)url.p[k];

		if (c <= 0x20 || c == 0x7F || c == '"' || c == '<' || c == '>' || c == '\\' ||
		    c == '`')
			return false;
	}
	if (url.len > 5 && name_is((struct str){url.p, 5}, "tg://"))
		return true;
	if (url.len >= 7 && name_is((struct str){url.p, 7}, "http://"))
		i = 7;
	else if (url.len >= 8 && name_is((struct str){url.p, 8}, "https://"))
		i = 8;
	else
		return false;
	rest = (struct str){url.p + i, url.len - i};
	i = 0;
	while (i < rest.len && rest.p[i] != ':' && rest.p[i] != '/' && rest.p[i] != '?' &&
	       rest.p[i] != '#')
		i++;
	host = (struct str){rest.p, i};
	if (!host_ok(host))
		return false;
	if (i < rest.len && rest.p[i] == ':') {
		size_t start = ++i;
		uint32_t port = 0;

		while (i < rest.len && is_digit(rest.p[i]) && i - start < 5)
			port = port * 10 + (uint32_t)(rest.p[i++] - '0');
		if (i == start || port == 0 || port > 65535)
			return false;
	}
	return i == rest.len || rest.p[i] == '/' || rest.p[i] == '?' || rest.p[i] == '#';
}

/*
 * Check a quoted attribute value starting after the quote at v.p: entities
 * valid, no '<' or '>'. Returns 0 or an error naming the offset (base is the
 * offset of v.p in the text).
 */
static int scan_value(struct str v, size_t base, struct err *e)
{
	for (size_t i = 0; i < v.len; i++) {
		uint32_t cp;

		if (v.p[i] == '<' || v.p[i] == '>')
			return err_set(e, ERR_INVALID, "bare '%c' at byte %zu; write %s", v.p[i],
			               base + i, v.p[i] == '<' ? "&lt;" : "&gt;");
		if (v.p[i] == '&') {
			size_t k = entity(v.p + i, v.len - i, &cp);

			if (!k)
				return bad_entity(e, base + i);
			i += k - 1;
		}
	}
	return 0;
}

/*
 * Parse the attributes of a start tag from *i up to and including the '>'.
 * at is the offset of the '<', for messages.
 */
static int parse_attrs(struct str t, size_t *pi, size_t at, struct attr *attrs, size_t *nattrs,
                       struct err *e)
{
	size_t i = *pi, n = 0;
	int rc;

	for (;;) {
		struct attr a = {0};
		size_t s;

		while (i < t.len && is_space(t.p[i]))
			i++;
		if (i >= t.len)
			return err_set(e, ERR_INVALID, "unclosed tag at byte %zu", at);
		if (t.p[i] == '>')
			break;
		if (t.p[i] == '/')
			return err_set(e, ERR_INVALID, "self-closing tag at byte %zu", at);
		if (i > *pi && !is_space(t.p[i - 1]))
			return err_set(e, ERR_INVALID, "malformed tag at byte %zu", at);
		s = i;
		while (i < t.len && is_name_char(t.p[i]))
			i++;
		if (i == s)
			return err_set(e, ERR_INVALID, "malformed attribute at byte %zu", s);
		a.name = (struct str){t.p + s, i - s};
		a.at = s;
		while (i < t.len && is_space(t.p[i]))
			i++;
		if (i < t.len && t.p[i] == '=') {
			char q;
			size_t vs;

			i++;
			while (i < t.len && is_space(t.p[i]))
				i++;
			if (i >= t.len || (t.p[i] != '"' && t.p[i] != '\''))
				return err_set(e, ERR_INVALID,
				               "attribute value at byte %zu is not quoted", i);
			q = t.p[i++];
			vs = i;
			while (i < t.len && t.p[i] != q)
				i++;
			if (i >= t.len)
				return err_set(e, ERR_INVALID,
				               "unterminated attribute value at byte %zu", vs - 1);
			a.val = (struct str){t.p + vs, i - vs};
			a.has_val = true;
			i++;
			rc = scan_value(a.val, vs, e);
			if (rc)
				return rc;
		} else if (i < t.len && !is_space(t.p[i]) && t.p[i] != '>' && t.p[i] != '/') {
			return err_set(e, ERR_INVALID, "malformed attribute at byte %zu", i);
		}
		for (size_t k = 0; k < n; k++) {
			bool same = a.name.len == attrs[k].name.len;

			for (size_t c = 0; same && c < a.name.len; c++)
				same = lower(a.name.p[c]) == lower(attrs[k].name.p[c]);
			if (same)
				return err_set(
				    e, ERR_INVALID, "duplicate attribute %.*s at byte %zu",
				    (int)(a.name.len < NAME_SHOWN ? a.name.len : NAME_SHOWN),
				    a.name.p, a.at);
		}
		if (n == MAX_ATTRS)
			return err_set(e, ERR_INVALID, "too many attributes in the tag at byte %zu",
			               at);
		attrs[n++] = a;
	}
	*pi = i + 1;
	*nattrs = n;
	return 0;
}

static bool lang_ok(struct str v)
{
	static const char prefix[] = "language-";
	size_t p = sizeof(prefix) - 1;

	if (v.len <= p || memcmp(v.p, prefix, p) != 0)
		return false;
	for (size_t i = p; i < v.len; i++) {
		char c = v.p[i];

		if (!(is_name_char(c) || c == '+' || c == '#' || c == '.'))
			return false;
	}
	return true;
}

/* Check the attributes of a start tag against what tag allows. */
static int check_attrs(enum tag tag, const struct attr *attrs, size_t n, bool in_pre, size_t at,
                       struct err *e)
{
	const char *name = tag_names[tag];
	bool need = tag == T_SPAN || tag == T_A || tag == T_EMOJI;
	bool seen = false;

	for (size_t k = 0; k < n; k++) {
		const struct attr *a = &attrs[k];
		int nl = (int)(a->name.len < NAME_SHOWN ? a->name.len : NAME_SHOWN);

		if (tag == T_SPAN && name_is(a->name, "class") && a->has_val) {
			if (!str_eqc(a->val, "tg-spoiler"))
				return err_set(e, ERR_INVALID,
				               "<span> at byte %zu needs class=\"tg-spoiler\"", at);
		} else if (tag == T_A && name_is(a->name, "href") && a->has_val) {
			char url[HTML_URL_MAX];
			size_t len;

			if (!decode(a->val, url, sizeof(url), &len) ||
			    !html_url_ok((struct str){url, len}))
				return err_set(e, ERR_INVALID,
				               "bad link at byte %zu: only http, https and tg URLs "
				               "are allowed",
				               a->at);
		} else if (tag == T_CODE && name_is(a->name, "class") && a->has_val) {
			if (!in_pre)
				return err_set(
				    e, ERR_INVALID,
				    "<code class> at byte %zu is only allowed inside <pre>", at);
			if (!lang_ok(a->val))
				return err_set(e, ERR_INVALID,
				               "<code> at byte %zu: class must be language-NAME",
				               at);
		} else if (tag == T_BLOCKQUOTE && name_is(a->name, "expandable") && !a->has_val) {
			/* the only attribute of blockquote */
		} else if (tag == T_EMOJI && name_is(a->name, "emoji-id") && a->has_val) {
			bool digits = a->val.len > 0 && a->val.len <= 20;

			for (size_t c = 0; digits && c < a->val.len; c++)
				digits = is_digit(a->val.p[c]);
			if (!digits)
				return err_set(e, ERR_INVALID,
				               "<tg-emoji> at byte %zu: emoji-id must be a number",
				               at);
		} else {
			return err_set(e, ERR_INVALID,
			               "attribute %.*s%s is not allowed in <%s> at byte %zu", nl,
			               a->name.p, a->has_val ? "=\"...\"" : "", name, at);
		}
		seen = true;
	}
	if (need && !seen)
		return err_set(e, ERR_INVALID, "<%s> at byte %zu needs its %s attribute", name, at,
		               tag == T_A      ? "href"
		               : tag == T_SPAN ? "class"
		                               : "emoji-id");
	return 0;
}

/* Whether tag may be opened inside the open tags stack[0..depth). */
static int check_nesting(enum tag tag, const struct open_tag *stack, size_t depth, size_t at,
                         struct err *e)
{
	const char *name = tag_names[tag];

	for (size_t k = 0; k < depth; k++) {
		enum tag outer = stack[k].tag;
		bool ok;

		if (outer == T_CODE)
			ok = false;
		else if (outer == T_PRE)
			ok = tag == T_CODE && k == depth - 1 && !stack[k].has_code;
		else if (outer == T_A || outer == T_EMOJI)
			ok = is_fmt(tag);
		else if (outer == T_BLOCKQUOTE)
			ok = tag != T_BLOCKQUOTE;
		else
			ok = true;
		if (!ok)
			return err_set(e, ERR_INVALID, "<%s> at byte %zu cannot be inside <%s>",
			               name, at, tag_names[outer]);
	}
	return 0;
}

static int find_tag(struct str name, enum tag *out)
{
	for (size_t k = 0; k < ARRAY_SIZE(tag_names); k++) {
		if (name_is(name, tag_names[k])) {
			*out = (enum tag)k;
			return 0;
		}
	}
	return -1;
}

int html_check(struct str text, size_t max_units, struct html_info *info, struct err *e)
{
	struct open_tag stack[HTML_MAX_DEPTH];
	size_t depth = 0, units = 0, tags = 0, i = 0, bad;
	const char *t = text.p;
	int rc;

	if (text.len == 0) {
		t = "";
		text.p = t;
	}
	bad = utf8_bad_at((const unsigned char *)t, text.len);
	if (bad < text.len)
		return err_set(e, ERR_INVALID, "%s at byte %zu",
		               t[bad] == 0 ? "NUL byte" : "invalid UTF-8", bad);

	while (i < text.len) {
		char c = t[i];
		size_t at = i, s;
		struct str name;
		enum tag tag;

		if (c == '&') {
			uint32_t cp;
			size_t k = entity(t + i, text.len - i, &cp);

			if (!k)
				return bad_entity(e, i);
			units += cp >= 0x10000 ? 2 : 1;
			i += k;
			continue;
		}
		if (c == '>')
			return err_set(e, ERR_INVALID, "bare '>' at byte %zu; write &gt;", i);
		if (c != '<') {
			unsigned char u = (unsigned char)c;

			/* UTF-8 was checked: count lead bytes, 4-byte ones twice. */
			if ((u & 0xC0) != 0x80)
				units += u >= 0xF0 ? 2 : 1;
			i++;
			continue;
		}

		if (i + 1 < text.len && t[i + 1] == '/') {
			s = i + 2;
			i = s;
			while (i < text.len && is_name_char(t[i]))
				i++;
			name = (struct str){t + s, i - s};
			while (i < text.len && is_space(t[i]))
				i++;
			if (name.len == 0 || i >= text.len || t[i] != '>')
				return err_set(e, ERR_INVALID, "malformed end tag at byte %zu", at);
			i++;
			if (find_tag(name, &tag) != 0)
				return err_set(e, ERR_INVALID,
				               "tag </%.*s> is not allowed (byte %zu)",
				               (int)(name.len < NAME_SHOWN ? name.len : NAME_SHOWN),
				               name.p, at);
			if (depth == 0)
				return err_set(e, ERR_INVALID, "</%s> at byte %zu closes nothing",
				               tag_names[tag], at);
			if (stack[depth - 1].tag != tag)
				return err_set(
				    e, ERR_INVALID,
				    "</%s> at byte %zu does not close <%s> opened at byte %zu",
				    tag_names[tag], at, tag_names[stack[depth - 1].tag],
				    stack[depth - 1].at);
			depth--;
			continue;
		}

		s = i + 1;
		i = s;
		while (i < text.len && is_name_char(t[i]))
			i++;
		name = (struct str){t + s, i - s};
		if (name.len == 0)
			return err_set(e, ERR_INVALID, "bare '<' at byte %zu; write &lt;", at);
		if (find_tag(name, &tag) != 0)
			return err_set(e, ERR_INVALID, "tag <%.*s> is not allowed (byte %zu)",
			               (int)(name.len < NAME_SHOWN ? name.len : NAME_SHOWN), name.p,
			               at);
		{
			struct attr attrs[MAX_ATTRS];
			size_t nattrs = 0;
			bool in_pre = depth > 0 && stack[depth - 1].tag == T_PRE;

			rc = parse_attrs(text, &i, at, attrs, &nattrs, e);
			if (rc)
				return rc;
			rc = check_attrs(tag, attrs, nattrs, in_pre, at, e);
			if (rc)
				return rc;
		}
		rc = check_nesting(tag, stack, depth, at, e);
		if (rc)
			return rc;
		if (depth == HTML_MAX_DEPTH)
			return err_set(e, ERR_INVALID,
			               "tags are nested more than %d deep at byte %zu",
			               HTML_MAX_DEPTH, at);
		if (depth > 0 && stack[depth - 1].tag == T_PRE && tag == T_CODE)
			stack[depth - 1].has_code = true;
		stack[depth++] = (struct open_tag){tag, at, false};
		tags++;
	}
	if (depth > 0)
		return err_set(e, ERR_INVALID, "unclosed <%s> at byte %zu",
		               tag_names[stack[depth - 1].tag], stack[depth - 1].at);
	if (info) {
		info->units = units;
		info->tags = tags;
	}
	if (units > max_units)
		return err_set(e, ERR_TOO_BIG, "text is %zu characters; the limit is %zu", units,
		               max_units);
	return 0;
}

int html_escape(struct str plain, struct buf *out)
{
	size_t start = out->len, run = 0;
	int rc = 0;

	for (size_t i = 0; i <= plain.len && rc == 0; i++) {
		const char *rep = NULL;

		if (i < plain.len) {
			switch (plain.p[i]) {
			case '&':
				rep = "&amp;";
				break;
			case '<':
				rep = "&lt;";
				break;
			case '>':
				rep = "&gt;";
				break;
			case '"':
				rep = "&quot;";
				break;
			default:
				continue;
			}
		}
		if (i > run)
			rc = buf_add(out, plain.p + run, i - run);
		if (rc == 0 && rep)
			rc = buf_adds(out, rep);
		run = i + 1;
	}
	if (rc && out->len != start) {
		out->len = start;
		out->p[start] = '\0';
	}
	return rc;
}
