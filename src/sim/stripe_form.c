/*
 * stripe_form: Stripe's bracket notation read into a JSON tree.
 *
 * A key is split into its name and up to STRIPE_FORM_MAX_DEPTH bracketed
 * segments. While the tree is built an array is an object whose keys are
 * canonical decimal indices, so an index can be found (and a gap left)
 * without shifting anything; stripe_form_tree() turns those into arrays.
 * A pair is added in two passes: the first walks the existing nodes and
 * checks that every segment fits what is there (nothing is changed when it
 * does not), the second creates what is missing and sets the leaf.
 */
#include "sim/stripe_form.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/utf8.h"

struct seg {
	struct str s;
	bool index;  /* digits or empty: an array index */
	bool append; /* "[]" */
	char key[STRIPE_FORM_MAX_KEY + 1];
};

void stripe_form_init(struct stripe_form *f)
{
	f->root = json_object();
	f->npairs = 0;
}

void stripe_form_release(struct stripe_form *f)
{
	json_decref(f->root);
	f->root = NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode src into out (room for max bytes and a NUL); *n gets the length. */
static int decode(const char *src, size_t len, char *out, size_t max, size_t *n, const char *what,
                  struct err *e)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return err_set(e, ERR_INVALID, "%s: a %% escape is cut short",
				               what);
			hi = hexval(src[i + 1]);
			lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0)
				return err_set(e, ERR_INVALID,
				               "%s: %% is not followed by two hex digits", what);
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o == max)
			return err_set(e, ERR_TOO_BIG, "%s is longer than %zu bytes", what, max);
		out[o++] = c;
	}
	out[o] = '\0';
	*n = o;
	return 0;
}

static bool all_digits(struct str s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return true;
}

/* Split a decoded key into segments: segs[0] is the name. */
static int split_key(const char *key, size_t klen, struct seg *segs, size_t *nsegs, struct err *e)
{
	const char *open = memchr(key, '[', klen), *p, *end = key + klen;
	size_t n = 0;

	if (memchr(key, ']', open ? (size_t)(open - key) : klen) || open == key || klen == 0)
		return err_set(e, ERR_INVALID, "malformed parameter name \"%.*s\"", (int)klen, key);
	segs[n++].s = (struct str){key, open ? (size_t)(open - key) : klen};
	for (p = open; p && p < end;) {
		const char *close;

		if (*p != '[')
			return err_set(e, ERR_INVALID,
			               "malformed parameter name \"%.*s\": text after ']'",
			               (int)klen, key);
		close = memchr(p + 1, ']', (size_t)(end - p - 1));
		if (!close || memchr(p + 1, '[', (size_t)(close - p - 1)))
			return err_set(e, ERR_INVALID,
			               "malformed parameter name \"%.*s\": unbalanced brackets",
			               (int)klen, key);
		if (n == STRIPE_FORM_MAX_DEPTH + 1)
			return err_set(e, ERR_TOO_BIG,
			               "parameter \"%.*s\" is nested deeper than %d levels",
			               (int)klen, key, STRIPE_FORM_MAX_DEPTH);
		segs[n++].s = (struct str){p + 1, (size_t)(close - p - 1)};
		p = close + 1;
	}
	*nsegs = n;
	return 0;
}

static bool is_index_node(const json_t *node)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)node, k, v)
	{
		(void)v;
		return all_digits(str_c(k)) && k[0];
	}
	return false;
}

/* The largest index in an index node, -1 when it is empty. */
static long max_index(const json_t *node)
{
	const char *k;
	json_t *v;
	long m = -1;

	json_object_foreach((json_t *)node, k, v)
	{
		int64_t x;

		(void)v;
		if (!str_to_i64(str_c(k), 0, STRIPE_FORM_MAX_INDEX, &x) && x > m)
			m = (long)x;
	}
	return m;
}

/*
 * Give each segment after the name its kind and, for keys, its text. A
 * segment under "metadata" is always a key.
 */
