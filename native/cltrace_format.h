/*
 * cltrace capture format: the one declaration of the binary records that the
 * shim writes and the Python reader (cffi, ABI mode) parses.
 *
 * A capture file is one per traced process image:
 *     [file header: CLT_FILE_HEADER_SIZE bytes]
 *     [chunk 0][chunk 1]...            each chunk_size bytes, at
 *                                      header_size + k * chunk_size
 * Every chunk starts with a clt_chunk_header and is owned by one thread,
 * which appends records to it with no lock. A record is committed by storing
 * its clt_record_header last (one aligned 64-bit release store): a reader
 * stops in a chunk at the first header whose word is 0 (never written: the
 * rest of the chunk is unused, or the writer died mid-record).
 * The file is mmap'd MAP_SHARED, so committed records survive any death of
 * the process (abort, segfault, _exit, SIGKILL): the kernel owns the pages.
 *
 * All integers are little-endian host order, all records 8-byte aligned and a
 * multiple of 8 bytes long. Variable-length strings follow a record's fixed
 * part back to back, each NUL-terminated; the fixed part carries their lengths
 * (without the NUL). Handles (cl_* pointers) are stored as uint64_t.
 *
 * The block between CFFI-BEGIN and CFFI-END is fed verbatim to cffi.cdef():
 * keep it to plain typedef'd structs and integer enums.
 */
#ifndef CLTRACE_FORMAT_H
#define CLTRACE_FORMAT_H

#include <stdint.h>

#define CLT_MAGIC "CLTRACE\0"          /* 8 bytes, file offset 0 */
#define CLT_MAGIC_LEN 8

/* CFFI-BEGIN */
enum {
    CLT_FORMAT_VERSION   = 4,           /* 2: CLT_REC_LAUNCH_SMALL; 3: staging chunks copied out;
                                           4: CLT_REC_DEVICE_CL */
    CLT_FILE_HEADER_SIZE = 128,
    CLT_CHUNK_MAGIC      = 0x4b544c43,  /* "CLTK" */
    CLT_MAX_DIMS         = 3
};

/* Record types (clt_record_header.type). 0 is never a record. */
enum {
    CLT_REC_PROCESS      = 1,   /* clt_process      + argv strings, cwd, env  */
    CLT_REC_DEVICE       = 2,   /* clt_device       + name, vendor, driver, platform */
    CLT_REC_QUEUE        = 3,   /* clt_queue                                     */
    CLT_REC_PROGRAM      = 4,   /* clt_program      + build options              */
    CLT_REC_KERNEL       = 5,   /* clt_kernel       + name, attributes           */
    CLT_REC_LAUNCH       = 6,   /* clt_launch                                    */
    CLT_REC_LAUNCH_TIMES = 7,   /* clt_launch_times (device timestamps, later)   */
    CLT_REC_REGION       = 8,   /* clt_region       + name, tags                 */
    CLT_REC_NOTE         = 9,   /* clt_note         + message                    */
    CLT_REC_MEM          = 10,  /* clt_mem (buffer created: handle, size)        */
    CLT_REC_LAUNCH_SMALL = 11,  /* clt_launch_small: a clt_launch in 88 bytes    */
    CLT_REC_DEVICE_CL    = 12   /* clt_device_cl    + version, C version, extensions (format 4) */
};

/* clt_launch.flags */
enum {
    CLT_LAUNCH_LOCAL_NULL   = 1,    /* app passed local_work_size = NULL (driver-chosen) */
    CLT_LAUNCH_OFFSET_NULL  = 2,    /* app passed global_work_offset = NULL */
    CLT_LAUNCH_OWN_EVENT    = 4,    /* app passed event = NULL; the shim made its own */
    CLT_LAUNCH_UNTIMED      = 8,    /* no device timing will follow (e.g. command buffer) */
    CLT_LAUNCH_API_NDRANGE  = 0,    /* api in bits 8..15 */
    CLT_LAUNCH_API_TASK     = 256,
    CLT_LAUNCH_API_CMDBUF   = 512,  /* clCommandNDRangeKernelKHR (recorded, not timed) */
    CLT_LAUNCH_DIM_SHIFT    = 16    /* clt_launch_small.flags only: work_dim in bits 16..23 */
};

/* clt_launch_times.reason: why times may be missing */
enum {
    CLT_TIMES_OK           = 0,
    CLT_TIMES_PROFILING_ERR= 1,    /* clGetEventProfilingInfo failed (status holds the error) */
    CLT_TIMES_FAILED       = 2,    /* the command ended with a negative execution status */
    CLT_TIMES_PENDING_EXIT = 3     /* still not complete when the process exited */
};

/* clt_program.kind */
enum { CLT_BUILD = 1, CLT_COMPILE = 2, CLT_LINK = 3, CLT_CREATE = 4 };

