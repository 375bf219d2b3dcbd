/* Stand-in for tini-static: a tiny init that would exec its arguments. Built
 * as a static amd64 binary and placed in an arm64 image. */
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1)
        execvp(argv[1], argv + 1);
    return 127;
}