static int classify(struct seg *segs, size_t n, const char *key, size_t klen, struct err *e)
{
	for (size_t i = 1; i < n; i++) {
		struct seg *g = &segs[i];
		bool meta = str_eqc(segs[i - 1].s, "metadata");

		g->append = g->s.len == 0;
		g->index = !meta && all_digits(g->s);
		if (g->append && meta)
			return err_set(e, ERR_INVALID, "parameter \"%.*s\": an empty metadata key",
			               (int)klen, key);
		if (g->index && !g->append) {
			size_t k = 0;
			int64_t x;

			while (k + 1 < g->s.len && g->s.p[k] == '0')
				k++;
			if (g->s.len - k > 6 || str_to_i64((struct str){g->s.p + k, g->s.len - k},
			                                   0, STRIPE_FORM_MAX_INDEX, &x))
				return err_set(e, ERR_TOO_BIG,
				               "parameter \"%.*s\": an index above %d", (int)klen,
				               key, STRIPE_FORM_MAX_INDEX);
			snprintf(g->key, sizeof(g->key), "%d", (int)x);
		} else if (!g->index) {
			memcpy(g->key, g->s.p, g->s.len);
			g->key[g->s.len] = '\0';
		}
	}
	memcpy(segs[0].key, segs[0].s.p, segs[0].s.len);
	segs[0].key[segs[0].s.len] = '\0';
	segs[0].index = false;
	segs[0].append = false;
	return 0;
}

/*
 * The key an "[]" segment resolves to in node (an index node, or NULL when
 * it does not exist yet), given the segment after it (NULL at the end).
 */
static void resolve_append(const json_t *node, const struct seg *next, char *out, size_t outsz)
{
	long m = node ? max_index(node) : -1;

	if (m >= 0 && next && !next->append && !next->index) {
		char k[24];
		json_t *last;

		snprintf(k, sizeof(k), "%ld", m);
		last = json_object_get(node, k);
		if (json_is_object(last) && !json_object_get(last, next->key)) {
			snprintf(out, outsz, "%ld", m);
			return;
		}
	}
	snprintf(out, outsz, "%ld", m + 1);
}

int stripe_form_add(struct stripe_form *f, const char *key, size_t klen, const char *val,
                    size_t vlen, struct err *e)
{
	struct seg segs[STRIPE_FORM_MAX_DEPTH + 1];
	char resolved[STRIPE_FORM_MAX_DEPTH + 1][24];
	json_t *node;
	size_t n = 0;
	int rc;

	if (f->npairs == STRIPE_FORM_MAX_PAIRS)
		return err_set(e, ERR_TOO_BIG, "more than %d parameters", STRIPE_FORM_MAX_PAIRS);
	if (klen > STRIPE_FORM_MAX_KEY)
		return err_set(e, ERR_TOO_BIG, "a parameter name is longer than %d bytes",
		               STRIPE_FORM_MAX_KEY);
	if (vlen > STRIPE_FORM_MAX_VALUE)
		return err_set(e, ERR_TOO_BIG,
		               "parameter \"%.*s\": the value is longer than %d bytes", (int)klen,
		               key, STRIPE_FORM_MAX_VALUE);
	if (utf8_check(key, klen, false) != klen)
		return err_set(e, ERR_INVALID, "a parameter name is not UTF-8");
	if (utf8_check(val, vlen, false) != vlen)
		return err_set(e, ERR_INVALID, "parameter \"%.*s\": the value is not UTF-8",
		               (int)klen, key);
	rc = split_key(key, klen, segs, &n, e);
	if (!rc)
		rc = classify(segs, n, key, klen, e);
	if (rc)
		return rc;

	/* Pass 1: check the path against what exists. */
	node = f->root;
	for (size_t i = 0; i < n; i++) {
		bool last = i + 1 == n;
		const char *k = segs[i].key;
		json_t *child;

		if (i > 0 && node && json_object_size(node)) {
			bool want_index = segs[i].index;

			if (want_index != is_index_node(node) &&
			    !(str_eqc(segs[i - 1].s, "metadata")))
				return err_set(e, ERR_INVALID,
				               "parameter \"%.*s\": mixes array indices and keys",
				               (int)klen, key);
		}
		if (segs[i].append) {
			resolve_append(node, last ? NULL : &segs[i + 1], resolved[i],
			               sizeof(resolved[i]));
			k = resolved[i];
			if (str_to_i64(str_c(k), 0, STRIPE_FORM_MAX_INDEX, &(int64_t){0}))
				return err_set(e, ERR_TOO_BIG,
				               "parameter \"%.*s\": more than %d elements",
				               (int)klen, key, STRIPE_FORM_MAX_INDEX + 1);
		} else if (segs[i].index) {
			snprintf(resolved[i], sizeof(resolved[i]), "%.20s", k);
		}
		child = node ? json_object_get(node, k) : NULL;
		if (child && last && !json_is_string(child))
			return err_set(e, ERR_INVALID,
			               "parameter \"%.*s\": already given as a hash or an array",
			               (int)klen, key);
		if (child && !last && !json_is_object(child))
			return err_set(e, ERR_INVALID,
			               "parameter \"%.*s\": \"%s\" was already given as a string",
			               (int)klen, key, segs[0].key);
		node = child;
	}

	/* Pass 2: create what is missing and set the leaf. */
	node = f->root;
	for (size_t i = 0; i < n; i++) {
		const char *k = segs[i].index ? resolved[i] : segs[i].key;
		json_t *child;

		if (i + 1 == n) {
			json_object_set_new(node, k, json_stringn(val, vlen));
			break;
		}
		child = json_object_get(node, k);
		if (!child) {
			child = json_object();
			json_object_set_new(node, k, child);
		}
		node = child;
	}
	f->npairs++;
	return 0;
}

