/*
 * i18n: gettext catalogs read by our own code rather than by glibc's
 * gettext(), so that every lookup names its language and no system locale
 * is needed (docs/i18n.md).
 *
 * A catalog is a GNU .mo file compiled by msgfmt and embedded in the binary
 * (embed_catalogs[]). The parser is a pure function over bytes: it checks
 * the magic (either byte order), the revision, both string tables and every
 * string's offset, length and terminating NUL against the buffer, and that
 * the original strings are sorted, before anything is read through them; it
 * copies nothing and keeps pointers into the buffer. Lookups binary-search
 * the sorted originals. The header entry's Plural-Forms expression is
 * compiled once per catalog into a small array of nodes (children before
 * parents, so evaluation recursion is bounded by the node count) and
 * evaluated in unsigned long arithmetic, where division by zero gives 0.
 * The catalogs are loaded once (pthread_once) and only read afterwards, so
 * lookups from any thread take no lock.
 */
#include "lib/i18n.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/embed.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"

#define MO_MAGIC         0x950412deu
#define MO_HEADER_SIZE   28
#define MAX_NPLURALS     16
#define PLURAL_MAX_NODES 128 /* node indices are unsigned char */
#define PLURAL_MAX_DEPTH 32  /* nested parentheses, ?: and ! */

const char *const i18n_languages[] = {"en", "ru", "uz", NULL};
#define NLANG (ARRAY_SIZE(i18n_languages) - 1)

enum pop {
	P_N,
	P_NUM,
	P_NOT,
	P_MUL,
	P_DIV,
	P_MOD,
	P_ADD,
	P_SUB,
	P_LT,
	P_GT,
	P_LE,
	P_GE,
	P_EQ,
	P_NE,
	P_AND,
	P_OR,
	P_COND,
};

struct pnode {
	unsigned char op, a, b, c; /* operands: indices of earlier nodes */
	unsigned long v;           /* P_NUM */
};

struct plural {
	struct pnode node[PLURAL_MAX_NODES];
	unsigned count; /* the root is the last node */
};

struct catalog {
	const unsigned char *p;
	size_t len;
	bool swap;
	uint32_t n, orig, trans; /* string count, offsets of the two tables */
	unsigned nplurals;
	struct plural plural;
};

/* ---- plural expressions ---- */

struct pparse {
	const char *p, *end;
	struct plural *pl;
	unsigned depth;
};

static void skip_ws(struct pparse *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool accept(struct pparse *ps, const char *tok)
{
	size_t n = strlen(tok);

	skip_ws(ps);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, tok, n) != 0)
		return false;
	ps->p += n;
	return true;
}

/* Append a node; its index, or -ERR_INVALID when the array is full. */
static int add_node(struct pparse *ps, enum pop op, int a, int b, int c, unsigned long v)
{
	struct plural *pl = ps->pl;

	if (pl->count == PLURAL_MAX_NODES)
		return -ERR_INVALID;
	pl->node[pl->count] = (struct pnode){(unsigned char)op, (unsigned char)a, (unsigned char)b,
	                                     (unsigned char)c, v};
	return (int)pl->count++;
}

static int parse_cond(struct pparse *ps);

static int parse_primary(struct pparse *ps)
{
	unsigned long v = 0;
	int r;

	skip_ws(ps);
	if (ps->p == ps->end)
		return -ERR_INVALID;
	if (*ps->p == 'n') {
		ps->p++;
		return add_node(ps, P_N, 0, 0, 0, 0);
	}
	if (*ps->p >= '0' && *ps->p <= '9') {
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
			unsigned d = (unsigned)(*ps->p++ - '0');

			if (v > (ULONG_MAX - d) / 10)
				return -ERR_INVALID;
			v = v * 10 + d;
		}
		return add_node(ps, P_NUM, 0, 0, 0, v);
	}
	if (*ps->p == '(') {
		ps->p++;
		r = parse_cond(ps);
		if (r >= 0 && !accept(ps, ")"))
			r = -ERR_INVALID;
		return r;
	}
	return -ERR_INVALID;
}

static int parse_unary(struct pparse *ps)
{
	int r;

	if (!accept(ps, "!"))
		return parse_primary(ps);
	if (++ps->depth > PLURAL_MAX_DEPTH)
		return -ERR_INVALID;
	r = parse_unary(ps);
	ps->depth--;
	return r < 0 ? r : add_node(ps, P_NOT, r, 0, 0, 0);
}

struct binop {
	const char *tok; /* longer tokens before their prefixes: "<=" before "<" */
	enum pop op;
};

