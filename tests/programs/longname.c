/* longname LEN [LAUNCHES]
 *
 * Builds a kernel whose name is LEN characters long ("k" then digits), launches it LAUNCHES times (default
 * 3) and prints "name_len N" with the length the driver reports. Kernel names of real libraries run long
 * (templated, shape-specialised): they must reach the trace whole, or cut with a visible marker. */
#include "common.h"

int main(int argc, char **argv)
{
    int len = argc > 1 ? atoi(argv[1]) : 300;
    int n = argc > 2 ? atoi(argv[2]) : 3;
    char *name = malloc(len + 1), *src = malloc(len + 200);
    size_t global = 16, got = 0;
    cl_int err;
    tp_env t;
    name[0] = 'k';
    for (int i = 1; i < len; i++)
        name[i] = (char)('0' + i % 10);
    name[len] = '\0';
    sprintf(src, "__kernel void %s(__global float *y) { y[get_global_id(0)] += 1.0f; }\n", name);
    tp_setup(&t);
    cl_program p = clCreateProgramWithSource(t.c, 1, (const char **)&src, NULL, &err);
    CHECK(err);
    CHECK(clBuildProgram(p, 1, &t.d, "", NULL, NULL));
    cl_kernel k = clCreateKernel(p, name, &err);
    CHECK(err);
    cl_mem buf = clCreateBuffer(t.c, CL_MEM_READ_WRITE, global * sizeof(float), NULL, &err);
    CHECK(err);
    CHECK(clSetKernelArg(k, 0, sizeof buf, &buf));
    cl_command_queue q = tp_queue(&t, 0);
    for (int i = 0; i < n; i++)
        CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL));
    CHECK(clFinish(q));
    CHECK(clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, 0, NULL, &got));
    printf("name_len %zu\n", got - 1);
    return 0;
}
