/* STUB: the knotmap command. */
#include <stdio.h>
#include "knotmap.h"
int main(void)
{
    printf("knotmap %s\n", km_version_string());
    return 0;
}
