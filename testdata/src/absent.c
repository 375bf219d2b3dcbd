/* libabsent.so.1: programs are linked against it, images never ship it. */
int absent_answer(void) { return 42; }
