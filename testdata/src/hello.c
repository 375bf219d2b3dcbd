/* A minimal dynamically linked C program: needs only the C library. */
#include <stdio.h>

int main(void)
{
    puts("hello from a fixture");
    return 0;
}
