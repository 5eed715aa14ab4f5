/* Fuzz the Stripe simulator's form parser: any bytes either parse or fail
 * with a message, and a tree that parsed serialises (every leaf is valid
 * UTF-8, every array came from indices). The first byte splits the input
 * into a query-like pair added decoded and a body parsed encoded. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sim/stripe_form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stripe_form f;
	struct err e = {0};
	size_t cut = 0;
	json_t *t;
	char *s;

	if (size > 0) {
		cut = data[0] % 32;
		data++;
		size--;
	}
	if (cut > size)
		cut = size;
	stripe_form_init(&f);
	if (stripe_form_add(&f, (const char *)data, cut / 2, (const char *)data + cut / 2,
	                    cut - cut / 2, &e))
		assert(e.msg[0]);
	if (stripe_form_parse(&f, (const char *)data + cut, size - cut, &e))
		assert(e.msg[0]);
	t = stripe_form_tree(&f);
	assert(json_is_object(t));
	s = json_dumps(t, JSON_COMPACT);
	assert(s);
	free(s);
	json_decref(t);
	stripe_form_release(&f);
	return 0;
}