/* clt_device_cl.failed: which of its queries the driver did not answer (the value is then unknown) */
enum {
    CLT_DEVCL_NO_VERSION     = 1,   /* CL_DEVICE_VERSION */
    CLT_DEVCL_NO_C_VERSION   = 2,   /* CL_DEVICE_OPENCL_C_VERSION */
    CLT_DEVCL_NO_EXTENSIONS  = 4,   /* CL_DEVICE_EXTENSIONS */
    CLT_DEVCL_NO_NON_UNIFORM = 8    /* CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT (OpenCL 3.0; older drivers refuse it) */
};

/* clt_region.kind */
enum { CLT_REGION_BEGIN = 1, CLT_REGION_END = 2 };

/* clt_note.code */
enum {
    CLT_NOTE_EXT_LOOKUP    = 1,   /* clGetExtensionFunctionAddress*: message = function name, value = 1 if wrapped */
    CLT_NOTE_DROPPED       = 2,   /* records that could not be written (value = count) */
    CLT_NOTE_INFO          = 3,   /* free text */
    CLT_NOTE_EXIT          = 4    /* clean exit flush done; value = launches still pending at exit */
};

/* clt_file_header.flags: set by the shim while the process runs (0 in files of older shims) */
enum {
    CLT_FILE_STOPPED       = 1,   /* the shim stopped recording into this file: stop_reason, stop_errno */
    CLT_FILE_EXITED        = 2    /* the exit flush ran (a clean exit, even when its note could not be written) */
};

/* clt_file_header.stop_reason */
enum {
    CLT_STOP_NONE          = 0,
    CLT_STOP_NO_SPACE      = 1,   /* the capture file could not grow: the disk or a quota is full */
    CLT_STOP_FILE_LIMIT    = 2,   /* growing the file would pass the process's RLIMIT_FSIZE (ulimit -f) */
    CLT_STOP_FD_LOST       = 3,   /* the program closed the capture file's descriptor, and the file is gone */
    CLT_STOP_IO_ERROR      = 4    /* any other error growing or mapping the file (stop_errno) */
};

typedef struct {
    char     magic[8];        /* CLT_MAGIC */
    uint32_t version;         /* CLT_FORMAT_VERSION */
    uint32_t header_size;     /* CLT_FILE_HEADER_SIZE */
    uint32_t chunk_size;      /* bytes per chunk (power of two, >= 4096) */
    uint32_t pid;
    uint32_t ppid;
    uint32_t flags;           /* CLT_FILE_* */
    uint64_t start_mono_ns;   /* CLOCK_MONOTONIC at shim start in this image */
    uint64_t start_real_ns;   /* CLOCK_REALTIME at the same moment */
    char     mode[16];        /* "layer", "preload", "shadow": how the shim got in */
    uint32_t stop_reason;     /* CLT_STOP_*, when flags has CLT_FILE_STOPPED */
    int32_t  stop_errno;      /* the error that stopped recording (ENOSPC, EFBIG, ...) */
    uint64_t dropped;         /* records the shim could not write (kept here: a note may not fit) */
    uint64_t last_seq;        /* at the exit flush: the last record number given out (0: no flush); a copy
                                 cut short then tells how many numbered records it lost */
    uint8_t  reserved[40];
} clt_file_header;            /* 128 bytes */

typedef struct {
    uint32_t magic;           /* CLT_CHUNK_MAGIC; 0 = chunk never used */
    uint32_t tid;             /* writer thread (gettid) */
    uint64_t index;           /* unique per fill of a chunk; a full staging chunk is copied out with its
                                 index (format 3), so a writer killed mid-copy can leave two chunks with
                                 one index: they hold the same records, read the one with more */
} clt_chunk_header;           /* 16 bytes */

typedef struct {
    uint16_t type;            /* CLT_REC_* */
    uint16_t reserved;
    uint32_t size;            /* whole record incl. this header, multiple of 8 */
} clt_record_header;          /* 8 bytes, stored last as one uint64 */

/* Every record below begins with a clt_record_header named h and carries a
 * process-wide sequence number `seq` (atomic counter, starts at 1) that orders
 * all records of one process across threads. */

typedef struct {
    clt_record_header h;
    uint64_t seq;
    uint64_t t_ns;            /* CLOCK_MONOTONIC */
    uint32_t pid, ppid;
    uint32_t argc;            /* argv strings follow, then cwd, then env */
    uint32_t n_env;           /* number of "K=V" env strings after cwd (OpenCL-related only) */
    uint32_t strings_len;     /* bytes of all strings including NULs */
    uint32_t pad;
} clt_process;

typedef struct {
    clt_record_header h;
    uint64_t seq;
    uint64_t device;          /* cl_device_id */
    uint64_t platform;        /* cl_platform_id */
    uint64_t device_type;     /* cl_device_type bits */
    uint64_t max_work_group_size;
    uint64_t global_mem_size;
    uint32_t compute_units;
    uint32_t max_clock_mhz;
    uint32_t len_name, len_vendor, len_driver, len_platform;  /* strings follow in this order */
} clt_device;

/* The device's OpenCL level, from which the analysis decides whether a launch whose global size is not a
 * multiple of its local size may run there: written right after the clt_device record of the same device
 * (format 4 and later; files of older formats have none). */
