/* Fuzz the simulator's multipart/form-data parser: every part it returns
 * must lie inside the body. The first byte picks the part limit. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(struct str s, const char *b, size_t n)
{
	assert(s.len == 0 || (s.p >= b && s.p + s.len <= b + n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct multipart_part parts[16];
	struct str body = {(const char *)data, size}, boundary;
	size_t max = 16, n = 0;

	if (size > 0) {
		max = data[0] % 17;
		body.p++;
		body.len--;
	}
	if (multipart_boundary(str_c("multipart/form-data; boundary=XyZ"), &boundary))
		assert(0);
	if (multipart_parse(body, boundary, parts, max, &n, NULL) == 0) {
		assert(n <= max);
		for (size_t i = 0; i < n; i++) {
			inside(parts[i].name, body.p, body.len);
			inside(parts[i].filename, body.p, body.len);
			inside(parts[i].content_type, body.p, body.len);
			inside(parts[i].data, body.p, body.len);
		}
	}
	/* the boundary parser on arbitrary Content-Type values */
	(void)multipart_boundary(body, &boundary);
	return 0;
}
