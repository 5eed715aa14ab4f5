/*
 * Fuzz what the Payme and Click drivers parse from outside: checkout links
 * (base64 of key=value pairs), so'm amounts and form bodies. A link that
 * parses must have its fields within their bounds; an amount that parses
 * must print back to a string that parses to the same tiyin.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sim/drivers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str in = {(const char *)data, size};
	struct sim_payme_link k;
	char out[64], som[40];
	int64_t t = 0, t2 = 0;
	size_t n;

	sim_payme_link_parse(in, &k);
	if (!k.code) {
		assert(k.m[0] && k.amount > 0 && json_object_size(k.account) > 0);
		assert(strlen(k.ret) <= DRV_URL_MAX);
	}
	sim_payme_link_release(&k);
	if (!drv_b64_decode(in, out, sizeof(out), &n))
		assert(n < sizeof(out) && out[n] == '\0');
	if (!drv_som_parse(in, &t)) {
		drv_som(t, som, sizeof(som));
		assert(!drv_som_parse(str_c(som), &t2) && t2 == t);
	}
	drv_form_get(in, "do", out, sizeof(out));
	return 0;
}
