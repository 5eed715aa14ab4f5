/*
 * router: a linear scan over the table, comparing segment by segment. The
 * table is small (tens of routes), so a scan is as fast as a tree here and
 * keeps the table a plain array that the OpenAPI check can walk.
 */
#include "http/router.h"

#include <string.h>

static bool match_path(const char *pattern, struct str path, struct router_match *m)
{
	struct str pat = str_c(pattern), ps, ss;

	m->nparams = 0;
	if (!path.len || path.p[0] != '/' || pat.p[0] != '/')
		return false;
	pat.p++, pat.len--;
	path.p++, path.len--;
	for (;;) {
		struct str left = path; /* what is left of the path, for a {name...} */
		bool more_pat = str_split(&pat, '/', &ps);
		bool more_path = str_split(&path, '/', &ss);

		if (!more_pat && ps.len >= 6 && ps.p[0] == '{' &&
		    memcmp(ps.p + ps.len - 4, "...}", 4) == 0) {
			if (!left.len || m->nparams == ROUTER_MAX_PARAMS)
				return false;
			m->params[m->nparams].name = (struct str){ps.p + 1, ps.len - 5};
			m->params[m->nparams].value = left;
			m->nparams++;
			return true;
		}
		if (ps.len >= 2 && ps.p[0] == '{' && ps.p[ps.len - 1] == '}') {
			if (!ss.len || m->nparams == ROUTER_MAX_PARAMS)
				return false;
			m->params[m->nparams].name = (struct str){ps.p + 1, ps.len - 2};
			m->params[m->nparams].value = ss;
			m->nparams++;
		} else if (!str_eq(ps, ss)) {
			return false;
		}
		if (more_pat != more_path)
			return false;
		if (!more_pat)
			return true;
	}
}

static void allow_add(char *allow, size_t sz, const char *method)
{
	size_t len = strlen(allow), ml = strlen(method);

	if (strstr(allow, method))
		return;
	if (len + ml + 3 > sz)
		return;
	if (len) {
		memcpy(allow + len, ", ", 2);
		len += 2;
	}
	memcpy(allow + len, method, ml + 1);
}

int router_match(const struct route *routes, size_t n, const char *method, struct str path,
                 struct router_match *m)
{
	bool path_known = false;
	struct router_match tmp;

	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	m->route = NULL;
	m->allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!match_path(routes[i].pattern, path, &tmp))
			continue;
		path_known = true;
		allow_add(m->allow, sizeof(m->allow), routes[i].method);
		if (strcmp(routes[i].method, method) != 0)
			continue;
		tmp.route = &routes[i];
		tmp.index = i;
		memcpy(tmp.allow, m->allow, sizeof(tmp.allow));
		*m = tmp;
		return 0;
	}
	return path_known ? -ERR_CONFLICT : -ERR_NOT_FOUND;
}

struct str router_param(const struct router_match *m, const char *name)
{
	for (size_t i = 0; i < m->nparams; i++)
		if (str_eqc(m->params[i].name, name))
			return m->params[i].value;
	return (struct str){"", 0};
}
