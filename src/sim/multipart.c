/*
 * multipart: finds the delimiter lines ("--" boundary) with memmem, reads
 * each part's header block for Content-Disposition (name, filename) and
 * Content-Type, and hands out the bytes between as the part's data. The
 * CRLF before a delimiter belongs to the delimiter, not to the data.
 * Backslash escapes inside quoted parameter values are kept as they are.
 */
#include "sim/multipart.h"

#include <string.h>
#include <strings.h>

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

struct param {
	struct str name, value;
};

/*
 * Read "; name=value" parameters from s (what follows the media type or the
 * disposition type) into out, at most max; quoted values come unquoted.
 */
static size_t read_params(struct str s, struct param *out, size_t max)
{
	size_t i = 0, n = 0;

	while (i < s.len && n < max) {
		size_t ns, ne, vs, ve;

		while (i < s.len && (is_ws(s.p[i]) || s.p[i] == ';'))
			i++;
		ns = i;
		while (i < s.len && s.p[i] != '=' && s.p[i] != ';' && !is_ws(s.p[i]))
			i++;
		ne = i;
		while (i < s.len && is_ws(s.p[i]))
			i++;
		if (i >= s.len || s.p[i] != '=') {
			while (i < s.len && s.p[i] != ';')
				i++;
			continue;
		}
		i++;
		while (i < s.len && is_ws(s.p[i]))
			i++;
		if (i < s.len && s.p[i] == '"') {
			vs = ++i;
			while (i < s.len && s.p[i] != '"') {
				if (s.p[i] == '\\' && i + 1 < s.len)
					i++;
				i++;
			}
			ve = i;
			if (i < s.len)
				i++;
		} else {
			vs = i;
			while (i < s.len && s.p[i] != ';')
				i++;
			ve = i;
			while (ve > vs && is_ws(s.p[ve - 1]))
				ve--;
		}
		if (ne > ns) {
			out[n].name = (struct str){s.p + ns, ne - ns};
			out[n].value = (struct str){s.p + vs, ve - vs};
			n++;
		}
	}
	return n;
}

int multipart_boundary(struct str ct, struct str *boundary)
{
	struct str type, rest = ct;
	struct param ps[8];
	size_t n;

	str_split(&rest, ';', &type);
	if (!str_case_eq(str_trim(type), "multipart/form-data"))
		return -ERR_INVALID;
	n = read_params(rest, ps, 8);
	for (size_t i = 0; i < n; i++) {
		if (!str_case_eq(ps[i].name, "boundary"))
			continue;
		if (!ps[i].value.len || ps[i].value.len > MULTIPART_MAX_BOUNDARY)
			return -ERR_INVALID;
		*boundary = ps[i].value;
		return 0;
	}
	return -ERR_INVALID;
}

/* Split "Name: value" and trim; false when there is no colon. */
static bool header_line(struct str line, struct str *name, struct str *value)
{
	struct str rest = line;

	if (!str_split(&rest, ':', name))
		return false;
	*name = str_trim(*name);
	*value = str_trim(rest);
	return true;
}

static int read_headers(struct str block, struct multipart_part *p, struct err *e)
{
	struct str line, name, value;
	bool more = block.len > 0;

	while (more) {
		const char *crlf = memmem(block.p, block.len, "\r\n", 2);

		if (crlf) {
			line = (struct str){block.p, (size_t)(crlf - block.p)};
			block.len -= line.len + 2;
			block.p = crlf + 2;
		} else {
			line = block;
			more = false;
		}
		if (!header_line(line, &name, &value))
			continue;
		if (str_case_eq(name, "Content-Type")) {
			p->content_type = value;
		} else if (str_case_eq(name, "Content-Disposition")) {
			struct str type, rest = value;
			struct param ps[8];
			size_t n;

			str_split(&rest, ';', &type);
			if (!str_case_eq(str_trim(type), "form-data"))
				return err_set(e, ERR_INVALID, "multipart part is not form-data");
			n = read_params(rest, ps, 8);
			for (size_t i = 0; i < n; i++) {
				if (str_case_eq(ps[i].name, "name")) {
					p->name = ps[i].value;
				} else if (str_case_eq(ps[i].name, "filename")) {
					p->filename = ps[i].value;
					p->has_filename = true;
				}
			}
		}
	}
	if (!p->name.len)
		return err_set(e, ERR_INVALID, "multipart part without a name");
	return 0;
}

int multipart_parse(struct str body, struct str boundary, struct multipart_part *parts, size_t max,
                    size_t *n, struct err *e)
{
	char delim[MULTIPART_MAX_BOUNDARY + 4];
	size_t dlen, pos;
	const char *hit;

	*n = 0;
	if (!boundary.len || boundary.len > MULTIPART_MAX_BOUNDARY)
		return err_set(e, ERR_INVALID, "multipart boundary missing or too long");
	/* delim is "\r\n--boundary"; the first delimiter may lack the CRLF */
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary.p, boundary.len);
	dlen = boundary.len + 4;
	if (body.len >= dlen - 2 && memcmp(body.p, delim + 2, dlen - 2) == 0) {
		pos = 0;
	} else {
		hit = memmem(body.p, body.len, delim, dlen);
		if (!hit)
			return err_set(e, ERR_INVALID, "multipart body without a delimiter");
		pos = (size_t)(hit - body.p) + 2;
	}
	for (;;) {
		struct multipart_part p = {{"", 0}, {"", 0}, {"", 0}, {"", 0}, false};
		size_t hstart, hend, dstart, limit;
		int rc;

		pos += dlen - 2;
		if (body.len - pos >= 2 && memcmp(body.p + pos, "--", 2) == 0)
			return 0; /* the closing delimiter */
		while (pos < body.len && is_ws(body.p[pos]))
			pos++;
		if (body.len - pos < 2 || memcmp(body.p + pos, "\r\n", 2) != 0)
			return err_set(e, ERR_INVALID, "multipart delimiter not followed by CRLF");
		hstart = pos + 2;
		if (body.len - hstart >= 2 && memcmp(body.p + hstart, "\r\n", 2) == 0) {
			hend = hstart; /* no headers at all */
			dstart = hstart + 2;
		} else {
			limit = body.len - hstart;
			if (limit > MULTIPART_MAX_HEADERS + 4)
				limit = MULTIPART_MAX_HEADERS + 4;
			hit = memmem(body.p + hstart, limit, "\r\n\r\n", 4);
			if (!hit) {
				if (limit == MULTIPART_MAX_HEADERS + 4)
					return err_set(
					    e, ERR_TOO_BIG,
					    "multipart part headers longer than %d bytes",
					    MULTIPART_MAX_HEADERS);
				return err_set(e, ERR_INVALID, "multipart part headers do not end");
			}
			hend = (size_t)(hit - body.p);
			dstart = hend + 4;
		}
		rc = read_headers((struct str){body.p + hstart, hend - hstart}, &p, e);
		if (rc)
			return rc;
		hit = memmem(body.p + dstart, body.len - dstart, delim, dlen);
		if (!hit)
			return err_set(e, ERR_INVALID,
			               "multipart body without a closing delimiter");
		p.data = (struct str){body.p + dstart, (size_t)(hit - body.p) - dstart};
		if (*n == max)
			return err_set(e, ERR_TOO_BIG, "more than %zu multipart parts", max);
		parts[(*n)++] = p;
		pos = (size_t)(hit - body.p) + 2;
	}
}
