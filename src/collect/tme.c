/*
 * tme: the public channel page, parsed with libxml2's HTML parser (errors and
 * warnings off, no network) into one tree, then walked without recursion, so
 * deep nesting costs no stack. Two walks visit every node about once: the
 * page outside section.tgme_channel_history (title, username, subscriber
 * counter, pagination links), then the history section, where each
 * .tgme_widget_message is read by a walk of its own subtree that the history
 * walk then skips. An element's class attribute is split into tokens once and
 * matched against a fixed table into a bit set.
 *
 * What counts as changed markup (an error, nothing returned) and what is a
 * rejected field (the field unknown, the page still good) is listed in
 * tme.h; the reasoning is in docs/collect.md.
 */
#include "collect/tme.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lib/buf.h"
#include "lib/mem.h"

/* The longest text of an element read (a title, or a number). */
#define TEXT_MAX (TME_TITLE_MAX + 64)
/* Bytes of a rejected text quoted in tme_page.why. */
#define SHOWN_MAX 24

/* Class tokens the parser looks for. */
enum {
	C_TITLE = 1u << 0,
	C_USERNAME = 1u << 1,
	C_COUNTER = 1u << 2,
	C_COUNTER_VALUE = 1u << 3,
	C_COUNTER_TYPE = 1u << 4,
	C_PAGE = 1u << 5,
	C_HISTORY = 1u << 6,
	C_MORE = 1u << 7,
	C_WRAP = 1u << 8,
	C_MESSAGE = 1u << 9,
	C_SERVICE = 1u << 10,
	C_TEXT = 1u << 11,
	C_PHOTO = 1u << 12,
	C_VIDEO = 1u << 13,
	C_DOCUMENT = 1u << 14,
	C_POLL = 1u << 15,
	C_FORWARDED = 1u << 16,
	C_REPLY = 1u << 17,
	C_LINK_PREVIEW = 1u << 18,
	C_FOOTER = 1u << 19,
	C_INFO = 1u << 20,
	C_VIEWS = 1u << 21,
	C_META = 1u << 22,
	C_DATE = 1u << 23,
	C_REACTIONS = 1u << 24,
	C_REACTION = 1u << 25,
	C_PAID = 1u << 26,
	C_FORWARDS = 1u << 27,
};

/* Parts that exist only inside a post: outside one, the markup changed. */
#define POST_PARTS                                                                                 \
	(C_TEXT | C_PHOTO | C_VIDEO | C_DOCUMENT | C_POLL | C_FORWARDED | C_FOOTER | C_INFO |      \
	 C_VIEWS | C_META | C_DATE | C_REACTIONS | C_REACTION | C_FORWARDS)

#define CLASS(s, b)                                                                                \
	{                                                                                          \
		s, sizeof(s) - 1, b                                                                \
	}
static const struct {
	const char *name;
	size_t len;
	unsigned bit;
} class_table[] = {
    CLASS("tgme_channel_info_header_title", C_TITLE),
    CLASS("tgme_channel_info_header_username", C_USERNAME),
    CLASS("tgme_channel_info_counter", C_COUNTER),
    CLASS("counter_value", C_COUNTER_VALUE),
    CLASS("counter_type", C_COUNTER_TYPE),
    CLASS("tgme_page", C_PAGE),
    CLASS("tgme_channel_history", C_HISTORY),
    CLASS("tme_messages_more", C_MORE),
    CLASS("tgme_widget_message_wrap", C_WRAP),
    CLASS("tgme_widget_message", C_MESSAGE),
    CLASS("service_message", C_SERVICE),
    CLASS("tgme_widget_message_text", C_TEXT),
    CLASS("tgme_widget_message_photo_wrap", C_PHOTO),
    CLASS("tgme_widget_message_video_player", C_VIDEO),
    CLASS("tgme_widget_message_document_wrap", C_DOCUMENT),
    CLASS("tgme_widget_message_poll", C_POLL),
    CLASS("tgme_widget_message_forwarded_from", C_FORWARDED),
    CLASS("tgme_widget_message_forwarded_from_name", C_FORWARDED),
    CLASS("tgme_widget_message_reply", C_REPLY),
    CLASS("tgme_widget_message_link_preview", C_LINK_PREVIEW),
    CLASS("tgme_widget_message_footer", C_FOOTER),
    CLASS("tgme_widget_message_info", C_INFO),
    CLASS("tgme_widget_message_views", C_VIEWS),
    CLASS("tgme_widget_message_meta", C_META),
    CLASS("tgme_widget_message_date", C_DATE),
    CLASS("tgme_widget_message_reactions", C_REACTIONS),
    CLASS("tgme_reaction", C_REACTION),
    CLASS("tgme_reaction_paid", C_PAID),
    CLASS("tgme_widget_message_forwards", C_FORWARDS),
};
#undef CLASS

