/*
 * Fuzz the form parser behind Click's requests: any bytes either give an
 * object of at most FORM_FIELDS_MAX strings, every one of them re-encoded
 * and parsed again to the same object, or a refusal with a message.
 */
#include <assert.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/form.h"
#include "lib/hc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = {0};
	json_t *o = NULL, *again = NULL;
	const char *k;
	json_t *v;
	struct buf b;

	if (form_parse((const char *)data, size, &o, &e)) {
		assert(e.msg[0]);
		return 0;
	}
	assert(json_object_size(o) <= FORM_FIELDS_MAX);
	buf_init(&b, 4 * size + 16);
	json_object_foreach(o, k, v)
	{
		const char *s = json_string_value(v);

		assert(s);
		if (b.len)
			assert(buf_addch(&b, '&') == 0);
		assert(hc_urlencode(&b, k, strlen(k)) == 0);
		assert(buf_addch(&b, '=') == 0);
		assert(hc_urlencode(&b, s, strlen(s)) == 0);
	}
	assert(form_parse(b.p ? b.p : "", b.len, &again, &e) == 0);
	assert(json_equal(o, again));
	buf_release(&b);
	json_decref(o);
	json_decref(again);
	return 0;
}
