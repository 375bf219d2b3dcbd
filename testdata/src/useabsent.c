/* Needs libabsent.so.1, which no fixture root contains. */
#include <stdio.h>

int absent_answer(void);

int main(void)
{
    printf("%d\n", absent_answer());
    return 0;
}
