/* Needs greet_loud@GREET_2.0 from libgreet.so.1. */
void greet(void);
void greet_loud(void);

int main(void)
{
    greet();
    greet_loud();
    return 0;
}
