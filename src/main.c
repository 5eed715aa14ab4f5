/* herald: command line (filled in by the foundation work). */
#include <stdio.h>

int main(void)
{
	puts("herald " HERALD_VERSION);
	return 0;
}