struct parse {
	struct tme_page *page;
	struct err *e;
	struct buf text;  /* scratch for the text of one element */
	size_t cap;       /* slots in page->posts */
	xmlNode *history; /* section.tgme_channel_history */
	bool saw_page;    /* a .tgme_page: t.me's page of a chat */
	bool took_title, took_username, took_counter;
	char channel[TME_USERNAME_MAX + 1]; /* from the first data-post */
	/* Pagination: 0 not seen, 1 read into the value, -1 malformed. */
	int more_state, prev_state;
	int64_t more_before, prev_before;
	size_t wraps, services;
};

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

/* libxml2 2.9 initialises itself on first use, but not safely from two
 * threads at once; collectors run on several. */
static void xml_init(void)
{
	xmlInitParser();
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_name_char(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool username_ok(struct str s)
{
	if (s.len == 0 || s.len > TME_USERNAME_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_name_char(s.p[i]))
			return false;
	return true;
}

/* Printable ASCII of s for a message, the rest as '?', at most SHOWN_MAX. */
static const char *shown(struct str s, char out[SHOWN_MAX + 4])
{
	size_t n = s.len < SHOWN_MAX ? s.len : SHOWN_MAX, i;

	for (i = 0; i < n; i++)
		out[i] = s.p[i] >= 0x20 && s.p[i] < 0x7f ? s.p[i] : '?';
	if (n < s.len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

/* Markup changed: the error tme_page_parse returns. */
static int changed(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int changed(struct parse *p, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return err_set(p->e, ERR_INVALID, "markup changed: %s", why);
}

/* Reject a field: set its bit in *bad, count it, keep the first reason. */
static void reject(struct parse *p, unsigned *bad, unsigned bit, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reject(struct parse *p, unsigned *bad, unsigned bit, const char *fmt, ...)
{
	va_list ap;

	*bad |= bit;
	if (p->page->nbad++ == 0) {
		va_start(ap, fmt);
		vsnprintf(p->page->why, sizeof(p->page->why), fmt, ap);
		va_end(ap);
	}
}

/* The next node after n in document order without leaving root; n's children
 * are skipped when skip is set. Only elements and the document are entered:
 * an entity reference's children belong to its declaration. */
static xmlNode *next_in(xmlNode *n, const xmlNode *root, bool skip)
{
	if (!skip && n->children &&
	    (n->type == XML_ELEMENT_NODE || n->type == XML_HTML_DOCUMENT_NODE))
		return n->children;
	while (n != root) {
		if (n->next)
			return n->next;
		n = n->parent;
	}
	return NULL;
}

/* The value of attribute name of element n: NULL when absent, "" when it has
 * no value. The HTML parser stores a value as one text node. */
static const char *attr(const xmlNode *n, const char *name)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		if (strcmp((const char *)a->name, name) != 0)
			continue;
		if (!a->children)
			return "";
		if (a->children->type != XML_TEXT_NODE || a->children->next ||
		    !a->children->content)
			return NULL;
		return (const char *)a->children->content;
	}
	return NULL;
}

static unsigned class_bits(const char *t, size_t len)
{
	unsigned bits = 0;

	for (size_t i = 0; i < ARRAY_SIZE(class_table); i++)
		if (class_table[i].len == len && memcmp(class_table[i].name, t, len) == 0)
			bits |= class_table[i].bit;
	return bits;
}

/* The known class tokens of element n, as C_* bits. */
static unsigned classes(const xmlNode *n)
{
	const char *s = attr(n, "class");
	unsigned bits = 0;

	if (!s)
		return 0;
	while (*s) {
		const char *t;

		while (*s && is_space(*s))
			s++;
		t = s;
		while (*s && !is_space(*s))
			s++;
		if (s > t)
			bits |= class_bits(t, (size_t)(s - t));
	}
	return bits;
}

/* The name of the first token of bits, for a message. */
static const char *class_name(unsigned bits)
{
	for (size_t i = 0; i < ARRAY_SIZE(class_table); i++)
		if (bits & class_table[i].bit)
			return class_table[i].name;
	return "?";
}

static bool is_element(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static bool is_text(const xmlNode *n)
{
	return (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content;
}

/*
 * The text of n into p->text, trimmed: of its whole subtree, or (own) only of
 * its text children. -ERR_TOO_BIG when longer than the buffer's max.
 */
static int text_of(struct parse *p, xmlNode *n, bool own, struct str *out)
{
	struct buf *b = &p->text;
	bool skip = false;

	buf_reset(b);
	if (own) {
		for (xmlNode *c = n->children; c; c = c->next)
			if (is_text(c) && buf_adds(b, (const char *)c->content) != 0)
				return -ERR_TOO_BIG;
	} else {
		for (xmlNode *c = n; c; c = next_in(c, n, skip))
			if (is_text(c) && buf_adds(b, (const char *)c->content) != 0)
				return -ERR_TOO_BIG;
	}
	*out = str_trim((struct str){b->p, b->len});
	return 0;
}

/*
 * Read a count from the text of n's subtree into *c. A malformed one leaves *c unknown,
 * sets bit in *bad and is named in the page's why as "<what> \"text\"".
 */
static void read_count(struct parse *p, xmlNode *n, struct tme_count *c, unsigned *bad,
                       unsigned bit, const char *what)
{
	char q[SHOWN_MAX + 4];
	struct str s;

	if (text_of(p, n, false, &s) != 0) {
		reject(p, bad, bit, "%s: too long", what);
		return;
	}
	if (tme_count(s, &c->value, &c->approx) != 0) {
		*c = (struct tme_count){0, false, false};
		reject(p, bad, bit, "%s \"%s\"", what, shown(s, q));
		return;
	}
	c->known = true;
}

/* A message id: digits only (no sign), 1 to INT64_MAX. */
static int parse_id(struct str s, int64_t *out)
{
	if (s.len == 0 || !is_digit(s.p[0]))
		return -ERR_INVALID;
	return str_to_i64(s, 1, INT64_MAX, out);
}

/* The number after "before=" in the query of a pagination href. */
static int before_of(const char *href, int64_t *out)
{
	const char *q = strchr(href, '?');

	while (q) {
		struct str v;

		q++;
		if (strncmp(q, "before=", 7) == 0) {
			v.p = q + 7;
			v.len = strcspn(v.p, "&#");
			return parse_id(v, out);
		}
		q = strchr(q, '&');
	}
	return -ERR_INVALID;
}

static void take_title(struct parse *p, xmlNode *n)
{
	struct tme_page *page = p->page;
	struct str s;

	p->took_title = true;
	if (text_of(p, n, false, &s) != 0 || s.len > TME_TITLE_MAX) {
		reject(p, &page->bad, TME_BAD_TITLE, "title longer than %d bytes", TME_TITLE_MAX);
		return;
	}
	if (s.len == 0) {
		reject(p, &page->bad, TME_BAD_TITLE, "title empty");
		return;
	}
	page->title = xstrndup(s.p, s.len);
}

static void take_username(struct parse *p, xmlNode *n)
{
	struct tme_page *page = p->page;
	char q[SHOWN_MAX + 4];
	bool skip = false;
	struct str s = {"", 0};

	p->took_username = true;
	for (xmlNode *c = n; c; c = next_in(c, n, skip)) {
		if (is_element(c, "a")) {
			if (text_of(p, c, false, &s) != 0)
				s = STR_LIT("?");
			break;
		}
	}
	if (s.len < 2 || s.p[0] != '@' || !username_ok((struct str){s.p + 1, s.len - 1})) {
		reject(p, &page->bad, TME_BAD_USERNAME, "username \"%s\"", shown(s, q));
		return;
	}
	memcpy(page->username, s.p + 1, s.len - 1);
	page->username[s.len - 1] = '\0';
}

/* The first counter: .counter_value, which .counter_type says is subscribers. */
static void take_counter(struct parse *p, xmlNode *n)
{
	struct tme_page *page = p->page;
	xmlNode *value = NULL, *type = NULL;
	bool skip = false;
	struct str s;

	p->took_counter = true;
	for (xmlNode *c = n; c && !(value && type); c = next_in(c, n, skip)) {
		unsigned bits;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		bits = classes(c);
		if ((bits & C_COUNTER_VALUE) && !value)
			value = c;
		if ((bits & C_COUNTER_TYPE) && !type)
			type = c;
	}
	if (!value) {
		reject(p, &page->bad, TME_BAD_SUBSCRIBERS, "subscribers: no .counter_value");
		return;
	}
	if (type && (text_of(p, type, false, &s) != 0 || s.len < 10 ||
	             strncasecmp(s.p, "subscriber", 10) != 0)) {
		reject(p, &page->bad, TME_BAD_SUBSCRIBERS, "first counter is not subscribers");
		return;
	}
	read_count(p, value, &page->subscribers, &page->bad, TME_BAD_SUBSCRIBERS, "subscribers");
}

/* a.tme_messages_more[data-before]: the first one counts. */
static void take_more(struct parse *p, xmlNode *n)
{
	const char *v = attr(n, "data-before");

	if (!v || p->more_state != 0)
		return;
	p->more_state = parse_id(str_c(v), &p->more_before) == 0 ? 1 : -1;
}

/* link rel=prev href="/s/<channel>?before=<id>": the first one counts. */
static void take_link(struct parse *p, xmlNode *n)
{
	const char *rel = attr(n, "rel"), *href = attr(n, "href");

	if (!rel || strcasecmp(rel, "prev") != 0 || !href || p->prev_state != 0)
		return;
	p->prev_state = before_of(href, &p->prev_before) == 0 ? 1 : -1;
}

/* The walk of everything but the history section, which it finds. */
static int walk_page(struct parse *p, xmlNode *root)
{
	bool skip = false;

	for (xmlNode *n = root; n; n = next_in(n, root, skip)) {
		unsigned c;

		skip = false;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		c = classes(n);
		if (c & C_HISTORY) {
			if (p->history)
				return changed(p, "two .tgme_channel_history");
			p->history = n;
			skip = true;
			continue;
		}
		if (c & C_PAGE)
			p->saw_page = true;
		if (c & C_MORE)
			take_more(p, n);
		if (is_element(n, "link"))
			take_link(p, n);
		if ((c & C_TITLE) && !p->took_title)
			take_title(p, n);
		if ((c & C_USERNAME) && !p->took_username)
			take_username(p, n);
		if ((c & C_COUNTER) && !p->took_counter)
			take_counter(p, n);
	}
	return 0;
}

/* The first time[datetime] under the date link n. */
static void take_date(struct parse *p, struct tme_post *po, xmlNode *n)
{
	char q[SHOWN_MAX + 4];
	bool skip = false;

	for (xmlNode *c = n; c; c = next_in(c, n, skip)) {
		const char *v;

		if (!is_element(c, "time") || !(v = attr(c, "datetime")))
			continue;
		if (tme_datetime(str_c(v), &po->date_ms) != 0)
			reject(p, &po->bad, TME_BAD_DATE, "post %lld: date \"%s\"",
			       (long long)po->id, shown(str_c(v), q));
		return;
	}
	reject(p, &po->bad, TME_BAD_DATE, "post %lld: no time[datetime]", (long long)po->id);
}

/* Whether one of n's own text nodes contains word. */
static bool own_text_has(const xmlNode *n, const char *word)
{
	for (const xmlNode *c = n->children; c; c = c->next)
		if (is_text(c) && strstr((const char *)c->content, word))
			return true;
	return false;
}

/* data-post="<channel>/<id>" into *id, checking the channel against the
 * first post's. */
static int post_id(struct parse *p, xmlNode *m, int64_t *id)
{
	const char *dp = attr(m, "data-post"), *slash;
	char q[SHOWN_MAX + 4];
	struct str name;

	if (!dp)
		return changed(p, "a .tgme_widget_message without data-post");
	slash = strrchr(dp, '/');
	name = (struct str){dp, slash ? (size_t)(slash - dp) : 0};
	if (!slash || !username_ok(name) || parse_id(str_c(slash + 1), id) != 0)
		return changed(p, "data-post \"%s\"", shown(str_c(dp), q));
	if (!p->channel[0]) {
		memcpy(p->channel, name.p, name.len);
		p->channel[name.len] = '\0';
	} else if (!str_case_eq(name, p->channel)) {
		return changed(p, "data-post \"%s\" is not of channel %s", shown(str_c(dp), q),
		               p->channel);
	}
	return 0;
}

/* What reactions add up to while a post is read. */
struct sums {
	bool bar, any, bad;
	int64_t free, paid;
	bool free_approx, paid_approx;
};

static void add_reaction(struct parse *p, struct sums *r, xmlNode *n, bool paid,
                         struct tme_post *po)
{
	char q[SHOWN_MAX + 4];
	int64_t v;
	bool approx, over;
	struct str s;

	r->any = true;
	if (r->bad)
		return;
	if (text_of(p, n, true, &s) != 0)
		s = STR_LIT("(too long)");
	if (tme_count(s, &v, &approx) != 0) {
		r->bad = true;
		reject(p, &po->bad, TME_BAD_REACTIONS, "post %lld: reaction \"%s\"",
		       (long long)po->id, shown(s, q));
		return;
	}
	if (paid) {
		over = __builtin_add_overflow(r->paid, v, &r->paid);
		r->paid_approx |= approx;
	} else {
		over = __builtin_add_overflow(r->free, v, &r->free);
		r->free_approx |= approx;
	}
	if (over) {
		r->bad = true;
		reject(p, &po->bad, TME_BAD_REACTIONS, "post %lld: reactions overflow",
		       (long long)po->id);
	}
}

static void add_post(struct parse *p, const struct tme_post *po)
{
	struct tme_page *page = p->page;

	if (page->nposts == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 32;
		page->posts = xrealloc(page->posts, p->cap * sizeof(*page->posts));
	}
	page->posts[page->nposts++] = *po;
}

/* Read the post m; a service message is counted and left out. */
static int read_post(struct parse *p, xmlNode *m)
{
	struct tme_post po = {0};
	struct sums r = {0};
	bool text = false, photo = false, video = false, doc = false, poll = false;
	bool views = false, meta = false, date = false, forwards = false, skip = false;
	int rc;

	rc = post_id(p, m, &po.id);
	if (rc != 0)
		return rc;
	for (xmlNode *n = next_in(m, m, false); n; n = next_in(n, m, skip)) {
		unsigned c;

		skip = false;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		c = classes(n);
		if (c & C_SERVICE) {
			p->services++;
			return 0;
		}
		if (c & (C_MESSAGE | C_HISTORY | C_WRAP))
			return changed(p, ".%s inside post %lld", class_name(c), (long long)po.id);
		if (c & (C_REPLY | C_LINK_PREVIEW)) {
			skip = true; /* a preview of another post or page, not this one */
			continue;
		}
		text |= (c & C_TEXT) != 0;
		photo |= (c & C_PHOTO) != 0;
		video |= (c & C_VIDEO) != 0;
		doc |= (c & C_DOCUMENT) != 0;
		poll |= (c & C_POLL) != 0;
		po.forwarded |= (c & C_FORWARDED) != 0;
		r.bar |= (c & C_REACTIONS) != 0;
		if ((c & C_VIEWS) && !views) {
			views = true;
			read_count(p, n, &po.views, &po.bad, TME_BAD_VIEWS, "views");
		}
		if ((c & C_FORWARDS) && !forwards) {
			forwards = true;
			read_count(p, n, &po.forwards, &po.bad, TME_BAD_FORWARDS, "forwards");
		}
		if ((c & C_META) && !meta) {
			meta = true;
			po.edited = own_text_has(n, "edited");
		}
		if ((c & C_DATE) && !date) {
			date = true;
			take_date(p, &po, n);
		}
		if (c & C_REACTION)
			add_reaction(p, &r, n, (c & C_PAID) != 0, &po);
	}
	if (!date)
		reject(p, &po.bad, TME_BAD_DATE, "post %lld: no .tgme_widget_message_date",
		       (long long)po.id);
	if (!r.bad && (r.bar || r.any)) {
		po.reactions = (struct tme_count){r.free, true, r.free_approx};
		po.paid = (struct tme_count){r.paid, true, r.paid_approx};
	}
	if (po.bad & TME_BAD_DATE)
		po.date_ms = 0;
	po.media = poll    ? TME_MEDIA_POLL
	           : video ? TME_MEDIA_VIDEO
	           : photo ? TME_MEDIA_PHOTO
	           : doc   ? TME_MEDIA_DOCUMENT
	           : text  ? TME_MEDIA_TEXT
	                   : TME_MEDIA_OTHER;
	add_post(p, &po);
	return 0;
}

/* The walk of section.tgme_channel_history. */
static int walk_history(struct parse *p, xmlNode *root)
{
	bool skip = false;
	int rc;

	for (xmlNode *n = next_in(root, root, false); n; n = next_in(n, root, skip)) {
		unsigned c;

		skip = false;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		c = classes(n);
		if (c & C_HISTORY)
			return changed(p, ".tgme_channel_history inside another");
		if (c & C_SERVICE) {
			p->services++;
			skip = true;
			continue;
		}
		if (c & C_MESSAGE) {
			rc = read_post(p, n);
			if (rc != 0)
				return rc;
			skip = true;
			continue;
		}
		if (c & C_WRAP)
			p->wraps++;
		if (c & C_MORE)
			take_more(p, n);
		if (c & POST_PARTS)
			return changed(p, ".%s outside a .tgme_widget_message",
			               class_name(c & POST_PARTS));
		if (attr(n, "data-post"))
			return changed(p, "data-post on a <%s> that is not a .tgme_widget_message",
			               (const char *)n->name);
	}
	if (p->wraps > p->page->nposts + p->services)
		return changed(p, "a .tgme_widget_message_wrap without .tgme_widget_message");
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const struct tme_post *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* The before id from the two pagination links. */
static void settle_before(struct parse *p)
{
	struct tme_page *page = p->page;

	if (p->more_state < 0 || p->prev_state < 0)
		reject(p, &page->bad, TME_BAD_BEFORE, "pagination: before id malformed");
	else if (p->more_state > 0 && p->prev_state > 0 && p->more_before != p->prev_before)
		reject(p, &page->bad, TME_BAD_BEFORE, "pagination: data-before %lld, link %lld",
		       (long long)p->more_before, (long long)p->prev_before);
	else if (p->more_state > 0)
		page->before = p->more_before;
	else if (p->prev_state > 0)
		page->before = p->prev_before;
}

int tme_page_parse(const char *html, size_t len, struct tme_page *page, struct err *e)
{
	struct parse p = {.page = page, .e = e};
	htmlParserCtxt *ctxt = NULL;
	xmlDoc *doc = NULL;
	int rc;

	memset(page, 0, sizeof(*page));
	buf_init(&p.text, TEXT_MAX);
	if (len > TME_PAGE_MAX) {
		rc = err_set(e, ERR_TOO_BIG, "page is %zu bytes; the limit is %u", len,
		             TME_PAGE_MAX);
		goto out;
	}
	pthread_once(&xml_once, xml_init);
	ctxt = htmlNewParserCtxt();
	if (!ctxt)
		abort(); /* out of memory */
	doc = htmlCtxtReadMemory(ctxt, html, (int)len, NULL, "UTF-8",
	                         HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
	if (!doc) {
		rc = err_set(e, ERR_INVALID, "markup changed: not an html page");
		goto out;
	}
	/* A fatal error (nesting deeper than libxml2's limit of 256) stops the
	 * parser and leaves a tree of the part before it: not the whole page. */
	if (ctxt->disableSAX) {
		const xmlError *x = xmlCtxtGetLastError(ctxt);
		const char *m = x && x->message ? x->message : "unknown error";

		rc = err_set(e, ERR_INVALID, "markup changed: html parsing stopped early (%.*s)",
		             (int)strcspn(m, "\n"), m);
		goto out;
	}
	rc = walk_page(&p, (xmlNode *)doc);
	if (rc != 0)
		goto out;
	if (!p.history) {
		if (p.saw_page)
			rc =
			    err_set(e, ERR_NOT_FOUND,
			            "channel has no public preview (private, unknown or disabled)");
		else
			rc = changed(&p, "no .tgme_channel_history");
		goto out;
	}
	rc = walk_history(&p, p.history);
	if (rc != 0)
		goto out;
	if (p.channel[0] && page->username[0] && !str_case_eq(str_c(p.channel), page->username)) {
		rc = changed(&p, "posts of %s on the page of @%s", p.channel, page->username);
		goto out;
	}
	if (!page->username[0] && !(page->bad & TME_BAD_USERNAME))
		memcpy(page->username, p.channel, sizeof(p.channel));
	if (page->nposts > 1) /* posts is NULL when there are none */
		qsort(page->posts, page->nposts, sizeof(*page->posts), by_id);
	for (size_t i = 1; i < page->nposts; i++) {
		if (page->posts[i].id == page->posts[i - 1].id) {
			rc = changed(&p, "post %lld twice", (long long)page->posts[i].id);
			goto out;
		}
	}
	settle_before(&p);
	rc = 0;
out:
	if (rc != 0)
		tme_page_release(page);
	xmlFreeDoc(doc);
	if (ctxt)
		htmlFreeParserCtxt(ctxt);
	buf_release(&p.text);
	return rc;
}

void tme_page_release(struct tme_page *page)
{
	free(page->title);
	free(page->posts);
	memset(page, 0, sizeof(*page));
}

/*
 * Counts. The integer part is read digit by digit; separators are allowed
 * only between groups of exactly three digits, all of one kind. The fraction
 * is kept as an integer with its number of digits, and the suffix's power of
 * ten is applied to both, so "2.05M" is 2 * 10^6 + 5 * 10^4 with no floating
 * point anywhere.
 */

/* The length of a group separator at s (n bytes left), or 0. Kinds: 1 ',',
 * 2 ' ', 3 U+00A0, 4 U+202F. */
static size_t separator(const char *s, size_t n, int *kind)
{
	if (n >= 1 && s[0] == ',') {
		*kind = 1;
		return 1;
	}
	if (n >= 1 && s[0] == ' ') {
		*kind = 2;
		return 1;
	}
	if (n >= 2 && (unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xa0) {
		*kind = 3;
		return 2;
	}
	if (n >= 3 && (unsigned char)s[0] == 0xe2 && (unsigned char)s[1] == 0x80 &&
	    (unsigned char)s[2] == 0xaf) {
		*kind = 4;
		return 3;
	}
	return 0;
}

int tme_count(struct str s, int64_t *out, bool *approx)
{
	static const int64_t pow10[] = {1,      10,      100,      1000,      10000,
	                                100000, 1000000, 10000000, 100000000, 1000000000};
	int64_t v = 0, frac = 0, mul = 1;
	size_t i = 0, group = 0, nfrac = 0, exp = 0;
	int kind = 0;
	bool grouped = false;

	s = str_trim(s);
	if (s.len == 0 || !is_digit(s.p[0]))
		return -ERR_INVALID;
	while (i < s.len) {
		int k = 0;
		size_t sep;

		if (is_digit(s.p[i])) {
			if (__builtin_mul_overflow(v, 10, &v) ||
			    __builtin_add_overflow(v, s.p[i] - '0', &v))
				return -ERR_INVALID;
			group++;
			i++;
			continue;
		}
		sep = separator(s.p + i, s.len - i, &k);
		if (sep == 0)
			break;
		/* The first group has 1-3 digits, every later one exactly 3. */
		if ((grouped ? group != 3 : group > 3) || (kind && k != kind))
			return -ERR_INVALID;
		kind = k;
		grouped = true;
		group = 0;
		i += sep;
	}
	if (grouped && group != 3)
		return -ERR_INVALID;
	if (i < s.len && s.p[i] == '.') {
		for (i++; i < s.len && is_digit(s.p[i]); i++) {
			if (++nfrac > 9)
				return -ERR_INVALID;
			frac = frac * 10 + (s.p[i] - '0');
		}
		if (nfrac == 0)
			return -ERR_INVALID;
	}
	if (i < s.len) {
		switch (s.p[i]) {
		case 'K':
			exp = 3;
			break;
		case 'M':
			exp = 6;
			break;
		case 'B':
			exp = 9;
			break;
		default:
			return -ERR_INVALID;
		}
		i++;
	}
	if (i != s.len || nfrac > exp)
		return -ERR_INVALID;
	mul = pow10[exp];
	if (__builtin_mul_overflow(v, mul, &v) ||
	    __builtin_add_overflow(v, frac * pow10[exp - nfrac], &v))
		return -ERR_INVALID;
	*out = v;
	*approx = exp > 0;
	return 0;
}

/* Read exactly n digits at s->p into *v, advancing s. */
static bool digits(struct str *s, size_t n, int *v)
{
	if (s->len < n)
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s->p[i]))
			return false;
		*v = *v * 10 + (s->p[i] - '0');
	}
	s->p += n;
	s->len -= n;
	return true;
}

static bool take_char(struct str *s, char c)
{
	if (s->len == 0 || s->p[0] != c)
		return false;
	s->p++;
	s->len--;
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int tme_datetime(struct str s, int64_t *ms)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, milli = 0, sign = 0;
	int64_t t;

	if (!digits(&s, 4, &y) || !take_char(&s, '-') || !digits(&s, 2, &mo) ||
	    !take_char(&s, '-') || !digits(&s, 2, &d) || !take_char(&s, 'T') ||
	    !digits(&s, 2, &h) || !take_char(&s, ':') || !digits(&s, 2, &mi) ||
	    !take_char(&s, ':') || !digits(&s, 2, &sec))
		return -ERR_INVALID;
	if (take_char(&s, '.')) {
		size_t n = 0;

		while (s.len && is_digit(s.p[0])) {
			if (n < 3)
				milli = milli * 10 + (s.p[0] - '0');
			n++;
			s.p++;
			s.len--;
		}
		if (n == 0 || n > 9)
			return -ERR_INVALID;
		for (; n < 3; n++)
			milli *= 10;
	}
	if (take_char(&s, 'Z')) {
		sign = 0;
	} else if (s.len && (s.p[0] == '+' || s.p[0] == '-')) {
		sign = s.p[0] == '-' ? -1 : 1;
		s.p++;
		s.len--;
		if (!digits(&s, 2, &oh))
			return -ERR_INVALID;
		(void)take_char(&s, ':');
		if (!digits(&s, 2, &om))
			return -ERR_INVALID;
	} else {
		return -ERR_INVALID;
	}
	if (s.len != 0 || y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap(y)) || h > 23 || mi > 59 || sec > 59 || oh > 23 ||
	    om > 59)
		return -ERR_INVALID;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	*ms = t * 1000 + milli;
	return 0;
}
