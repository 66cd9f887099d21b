/* cl_util.h: small OpenCL helpers for the examples (errors, device choice, program build). */
#ifndef CL_UTIL_H
#define CL_UTIL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

/* Exit codes: 1 = runtime failure (OpenCL error, check mismatch), 2 = bad input. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

extern const char *prog_name;

/* Print "<prog>: <message>" on stderr and exit with code. */
void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* CL_SUCCESS or die(EXIT_RUNTIME, "<what> failed: CL_xxx"). */
void cl_check(cl_int err, const char *what);
const char *cl_err_name(cl_int err);

/* First device of the first platform whose name or vendor contains platform_substr
 * (any platform when NULL). */
struct cl_env {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    char platform_name[128];
    char device_name[128];
};
void cl_env_open(struct cl_env *env, const char *platform_substr);
void cl_env_close(struct cl_env *env);

/* Build a program from source; dies with the build log on failure. */
cl_program cl_build(const struct cl_env *env, const char *source, const char *options);
cl_kernel cl_kernel_get(cl_program program, const char *name);
cl_mem cl_buffer(const struct cl_env *env, cl_mem_flags flags, size_t bytes, void *host);

#endif
