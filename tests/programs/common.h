/* Shared set-up for the test programs: first platform/device, a context, a
 * queue and the trivial kernel `inc` (y[i] += 1). */
#ifndef TP_COMMON_H
#define TP_COMMON_H
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                                                           \
    do {                                                                                                   \
        cl_int e_ = (x);                                                                                   \
        if (e_ != CL_SUCCESS) {                                                                            \
            fprintf(stderr, "%s:%d: %s -> %d\n", __FILE__, __LINE__, #x, e_);                             \
            exit(3);                                                                                       \
        }                                                                                                  \
    } while (0)

static const char *tp_src = "__kernel void inc(__global float *y) { y[get_global_id(0)] += 1.0f; }\n";

typedef struct { cl_platform_id p; cl_device_id d; cl_context c; cl_program prog; } tp_env;

static void tp_setup(tp_env *t)
{
    cl_int err;
    CHECK(clGetPlatformIDs(1, &t->p, NULL));
    CHECK(clGetDeviceIDs(t->p, CL_DEVICE_TYPE_ALL, 1, &t->d, NULL));
    t->c = clCreateContext(NULL, 1, &t->d, NULL, NULL, &err);
    CHECK(err);
    t->prog = clCreateProgramWithSource(t->c, 1, &tp_src, NULL, &err);
    CHECK(err);
    CHECK(clBuildProgram(t->prog, 1, &t->d, "-cl-fast-relaxed-math", NULL, NULL));
}

__attribute__((unused)) static cl_command_queue tp_queue(tp_env *t, cl_command_queue_properties props)
{
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(t->c, t->d, props, &err);
    CHECK(err);
    return q;
}

__attribute__((unused)) static cl_kernel tp_kernel(tp_env *t, cl_mem *buf, size_t n)
{
    cl_int err;
    cl_kernel k = clCreateKernel(t->prog, "inc", &err);
    CHECK(err);
    *buf = clCreateBuffer(t->c, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &err);
    CHECK(err);
    CHECK(clSetKernelArg(k, 0, sizeof(cl_mem), buf));
    return k;
}

/* Set up, enqueue `inc` n times over `global` items (local and event NULL); returns the queue, nothing
 * waited for. Objects are left alive: the programs that use this exit, exec or die right after. */
__attribute__((unused)) static cl_command_queue tp_enqueue(int n, size_t global)
{
    tp_env t;
    cl_mem buf;
    tp_setup(&t);
    cl_command_queue q = tp_queue(&t, 0);
    cl_kernel k = tp_kernel(&t, &buf, global);
    for (int i = 0; i < n; i++)
        CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL));
    return q;
}

/* tp_enqueue, then clFinish. */
__attribute__((unused)) static void tp_launches(int n, size_t global)
{
    CHECK(clFinish(tp_enqueue(n, global)));
}
#endif
