/* manyqueues [N] [STRIDE]: N command queues and N kernel objects (of `inc`),
 * all created before any launch; then launch j goes to queue j with kernel
 * (j * STRIDE) % N (STRIDE default 7, coprime with N), one launch per queue;
 * every queue is finished and everything released. */
#include "common.h"

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    int stride = argc > 2 ? atoi(argv[2]) : 7;
    size_t global = 64;
    tp_env t;
    cl_int err;
    tp_setup(&t);
    cl_command_queue *q = calloc(n, sizeof *q);
    cl_kernel *k = calloc(n, sizeof *k);
    cl_mem buf = clCreateBuffer(t.c, CL_MEM_READ_WRITE, global * sizeof(float), NULL, &err);
    CHECK(err);
    for (int i = 0; i < n; i++)
        q[i] = tp_queue(&t, 0);
    for (int i = 0; i < n; i++) {
        k[i] = clCreateKernel(t.prog, "inc", &err);
        CHECK(err);
        CHECK(clSetKernelArg(k[i], 0, sizeof(cl_mem), &buf));
    }
    for (int j = 0; j < n; j++)
        CHECK(clEnqueueNDRangeKernel(q[j], k[(long)j * stride % n], 1, NULL, &global, NULL, 0, NULL, NULL));
    for (int j = 0; j < n; j++)
        CHECK(clFinish(q[j]));
    printf("expected queues=%d kernels=%d launches=%d stride=%d\n", n, n, n, stride);
    for (int i = 0; i < n; i++) {
        clReleaseKernel(k[i]);
        clReleaseCommandQueue(q[i]);
    }
    clReleaseMemObject(buf);
    clReleaseProgram(t.prog);
    clReleaseContext(t.c);
    free(q);
    free(k);
    return 0;
}
