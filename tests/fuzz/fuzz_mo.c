/*
 * Fuzz the .mo catalog parser and the Plural-Forms evaluator. The first
 * byte picks the target: even, the rest is a catalog, checked and then
 * looked up in when accepted; odd, the rest is a plural expression,
 * evaluated for a few n when it compiles.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/i18n.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned long ns[] = {0, 1, 2, 5, 11, 21, 101, 1000000, (unsigned long)-1};
	unsigned long v;
	char *p;

	if (size == 0)
		return 0;
	/* An exact-size copy, so that ASan catches a read past the end. */
	p = malloc(size - 1 ? size - 1 : 1);
	assert(p);
	memcpy(p, data + 1, size - 1);
	if (data[0] % 2 == 0) {
		if (i18n_catalog_check(p, size - 1) == 0) {
			for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
				assert(i18n_catalog_nget(p, size - 1, "a", "as", ns[i]));
			assert(i18n_catalog_nget(p, size - 1, "", NULL, 0));
		} else {
			assert(!i18n_catalog_nget(p, size - 1, "a", NULL, 0));
		}
	} else {
		for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
			if (i18n_plural_eval(p, size - 1, ns[i], &v) != 0)
				break;
		}
	}
	free(p);
	return 0;
}
