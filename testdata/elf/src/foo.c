/* Two versions of one function: foo@FOO_1.0 and foo@@FOO_2.0 (default). */
int foo_v1(void) { return 1; }
int foo_v2(void) { return 2; }
__asm__(".symver foo_v1, foo@FOO_1.0");
__asm__(".symver foo_v2, foo@@FOO_2.0");
int bar(void) { return 3; }