typedef struct {
    clt_record_header h;
    uint64_t seq;
    uint64_t device;          /* cl_device_id: describes the latest clt_device record of this handle */
    uint32_t failed;          /* CLT_DEVCL_* bits: queries that failed (their string is empty, the flag 0) */
    uint32_t non_uniform_wg;  /* CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT: 1 or 0 */
    uint32_t len_version, len_c_version, len_extensions;  /* strings follow in this order */
    uint32_t pad;
} clt_device_cl;

typedef struct {
    clt_record_header h;
    uint64_t seq;
    uint64_t t_ns;
    uint64_t queue;           /* cl_command_queue */
    uint64_t context;
    uint64_t device;
    uint64_t app_properties;  /* CL_QUEUE_PROPERTIES the app asked for */
    uint64_t used_properties; /* what was passed to the driver (profiling forced on) */
    int32_t  error;           /* errcode of the create call */
    uint32_t pad;
} clt_queue;

typedef struct {
    clt_record_header h;
    uint64_t seq;
    uint64_t program;         /* cl_program */
    uint64_t context;
    uint64_t t_start_ns;      /* build/compile/link wall time; create: both = creation time */
    uint64_t t_end_ns;
    int32_t  error;
    uint32_t kind;            /* CLT_BUILD, CLT_COMPILE, CLT_LINK, CLT_CREATE */
    uint32_t len_options;     /* options string follows */
    uint32_t pad;
} clt_program;

typedef struct {
    clt_record_header h;
    uint64_t seq;
    uint64_t kernel;          /* cl_kernel */
    uint64_t program;
    uint64_t work_group_size; /* CL_KERNEL_WORK_GROUP_SIZE on the queue's device, 0 unknown */
    uint64_t preferred_multiple; /* CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE, 0 unknown */
    uint32_t num_args;
    uint32_t len_name, len_attributes;  /* strings follow in this order */
    uint32_t pad;
} clt_kernel;

typedef struct {
    clt_record_header h;
    uint64_t seq;
    uint64_t t_enqueue_ns;    /* CLOCK_MONOTONIC on entry to the enqueue call */
    uint64_t t_return_ns;     /* CLOCK_MONOTONIC when the real call returned */
    uint64_t queue;
    uint64_t kernel;
    uint64_t arg_bytes;       /* sum of CL_MEM_SIZE of buffers set as kernel args, 0 unknown */
    uint64_t offset[3];
    uint64_t global[3];
    uint64_t local[3];        /* 0 when CLT_LAUNCH_LOCAL_NULL */
    uint32_t tid;
    int32_t  error;           /* the call's return code */
    uint32_t work_dim;
    uint32_t flags;           /* CLT_LAUNCH_* */
} clt_launch;

/* The same launch as a clt_launch, written instead of one (144 bytes) when every offset is 0 and every
 * size and the enqueue call's duration fit in 32 bits: most launches. The bytes a launch takes are most of
 * what tracing costs (each new page of the capture costs the kernel microseconds), so the common case is
 * kept small. Readers expand it: offset = 0 (flags still tell NULL from explicit zeros), global/local
 * widened, t_return_ns = t_enqueue_ns + return_dns, work_dim = flags >> CLT_LAUNCH_DIM_SHIFT. */
typedef struct {
    clt_record_header h;
    uint64_t seq;
    uint64_t t_enqueue_ns;
    uint64_t queue;
    uint64_t kernel;
    uint64_t arg_bytes;
    uint32_t return_dns;      /* t_return_ns - t_enqueue_ns */
    int32_t  error;
    uint32_t global[3];
    uint32_t local[3];        /* 0 when CLT_LAUNCH_LOCAL_NULL */
    uint32_t tid;
    uint32_t flags;           /* CLT_LAUNCH_*, work_dim in bits CLT_LAUNCH_DIM_SHIFT.. */
} clt_launch_small;           /* 88 bytes */

typedef struct {
    clt_record_header h;
    uint64_t seq;             /* the seq of the clt_launch these times belong to */
    uint64_t queued_ns, submit_ns, start_ns, end_ns;  /* CL_PROFILING_COMMAND_* */
    int32_t  status;          /* event execution status or error code */
    uint32_t reason;          /* CLT_TIMES_* */
} clt_launch_times;

typedef struct {
    clt_record_header h;
    uint64_t seq;
    uint64_t t_ns;
    uint64_t region_id;       /* process-unique; begin and end share it */
    uint32_t tid;
    uint32_t kind;            /* CLT_REGION_BEGIN / CLT_REGION_END */
    uint32_t len_name, len_tags;  /* name, then tags "k=v,k=v" (begin only) */
} clt_region;

typedef struct {
    clt_record_header h;
    uint64_t seq;
    uint64_t t_ns;
    uint64_t value;
    uint32_t code;            /* CLT_NOTE_* */
    uint32_t len_message;     /* message follows */
} clt_note;

typedef struct {
    clt_record_header h;
    uint64_t seq;
    uint64_t mem;             /* cl_mem */
    uint64_t size;            /* CL_MEM_SIZE */
    uint64_t flags;           /* cl_mem_flags */
} clt_mem;
/* CFFI-END */

#endif
