"""The ACL-on-PoCL compatibility layer's rewrites (examples/acl_compat/acl_compat_rewrite.c), through a host build."""
import ctypes
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "examples", "bin", "libacl_compat_rewrite.so")


@pytest.fixture(scope="module")
def compat():
    if not os.path.exists(LIB):
        subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "examples"), "bin/libacl_compat_rewrite.so"], check=True)
    lib = ctypes.CDLL(LIB)
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]
    for name in ("acl_compat_strip_options", "acl_compat_rewrite_source", "acl_compat_append_extension"):
        getattr(lib, name).restype = ctypes.c_void_p
    lib.acl_compat_strip_options.argtypes = [ctypes.c_char_p]
    lib.acl_compat_rewrite_source.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    lib.acl_compat_append_extension.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.acl_compat_fit_local.argtypes = [ctypes.c_uint, ctypes.POINTER(ctypes.c_size_t),
                                         ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t)]

    def take(ptr):
        try:
            return ctypes.string_at(ptr).decode()
        finally:
            libc.free(ptr)

    class API:
        def strip(self, s):
            return take(lib.acl_compat_strip_options(s.encode()))

        def rewrite(self, s):
            n = ctypes.c_int(-1)
            out = take(lib.acl_compat_rewrite_source(s.encode(), ctypes.byref(n)))
            return out, n.value

        def append(self, exts, e):
            return take(lib.acl_compat_append_extension(exts.encode(), e.encode()))

        def fit(self, glob, loc):
            dims = len(glob)
            arr = ctypes.c_size_t * dims
            out = arr()
            changed = lib.acl_compat_fit_local(dims, arr(*glob), arr(*loc), out)
            return list(out), changed
    return API()


@pytest.mark.parametrize("options, expected", [
    ("-cl-arm-non-uniform-work-group-size", ""),
    ("-DM=92 -cl-arm-non-uniform-work-group-size -cl-fast-relaxed-math", "-DM=92  -cl-fast-relaxed-math"),
    ("-DX=1 -cl-arm-non-uniform-work-group-size", "-DX=1 "),
    ("-cl-arm-non-uniform-work-group-size-not -DY", "-cl-arm-non-uniform-work-group-size-not -DY"),
    ("", ""),
])
def test_strip_options_removes_only_the_whole_option(compat, options, expected):
    assert compat.strip(options) == expected


def test_source_rewrite_turns_mod_zero_into_mod_one_and_counts(compat):
    src = ("Tensor4D dst = CONVERT_TO_TENSOR4D_STRUCT_NO_STEP(dst, 0);\n"
           "Tensor4D out = CONVERT_TO_TENSOR4D_STRUCT_NO_STEP(output, 0);\n"
           "Tensor4D in = CONVERT_TO_TENSOR4D_STRUCT_NO_STEP(input, 4);\n"
           "#define CONVERT_TO_TENSOR4D_STRUCT_NO_STEP(name, mod_size) x\n")
    out, n = compat.rewrite(src)
    assert n == 2
    assert out == src.replace("(dst, 0)", "(dst, 1)").replace("(output, 0)", "(output, 1)")


def test_source_without_the_macro_is_unchanged(compat):
    src = "__kernel void k(__global float *x) { x[get_global_id(0)] = 0; }"
    assert compat.rewrite(src) == (src, 0)


def test_local_size_is_fitted_only_where_it_does_not_divide(compat):
    assert compat.fit([288, 196, 1], [128, 1, 1]) == ([32, 1, 1], 1)
    assert compat.fit([12, 784, 1], [1, 8, 1]) == ([1, 8, 1], 0)
    assert compat.fit([23, 196], [8, 8]) == ([1, 4], 1)


def test_extension_is_appended_once(compat):
    ext = "cl_arm_non_uniform_work_group_size"
    assert compat.append("cl_khr_fp64 cl_khr_icd", ext) == f"cl_khr_fp64 cl_khr_icd {ext}"
    assert compat.append("cl_khr_fp64 ", ext) == f"cl_khr_fp64 {ext}"
    assert compat.append(f"cl_khr_fp64 {ext}", ext) == f"cl_khr_fp64 {ext}"
    assert compat.append(f"{ext}_v2", ext) == f"{ext}_v2 {ext}"
