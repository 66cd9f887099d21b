/* nocl: no OpenCL at all; a traced run must leave no capture file. */
#include <stdio.h>
int main(void) { printf("expected launches=0 files=0\n"); return 0; }
