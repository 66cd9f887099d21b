# The test programs that tests/integration/test_acl.py runs under qemu-user, cross-built for aarch64:
#   make -C tests/programs -f aarch64.mk SYSROOT=/path/to/arm64/sysroot   (./dev acl's .acl/sysroot)
# The OpenCL headers come from a private copy of the host's CL/ (not -I/usr/include: host libc headers).
AARCH64_CC ?= aarch64-linux-gnu-gcc
SYSROOT ?= ../../.acl/sysroot
CL_INCLUDE ?= /usr/include
CFLAGS ?= -O1 -g -Wall -Wno-deprecated-declarations -DCL_TARGET_OPENCL_VERSION=300
OUT := bin/aarch64
LIBDIR := $(SYSROOT)/usr/lib/aarch64-linux-gnu

all: $(OUT)/linked $(OUT)/dlopen

$(OUT)/include/CL/cl.h:
	@mkdir -p $(OUT)/include && rm -rf $(OUT)/include/CL && cp -rL $(CL_INCLUDE)/CL $(OUT)/include/

$(OUT)/linked: linked.c common.h $(OUT)/include/CL/cl.h
	$(AARCH64_CC) $(CFLAGS) -I$(OUT)/include -o $@ $< -L$(LIBDIR) -Wl,-rpath-link,$(LIBDIR) -lOpenCL -ldl

$(OUT)/dlopen: dlopen.c $(OUT)/include/CL/cl.h
	$(AARCH64_CC) $(CFLAGS) -I$(OUT)/include -o $@ $< -ldl
