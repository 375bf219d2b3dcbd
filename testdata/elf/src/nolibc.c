/* A shared object that needs nothing: no libc, no crt files. */
int answer(void) { return 42; }
