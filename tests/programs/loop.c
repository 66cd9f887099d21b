/* loop [BATCH] [MAX_BATCHES] [inorder|ooo] [SPIN]
 *
 * Launches in batches of BATCH (default 100) on one queue (in-order by
 * default, out-of-order with `ooo`), clFinish after each batch, then prints
 * "finished N" (N = launches completed so far) and flushes. MAX_BATCHES < 0
 * (the default) means forever: for killing from outside at a random moment.
 *
 * SPIN = 0 (default): the trivial kernel `inc` over 256 items. SPIN > 0: the
 * kernel `spin`, one work-item looping SPIN times on its own buffer, so that
 * on an out-of-order queue independent launches can run at the same time.
 * At the end prints "loop_s SECONDS" (first batch excluded: it compiles). */
#include <time.h>
#include "common.h"

static const char *spin_src =
    "__kernel void spin(__global float *y, int n) {\n"
    "  float a = y[0];\n"
    "  for (int i = 0; i < n; i++) a = a * 0.999f + 1.0f;\n"
    "  y[0] = a;\n"
    "}\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int batch = argc > 1 ? atoi(argv[1]) : 100;
    long max_batches = argc > 2 ? atol(argv[2]) : -1;
    int ooo = argc > 3 && !strcmp(argv[3], "ooo");
    int spin = argc > 4 ? atoi(argv[4]) : 0;
    size_t global = 256, one = 1;
    tp_env t;
    cl_int err;
    cl_mem buf;
    tp_setup(&t);
    cl_command_queue q = tp_queue(&t, ooo ? CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE : 0);
    cl_kernel k = tp_kernel(&t, &buf, global);
    cl_kernel *ks = NULL;
    if (spin > 0) {
        cl_program p = clCreateProgramWithSource(t.c, 1, &spin_src, NULL, &err);
        CHECK(err);
        CHECK(clBuildProgram(p, 1, &t.d, "", NULL, NULL));
        ks = calloc(batch, sizeof *ks);
        for (int i = 0; i < batch; i++) {   /* one kernel and buffer per launch of a batch: independent */
            cl_mem b = clCreateBuffer(t.c, CL_MEM_READ_WRITE, 64, NULL, &err);
            CHECK(err);
            ks[i] = clCreateKernel(p, "spin", &err);
            CHECK(err);
            CHECK(clSetKernelArg(ks[i], 0, sizeof b, &b));
            CHECK(clSetKernelArg(ks[i], 1, sizeof spin, &spin));
        }
    }
    long done = 0;
    double t0 = 0;
    for (long b = 0; max_batches < 0 || b < max_batches; b++) {
        if (b == 1)
            t0 = now_s();
        for (int i = 0; i < batch; i++) {
            if (ks)
                CHECK(clEnqueueNDRangeKernel(q, ks[i], 1, NULL, &one, &one, 0, NULL, NULL));
            else
                CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL));
        }
        CHECK(clFinish(q));
        done += batch;
        printf("finished %ld\n", done);
        fflush(stdout);
    }
    printf("loop_s %.6f\n", max_batches > 1 ? now_s() - t0 : 0.0);
    return 0;
}