/* The binary operators by C precedence, loosest first; all left-associative. */
static const struct binop levels[][5] = {
    {{"||", P_OR}},
    {{"&&", P_AND}},
    {{"==", P_EQ}, {"!=", P_NE}},
    {{"<=", P_LE}, {">=", P_GE}, {"<", P_LT}, {">", P_GT}},
    {{"+", P_ADD}, {"-", P_SUB}},
    {{"*", P_MUL}, {"/", P_DIV}, {"%", P_MOD}},
};

static int parse_binary(struct pparse *ps, size_t level)
{
	int l, r;

	if (level == ARRAY_SIZE(levels))
		return parse_unary(ps);
	l = parse_binary(ps, level + 1);
	while (l >= 0) {
		const struct binop *op = NULL;

		for (const struct binop *b = levels[level]; b < levels[level] + 5 && b->tok; b++) {
			if (accept(ps, b->tok)) {
				op = b;
				break;
			}
		}
		if (!op)
			break;
		r = parse_binary(ps, level + 1);
		l = r < 0 ? r : add_node(ps, op->op, l, r, 0, 0);
	}
	return l;
}

/* cond: binary ['?' cond ':' cond], right-associative as in C. */
static int parse_cond(struct pparse *ps)
{
	int c, a, b;

	if (++ps->depth > PLURAL_MAX_DEPTH)
		return -ERR_INVALID;
	c = parse_binary(ps, 0);
	if (c >= 0 && accept(ps, "?")) {
		a = parse_cond(ps);
		if (a >= 0 && !accept(ps, ":"))
			a = -ERR_INVALID;
		b = a < 0 ? a : parse_cond(ps);
		c = b < 0 ? b : add_node(ps, P_COND, c, a, b, 0);
	}
	ps->depth--;
	return c;
}

/* Compile s[0..len) (the whole of it) into *pl: 0 or -ERR_INVALID. */
static int plural_compile(const char *s, size_t len, struct plural *pl)
{
	struct pparse ps = {s, s + len, pl, 0};
	int r;

	pl->count = 0;
	r = parse_cond(&ps);
	skip_ws(&ps);
	if (r < 0 || ps.p != ps.end)
		return -ERR_INVALID;
	/* The root is the last node added. */
	return (unsigned)r + 1 == pl->count ? 0 : -ERR_INVALID;
}

static unsigned long plural_node(const struct plural *pl, unsigned i, unsigned long n)
{
	const struct pnode *x = &pl->node[i];
	unsigned long a, b;

	switch (x->op) {
	case P_N:
		return n;
	case P_NUM:
		return x->v;
	case P_NOT:
		return !plural_node(pl, x->a, n);
	case P_AND:
		return plural_node(pl, x->a, n) && plural_node(pl, x->b, n);
	case P_OR:
		return plural_node(pl, x->a, n) || plural_node(pl, x->b, n);
	case P_COND:
		return plural_node(pl, x->a, n) ? plural_node(pl, x->b, n)
		                                : plural_node(pl, x->c, n);
	default:
		break;
	}
	a = plural_node(pl, x->a, n);
	b = plural_node(pl, x->b, n);
	switch (x->op) {
	case P_MUL:
		return a * b;
	case P_DIV:
		return b ? a / b : 0;
	case P_MOD:
		return b ? a % b : 0;
	case P_ADD:
		return a + b;
	case P_SUB:
		return a - b;
	case P_LT:
		return a < b;
	case P_GT:
		return a > b;
	case P_LE:
		return a <= b;
	case P_GE:
		return a >= b;
	case P_EQ:
		return a == b;
	case P_NE:
		return a != b;
	default:
		abort(); /* only plural_compile builds nodes */
	}
}

static unsigned long plural_eval(const struct plural *pl, unsigned long n)
{
	return plural_node(pl, pl->count - 1, n);
}

/* ---- .mo catalogs ---- */

static uint32_t get32(const struct catalog *c, uint64_t off)
{
	uint32_t v;

	memcpy(&v, c->p + off, sizeof(v));
	return c->swap ? __builtin_bswap32(v) : v;
}

/* String i of the table at tab: 0 and *out (NUL terminated at out->len) when
 * it lies within the buffer, -ERR_INVALID otherwise. The table itself has
 * been checked. */
static int entry(const struct catalog *c, uint32_t tab, uint32_t i, struct str *out)
{
	uint64_t at = (uint64_t)tab + (uint64_t)i * 8;
	uint32_t len = get32(c, at), off = get32(c, at + 4);

	if ((uint64_t)off + len >= c->len || c->p[(uint64_t)off + len] != '\0')
		return -ERR_INVALID;
	*out = (struct str){(const char *)c->p + off, len};
	return 0;
}

