/* foo is referenced only weakly, so its version need is marked weak. */
#include <stdio.h>
extern int foo(void) __attribute__((weak));
int main(void) { printf("%d\n", foo ? foo() : 0); return 0; }
