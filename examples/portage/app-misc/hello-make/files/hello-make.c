#include <stdio.h>
#include "message.h"

int main(void) {
	puts(MESSAGE);
	return 0;
}