/* After a field name, skip blanks and expect key '=': true when found. */
static bool expect_key(struct str *s, const char *key)
{
	size_t n = strlen(key);

	*s = str_trim(*s);
	if (!str_starts(*s, key))
		return false;
	s->p += n;
	s->len -= n;
	*s = str_trim(*s);
	if (s->len == 0 || s->p[0] != '=')
		return false;
	s->p++;
	s->len--;
	return true;
}

/* "nplurals=N; plural=EXPR;" (the final ';' optional). */
static int parse_plural_forms(struct str v, struct catalog *c)
{
	struct str num, expr;
	int64_t np;

	if (!expect_key(&v, "nplurals") || !str_split(&v, ';', &num))
		return -ERR_INVALID;
	if (str_to_i64(str_trim(num), 1, MAX_NPLURALS, &np) != 0)
		return -ERR_INVALID;
	if (!expect_key(&v, "plural"))
		return -ERR_INVALID;
	str_split(&v, ';', &expr);
	if (str_trim(v).len != 0)
		return -ERR_INVALID;
	c->nplurals = (unsigned)np;
	return plural_compile(expr.p, expr.len, &c->plural);
}

/* "text/plain; charset=UTF-8": anything but UTF-8 would reach Telegram as
 * invalid text. */
static int check_content_type(struct str v)
{
	struct str part;

	while (v.len) {
		str_split(&v, ';', &part);
		part = str_trim(part);
		if (str_starts(part, "charset=")) {
			part.p += 8;
			part.len -= 8;
			return str_case_eq(str_trim(part), "UTF-8") ? 0 : -ERR_INVALID;
		}
	}
	return 0;
}

/* The header entry: "Field: value" lines. Without Plural-Forms the English
 * rule applies, as in GNU gettext. */
static int parse_header(struct str h, struct catalog *c)
{
	struct str line;
	bool plural = false;

	while (h.len) {
		str_split(&h, '\n', &line);
		if (str_starts(line, "Plural-Forms:")) {
			if (plural ||
			    parse_plural_forms((struct str){line.p + 13, line.len - 13}, c))
				return -ERR_INVALID;
			plural = true;
		} else if (str_starts(line, "Content-Type:")) {
			if (check_content_type((struct str){line.p + 13, line.len - 13}))
				return -ERR_INVALID;
		}
	}
	return 0;
}

/* Parse and check the catalog mo[0..len) into *c, which then points into
 * mo: 0 or -ERR_INVALID. */
static int catalog_parse(const void *mo, size_t len, struct catalog *c)
{
	struct str o, prev = {NULL, 0}, t;
	uint32_t magic;
	static const char english[] = "n != 1";

	memset(c, 0, sizeof(*c));
	c->p = mo;
	c->len = len;
	c->nplurals = 2;
	if (plural_compile(english, sizeof(english) - 1, &c->plural))
		abort();
	if (len < MO_HEADER_SIZE)
		return -ERR_INVALID;
	memcpy(&magic, mo, sizeof(magic));
	if (magic == MO_MAGIC)
		c->swap = false;
	else if (magic == __builtin_bswap32(MO_MAGIC))
		c->swap = true;
	else
		return -ERR_INVALID;
	if (get32(c, 4) != 0) /* revision 0.0: no system-dependent strings */
		return -ERR_INVALID;
	c->n = get32(c, 8);
	c->orig = get32(c, 12);
	c->trans = get32(c, 16);
	if ((uint64_t)c->orig + (uint64_t)c->n * 8 > len ||
	    (uint64_t)c->trans + (uint64_t)c->n * 8 > len)
		return -ERR_INVALID;
	for (uint32_t i = 0; i < c->n; i++) {
		if (entry(c, c->orig, i, &o) || entry(c, c->trans, i, &t))
			return -ERR_INVALID;
		/* Sorted and unique by msgid (up to the NUL before any plural),
		 * which the binary search relies on. */
		if (prev.p && strcmp(prev.p, o.p) >= 0)
			return -ERR_INVALID;
		prev = o;
		if (i == 0 && o.p[0] == '\0' && parse_header(t, c))
			return -ERR_INVALID;
	}
	return 0;
}

/* The translation of msgid in c: 0 and *t, or -ERR_NOT_FOUND. */
static int find(const struct catalog *c, const char *msgid, struct str *t)
{
	uint32_t lo = 0, hi = c->n;
	struct str o;

	if (msgid[0] == '\0') /* the header, not a message */
		return -ERR_NOT_FOUND;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int r;

		if (entry(c, c->orig, mid, &o))
			return -ERR_NOT_FOUND;
		r = strcmp(msgid, o.p);
		if (r == 0)
			return entry(c, c->trans, mid, t) || t->len == 0 ? -ERR_NOT_FOUND : 0;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ERR_NOT_FOUND;
}

