/* Calls arc4random(), which glibc added in 2.36: the program's version needs
 * include GLIBC_2.36 (and GLIBC_2.34 for __libc_start_main when built against
 * glibc >= 2.34), so an older libc.so.6 cannot satisfy it. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("%u\n", arc4random());
    return 0;
}