int stripe_form_parse(struct stripe_form *f, const char *data, size_t len, struct err *e)
{
	char *kbuf = NULL, *vbuf = NULL;
	size_t pos = 0;
	int rc = 0;

	if (len > STRIPE_FORM_MAX_BODY)
		return err_set(e, ERR_TOO_BIG, "the body is longer than %d bytes",
		               STRIPE_FORM_MAX_BODY);
	kbuf = xmalloc(STRIPE_FORM_MAX_KEY + 1);
	vbuf = xmalloc(STRIPE_FORM_MAX_VALUE + 1);
	while (pos < len) {
		const char *amp = memchr(data + pos, '&', len - pos);
		size_t end = amp ? (size_t)(amp - data) : len, plen = end - pos, klen, vlen = 0;
		const char *eq = memchr(data + pos, '=', plen);
		size_t kraw = eq ? (size_t)(eq - (data + pos)) : plen;

		if (plen) {
			rc = decode(data + pos, kraw, kbuf, STRIPE_FORM_MAX_KEY, &klen,
			            "a parameter name", e);
			if (!rc && eq)
				rc = decode(eq + 1, plen - kraw - 1, vbuf, STRIPE_FORM_MAX_VALUE,
				            &vlen, "a parameter value", e);
			if (!rc)
				rc = stripe_form_add(f, kbuf, klen, vbuf, vlen, e);
			if (rc)
				break;
		}
		pos = end + 1;
	}
	free(kbuf);
	free(vbuf);
	return rc;
}

static int cmp_index(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static json_t *finish(const json_t *node, bool meta)
{
	const char *k;
	json_t *v, *out;

	if (!json_is_object(node))
		return json_incref((json_t *)node);
	if (!meta && is_index_node(node)) {
		size_t n = json_object_size(node), i = 0;
		long *idx = xcalloc(n, sizeof(*idx));

		json_object_foreach((json_t *)node, k, v)
		{
			int64_t x = 0;

			(void)v;
			if (str_to_i64(str_c(k), 0, STRIPE_FORM_MAX_INDEX, &x) == 0)
				idx[i++] = (long)x;
		}
		qsort(idx, i, sizeof(*idx), cmp_index);
		out = json_array();
		for (size_t j = 0; j < i; j++) {
			char key[24];

			snprintf(key, sizeof(key), "%ld", idx[j]);
			json_array_append_new(out, finish(json_object_get(node, key), false));
		}
		free(idx);
		return out;
	}
	out = json_object();
	json_object_foreach((json_t *)node, k, v)
	    json_object_set_new(out, k, finish(v, strcmp(k, "metadata") == 0));
	return out;
}

json_t *stripe_form_tree(const struct stripe_form *f)
{
	json_t *out = json_object(), *v;
	const char *k;

	/* top-level names are never indices, even when they are digits */
	json_object_foreach(f->root, k, v)
	    json_object_set_new(out, k, finish(v, strcmp(k, "metadata") == 0));
	return out;
}
