#ifndef GREET_H
#define GREET_H
/* Writes "<greeting>, <name>!" and a newline to standard output. */
int greet(const char *greeting, const char *name);
#endif
