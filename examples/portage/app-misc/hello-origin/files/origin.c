#include <stdio.h>

int hello_origin(void)
{
	return puts("Hello from a library found through $ORIGIN") < 0 ? 1 : 0;
}
