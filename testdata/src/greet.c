/* A shared library with versioned symbols. greet.v1.map exports only
 * greet@GREET_1.0; greet.v2.map adds greet_loud@GREET_2.0. A program linked
 * against the v2 build needs GREET_2.0, which the v1 build does not define. */
#include <stdio.h>

void greet(void) { puts("hello"); }
#ifdef GREET_V2
void greet_loud(void) { puts("HELLO"); }
#endif
