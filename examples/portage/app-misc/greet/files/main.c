#include <stdio.h>
#include <greet.h>
#include "message.h"

int main(int argc, char **argv)
{
	int i, status = greet(GREETING, argc > 1 ? argv[1] : "world");
	for (i = 2; i < argc; i++)
		status |= greet(GREETING, argv[i]);
	return status;
}
