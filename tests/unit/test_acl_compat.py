"""The ACL-on-PoCL compatibility layer's pure functions (examples/acl_compat/acl_compat_rewrite.c): the rewrites and
the split of a non-uniform launch into uniform regions, through a host build."""
import ctypes
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "examples", "bin", "libacl_compat_rewrite.so")


class Region(ctypes.Structure):
    _fields_ = [("offset", ctypes.c_size_t * 3), ("global_", ctypes.c_size_t * 3), ("local", ctypes.c_size_t * 3)]


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
    lib.acl_compat_split_regions.restype = ctypes.c_uint
    lib.acl_compat_split_regions.argtypes = [ctypes.c_uint, ctypes.POINTER(ctypes.c_size_t),
                                             ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t),
                                             ctypes.POINTER(Region)]

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

        def split(self, glob, loc, offset=None):
            """[(offset, global, local)] over the launch's dimensions; [] when the layer passes it on unchanged."""
            dims = len(glob)
            arr = ctypes.c_size_t * max(dims, 1)
            out = (Region * 8)()
            n = lib.acl_compat_split_regions(dims, arr(*offset) if offset else None, arr(*glob),
                                             arr(*loc) if loc is not None else None, out)
            return [(tuple(r.offset[:dims]), tuple(r.global_[:dims]), tuple(r.local[:dims])) for r in out[:n]]
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


def test_acl_bifrost_gemm_at_92_channels_splits_into_four_regions(compat):
    # ACL 20.08 on a Mali-G72: gemm_mm_floating_point_f32_bifrost global 23x196, local 8x8
    assert compat.split([23, 196], [8, 8]) == [
        ((0, 0), (16, 192), (8, 8)),        # bulk x bulk
        ((16, 0), (7, 192), (7, 8)),        # x remainder
        ((0, 192), (16, 4), (8, 4)),        # y remainder
        ((16, 192), (7, 4), (7, 4)),        # both
    ]


def test_one_dimension_bulk_and_remainder(compat):
    assert compat.split([25], [4]) == [((0,), (24,), (4,)), ((24,), (1,), (1,))]
    assert compat.split([23], [4]) == [((0,), (20,), (4,)), ((20,), (3,), (3,))]   # ACL 19.02's hint at 92


def test_uniform_launch_is_its_one_region(compat):
    assert compat.split([24], [4]) == [((0,), (24,), (4,))]
    assert compat.split([12, 784, 1], [1, 8, 1]) == [((0, 0, 0), (12, 784, 1), (1, 8, 1))]


def test_local_larger_than_global_is_all_remainder(compat):
    assert compat.split([3, 8], [4, 8]) == [((0, 0), (3, 8), (3, 8))]


def test_offsets_are_added_and_three_dimensions_give_eight_regions(compat):
    regions = compat.split([5, 6, 7], [2, 4, 4], offset=[10, 20, 30])
    assert len(regions) == 8
    assert regions[0] == ((10, 20, 30), (4, 4, 4), (2, 4, 4))
    assert regions[1] == ((14, 20, 30), (1, 4, 4), (1, 4, 4))
    assert regions[-1] == ((14, 24, 34), (1, 2, 3), (1, 2, 3))
    # the regions tile the range exactly once
    seen = set()
    for off, g, _ in regions:
        for x in range(off[0], off[0] + g[0]):
            for y in range(off[1], off[1] + g[1]):
                for z in range(off[2], off[2] + g[2]):
                    assert (x, y, z) not in seen
                    seen.add((x, y, z))
    assert seen == {(x, y, z) for x in range(10, 15) for y in range(20, 26) for z in range(30, 37)}


@pytest.mark.parametrize("glob, loc", [([23], None), ([0], [4]), ([23], [0]), ([1, 1, 1, 1], [1, 1, 1, 1]), ([], [])])
def test_launches_the_layer_passes_on_unchanged(compat, glob, loc):
    assert compat.split(glob, loc) == []


def test_extension_is_appended_once(compat):
    ext = "cl_arm_non_uniform_work_group_size"
    assert compat.append("cl_khr_fp64 cl_khr_icd", ext) == f"cl_khr_fp64 cl_khr_icd {ext}"
    assert compat.append("cl_khr_fp64 ", ext) == f"cl_khr_fp64 {ext}"
    assert compat.append(f"cl_khr_fp64 {ext}", ext) == f"cl_khr_fp64 {ext}"
    assert compat.append(f"{ext}_v2", ext) == f"{ext}_v2 {ext}"