static unsigned catalog_index(const struct catalog *c, unsigned long n)
{
	unsigned long i = plural_eval(&c->plural, n);

	return i < c->nplurals ? (unsigned)i : c->nplurals - 1;
}

static const char *catalog_get(const struct catalog *c, const char *msgid)
{
	struct str t;

	return find(c, msgid, &t) ? msgid : t.p;
}

/* Plural form k of the translation t ("one\0few\0many"), NULL when it has
 * no such form or the form is empty. */
static const char *form(struct str t, unsigned k)
{
	const char *p = t.p, *end = t.p + t.len, *nul;

	for (; k > 0; k--) {
		nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul)
			return NULL;
		p = nul + 1;
	}
	return p < end && *p ? p : NULL;
}

static const char *catalog_nget(const struct catalog *c, const char *msgid, const char *plural,
                                unsigned long n)
{
	const char *english = n == 1 ? msgid : plural, *s;
	struct str t;

	if (find(c, msgid, &t))
		return english;
	s = form(t, catalog_index(c, n));
	return s ? s : english;
}

/* ---- the embedded catalogs ---- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
/* Written once under `once`, read-only afterwards. */
static struct catalog catalogs[NLANG];
static bool loaded[NLANG];

static int lang_index(const char *lang, size_t len)
{
	for (size_t i = 0; i < NLANG; i++) {
		if (strlen(i18n_languages[i]) == len && memcmp(i18n_languages[i], lang, len) == 0)
			return (int)i;
	}
	return -1;
}

static void load(void)
{
	for (const struct embed_file *f = embed_catalogs; f->name; f++) {
		size_t n = strlen(f->name);
		int i =
		    n > 3 && strcmp(f->name + n - 3, ".mo") == 0 ? lang_index(f->name, n - 3) : -1;

		if (i < 0) {
			log_error("msg=\"catalog for a language not in i18n_languages\" name=%s",
			          f->name);
			abort();
		}
		if (catalog_parse(f->data, f->len, &catalogs[i])) {
			log_error("msg=\"malformed catalog\" name=%s", f->name);
			abort();
		}
		loaded[i] = true;
	}
}

void i18n_init(void)
{
	pthread_once(&once, load);
}

static const struct catalog *catalog_of(const char *lang)
{
	int i;

	i18n_init();
	i = lang ? lang_index(lang, strlen(lang)) : -1;
	return i >= 0 && loaded[i] ? &catalogs[i] : NULL;
}

const char *i18n_match(const char *code)
{
	size_t n;

	if (!code)
		return I18N_DEFAULT;
	n = strcspn(code, "-_");
	for (size_t i = 0; i < NLANG; i++) {
		if (str_case_eq((struct str){code, n}, i18n_languages[i]))
			return i18n_languages[i];
	}
	return I18N_DEFAULT;
}

bool i18n_supported(const char *lang)
{
	return lang && lang_index(lang, strlen(lang)) >= 0;
}

const char *i18n_get(const char *lang, const char *msgid)
{
	const struct catalog *c = catalog_of(lang);

	return c ? catalog_get(c, msgid) : msgid;
}

const char *i18n_nget(const char *lang, const char *msgid, const char *plural, unsigned long n)
{
	const struct catalog *c = catalog_of(lang);

	if (!c)
		return n == 1 ? msgid : plural;
	return catalog_nget(c, msgid, plural, n);
}

unsigned i18n_plural_index(const char *lang, unsigned long n)
{
	const struct catalog *c = catalog_of(lang);

	if (!c)
		return n == 1 ? 0 : 1;
	return catalog_index(c, n);
}

/* ---- for tests and fuzzing ---- */

int i18n_catalog_check(const void *mo, size_t len)
{
	struct catalog c;

	return catalog_parse(mo, len, &c);
}

const char *i18n_catalog_nget(const void *mo, size_t len, const char *msgid, const char *plural,
                              unsigned long n)
{
	struct catalog c;

	if (catalog_parse(mo, len, &c))
		return NULL;
	return plural ? catalog_nget(&c, msgid, plural, n) : catalog_get(&c, msgid);
}

int i18n_plural_eval(const char *expr, size_t len, unsigned long n, unsigned long *out)
{
	struct plural pl;

	if (plural_compile(expr, len, &pl))
		return -ERR_INVALID;
	*out = plural_eval(&pl, n);
	return 0;
}
