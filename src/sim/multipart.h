/*
 * multipart: a parser of multipart/form-data bodies (RFC 7578) over bytes.
 * Pure: no I/O and no allocation; the parts are slices of the body, so they
 * live as long as the body does.
 */
#ifndef HERALD_SIM_MULTIPART_H
#define HERALD_SIM_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"
#include "lib/str.h"

#define MULTIPART_MAX_BOUNDARY 70   /* RFC 2046 */
#define MULTIPART_MAX_HEADERS  4096 /* bytes of header block per part */

struct multipart_part {
	struct str name;         /* the form field's name */
	struct str filename;     /* meaningful only when has_filename */
	struct str content_type; /* empty when the part has none */
	struct str data;
	bool has_filename; /* a file upload rather than a plain field */
};

/*
 * The boundary parameter of a Content-Type value such as
 * "multipart/form-data; boundary=X" (quoted or not). -ERR_INVALID when the
 * type is not multipart/form-data or the boundary is missing or too long.
 */
int multipart_boundary(struct str content_type, struct str *boundary) WUR;

/*
 * Split body into at most max parts. 0 with *n set on success;
 * -ERR_INVALID for a malformed body (no opening delimiter, a part without a
 * header block end or a Content-Disposition name, no closing delimiter),
 * -ERR_TOO_BIG for more than max parts or a header block longer than
 * MULTIPART_MAX_HEADERS. Text preceding the first delimiter is ignored.
 */
int multipart_parse(struct str body, struct str boundary, struct multipart_part *parts, size_t max,
                    size_t *n, struct err *e) WUR;

#endif
