/* dlopen COUNT [LIBRARY]: like `linked`, but loads LIBRARY (default libOpenCL.so.1) with dlopen and gets
 * every function with dlsym from the handle (ctypes/OpenCV/ACL style; OpenCV opens libOpenCL.so first). */
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#define FN(name) static __typeof__(name) *p_##name;
#define FNS(X) X(clGetPlatformIDs) X(clGetDeviceIDs) X(clCreateContext) X(clCreateCommandQueue)          \
    X(clCreateProgramWithSource) X(clBuildProgram) X(clCreateKernel) X(clCreateBuffer) X(clSetKernelArg) \
    X(clEnqueueNDRangeKernel) X(clFinish) X(clReleaseCommandQueue) X(clReleaseContext)
FNS(FN)

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 10;
    const char *src = "__kernel void inc(__global float *y) { y[get_global_id(0)] += 1.0f; }\n";
    size_t global = 1024;
    cl_platform_id p;
    cl_device_id d;
    cl_int err;
    void *h = dlopen(argc > 2 ? argv[2] : "libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }
#define LOAD(name) if (!(p_##name = (__typeof__(name) *)dlsym(h, #name))) { fprintf(stderr, "no %s\n", #name); return 2; }
    FNS(LOAD)
    if (p_clGetPlatformIDs(1, &p, NULL) || p_clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL))
        return 3;
    cl_context c = p_clCreateContext(NULL, 1, &d, NULL, NULL, &err);
    cl_command_queue q = p_clCreateCommandQueue(c, d, 0, &err);
    cl_program prog = p_clCreateProgramWithSource(c, 1, &src, NULL, &err);
    if (p_clBuildProgram(prog, 1, &d, "", NULL, NULL))
        return 3;
    cl_kernel k = p_clCreateKernel(prog, "inc", &err);
    cl_mem buf = p_clCreateBuffer(c, CL_MEM_READ_WRITE, global * sizeof(float), NULL, &err);
    p_clSetKernelArg(k, 0, sizeof buf, &buf);
    for (int i = 0; i < count; i++)
        if ((err = p_clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL)))
            return 3;
    p_clFinish(q);
    printf("expected launches=%d kernels=1 queues=1 mem=1 arg_bytes=%zu\n", count, global * sizeof(float));
    p_clReleaseCommandQueue(q);
    p_clReleaseContext(c);
    return 0;
}
