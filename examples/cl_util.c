/* cl_util.c: see cl_util.h. */
#include "cl_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *prog_name = "conv_bench";

void die(int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

const char *cl_err_name(cl_int err)
{
    switch (err) {
#define E(x) case x: return #x;
    E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
    E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
    E(CL_BUILD_PROGRAM_FAILURE) E(CL_INVALID_VALUE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE)
    E(CL_INVALID_CONTEXT) E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_BINARY)
    E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM) E(CL_INVALID_PROGRAM_EXECUTABLE)
    E(CL_INVALID_KERNEL_NAME) E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE)
    E(CL_INVALID_ARG_SIZE) E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION)
    E(CL_INVALID_WORK_GROUP_SIZE) E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET)
    E(CL_INVALID_EVENT_WAIT_LIST) E(CL_INVALID_EVENT) E(CL_INVALID_OPERATION)
    E(CL_INVALID_BUFFER_SIZE) E(CL_INVALID_GLOBAL_WORK_SIZE)
#undef E
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL platform installed)";
    default: return "unknown OpenCL error";
    }
}

void cl_check(cl_int err, const char *what)
{
    if (err != CL_SUCCESS)
        die(EXIT_RUNTIME, "%s failed: %s (%d)", what, cl_err_name(err), (int)err);
}

static int contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

void cl_env_open(struct cl_env *env, const char *platform_substr)
{
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 || (err == CL_SUCCESS && np == 0))
        die(EXIT_RUNTIME, "no OpenCL platform found (is an ICD installed?)");
    cl_check(err, "clGetPlatformIDs");
    cl_platform_id *plats = calloc(np, sizeof *plats);
    cl_check(clGetPlatformIDs(np, plats, NULL), "clGetPlatformIDs");
    memset(env, 0, sizeof *env);
    for (cl_uint i = 0; i < np && !env->device; ++i) {
        char name[128] = "", vendor[128] = "";
        clGetPlatformInfo(plats[i], CL_PLATFORM_NAME, sizeof name, name, NULL);
        clGetPlatformInfo(plats[i], CL_PLATFORM_VENDOR, sizeof vendor, vendor, NULL);
        if (platform_substr && !contains(name, platform_substr) && !contains(vendor, platform_substr))
            continue;
        cl_device_id dev;
        if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 1, &dev, NULL) != CL_SUCCESS)
            continue;
        env->platform = plats[i];
        env->device = dev;
        snprintf(env->platform_name, sizeof env->platform_name, "%s", name);
    }
    free(plats);
    if (!env->device) {
        if (platform_substr)
            die(EXIT_USAGE, "no OpenCL platform with a device matches '%s'", platform_substr);
        die(EXIT_RUNTIME, "no OpenCL device found");
    }
    clGetDeviceInfo(env->device, CL_DEVICE_NAME, sizeof env->device_name, env->device_name, NULL);
    cl_int e;
    env->context = clCreateContext(NULL, 1, &env->device, NULL, NULL, &e);
    cl_check(e, "clCreateContext");
    env->queue = clCreateCommandQueue(env->context, env->device, 0, &e);
    cl_check(e, "clCreateCommandQueue");
}

void cl_env_close(struct cl_env *env)
{
    if (env->queue)
        clReleaseCommandQueue(env->queue);
    if (env->context)
        clReleaseContext(env->context);
    memset(env, 0, sizeof *env);
}

cl_program cl_build(const struct cl_env *env, const char *source, const char *options)
{
    cl_int err;
    cl_program p = clCreateProgramWithSource(env->context, 1, &source, NULL, &err);
    cl_check(err, "clCreateProgramWithSource");
    err = clBuildProgram(p, 1, &env->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        size_t len = 0;
        clGetProgramBuildInfo(p, env->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len);
        char *log = calloc(len + 1, 1);
        clGetProgramBuildInfo(p, env->device, CL_PROGRAM_BUILD_LOG, len, log, NULL);
        fprintf(stderr, "%s: build log:\n%s\n", prog_name, log);
        free(log);
        cl_check(err, "clBuildProgram");
    }
    return p;
}

cl_kernel cl_kernel_get(cl_program program, const char *name)
{
    cl_int err;
    cl_kernel k = clCreateKernel(program, name, &err);
    cl_check(err, name);
    return k;
}

cl_mem cl_buffer(const struct cl_env *env, cl_mem_flags flags, size_t bytes, void *host)
{
    cl_int err;
    cl_mem m = clCreateBuffer(env->context, flags, bytes ? bytes : 4, host, &err);
    cl_check(err, "clCreateBuffer");
    return m;
}
