"""Dispatch changes along a sweep (facts per neighbour pair), kernel families, waves, Trace.compute_units."""
import os
import sys

import pandas as pd
import pytest

from cltrace.analysis.attribution import attribute, pair_changes, routine_global_kernels, short_label
from cltrace.analysis.dispatch_changes import CHANGE_COLUMNS, dispatch_changes, kernel_family, link_steps

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))      # tests/unit: capture_factory


# -- kernel families ------------------------------------------------------------------------------------------
OCL4DNN = "IDLF_k3x3_cn{cn}_g1_s1x1_d1x1_b1_in64x64_p1x1_num1_M{m}_activ0_eltwise0_FP32_2_{bw}_4_1_SIMD16"


@pytest.mark.parametrize("a, b", [
    ("conv_M61_K576_N3136", "conv_M62_K576_N3136"),
    (OCL4DNN.format(cn=64, m=61, bw=4), OCL4DNN.format(cn=64, m=62, bw=8)),
    (OCL4DNN.format(cn=32, m=64, bw=4), OCL4DNN.format(cn=48, m=64, bw=4)),
    ("U_GEMM_LIKE_CONV_k3x3_cn64_g1_s1x1_d1x1_b1_in64x64_p1x1_num1_M64_activ0_eltwise0_FP32_5_1_8_32_SIMD8",
     "U_GEMM_LIKE_CONV_k3x3_cn64_g1_s1x1_d1x1_b1_in64x64_p1x1_num1_M96_activ0_eltwise0_FP32_5_1_8_32_SIMD8"),
    ("r_16_4_8", "r_32_4_8_4"),                      # tinygrad: reduce kernels named by their shape
    ("E_4_4n1", "E_8_4"),                            # tinygrad dedup suffix n1
    ("pack_64x56x56", "pack_65x56x56"),              # a tensor shape
    ("tvmgen_default_fused_nn_conv2d_add_1_kernel0", "tvmgen_default_fused_nn_conv2d_add_2_kernel0"),
    ("gemm_M64N32K8", "gemm_M96N32K8"),
])
def test_per_shape_names_are_one_family(a, b):
    assert kernel_family(a) == kernel_family(b)
    assert kernel_family(a) != a


@pytest.mark.parametrize("a, b", [
    ("gemm_v4", "gemm_tail"), ("gemm_v4", "gemm_v2"), ("XgemmDirectTN", "Xgemm"), ("XgemmDirectTN", "XgemmDirectNN"),
    ("TransposeMatrix", "TransposePadMatrix"), ("im2col", "direct_conv"), ("im2col", "col2im"),
    ("direct_convolution3x3_f32_bifrost", "direct_convolution1x1"),
    ("direct_convolution3x3_f32_bifrost", "direct_convolution3x3_f16_bifrost"),
    ("direct_convolution3x3_f32_bifrost", "direct_convolution5x5_f32_bifrost"),
    ("winograd_input_transform_4x4_3x3_stepz1_nchw", "winograd_input_transform_2x2_3x3_stepz1_nchw"),
    ("conv2d", "conv3d"), ("copy_vec4", "copy_vec8"), ("gemm_int8", "gemm_int4"),
    ("fused_nn_conv2d_kernel0", "fused_nn_conv2d_kernel1"),         # TVM: two kernels of one function
    (OCL4DNN.format(cn=64, m=64, bw=4), OCL4DNN.format(cn=64, m=64, bw=4).replace("SIMD16", "SIMD8")),
    (OCL4DNN.format(cn=64, m=64, bw=4), OCL4DNN.format(cn=64, m=64, bw=4).replace("FP32", "FP16")),
])
def test_different_kernels_stay_apart(a, b):
    assert kernel_family(a) != kernel_family(b)


@pytest.mark.parametrize("name", ["gemm_v4", "gemm_tail", "im2col", "direct_conv", "XgemmDirectTN", "Xgemm",
                                  "TransposeMatrix", "TransposePadMatrix", "CopyPadMatrix", "Xaxpy",
                                  "direct_convolution1x1", "direct_convolution3x3_f32_bifrost", "k", "d", "",
                                  "default_function_kernel0"])
def test_names_without_shape_tokens_are_their_own_family(name):
    assert kernel_family(name) == name


# -- dispatch changes on hand-made sweeps ---------------------------------------------------------------------
def configs(sigs: dict, group_label="all", varies=()) -> pd.DataFrame:
    vals = sorted(sigs)
    return pd.DataFrame({"channels": vals, "group_label": group_label, "config_id": range(len(vals)),
                         "signature": [tuple(sigs[v]) for v in vals],
                         "signature_varies": [v in varies for v in vals]})


def test_columns_and_no_rows_when_signatures_are_equal():
    same = configs({c: (("k", "64x56", "8x8", 56),) for c in range(8, 16)})
    out = dispatch_changes(same, "channels", [])
    assert list(out.columns) == CHANGE_COLUMNS and out.empty
    assert dispatch_changes(same.iloc[:0], "channels", []).empty


def test_tail_kernel_appearing_and_disappearing_every_four_channels():
    def sig(c):
        main = ("gemm_v4", f"{c // 4 * 4}x3136", "4x16", c // 4 * 196)
        return (main, ("gemm_tail", f"{c % 4}x3136", "1x16", c % 4 * 196)) if c % 4 else (main,)
    out = dispatch_changes(configs({c: sig(c) for c in range(8, 17)}), "channels", [])
    extra = out[out["kind"] == "extra-dispatch"]
    removed = out[out["kind"] == "dispatch-removed"]
    assert list(zip(extra["from_value"], extra["to_value"])) == [(8, 9), (12, 13)]
    assert list(zip(removed["from_value"], removed["to_value"])) == [(11, 12), (15, 16)]
    assert set(extra["kernel"]) == set(removed["kernel"]) == {"gemm_tail"}
    assert extra["text"].iloc[0] == "extra dispatch: gemm_tail (1 more launch)"
    assert removed["text"].iloc[0] == "dispatch removed: gemm_tail (1 fewer launch)"
    # gemm_v4's global holds for 4 counts, then jumps: tile padding at the same pairs as the tail's removal
    pad = out[out["kind"] == "tile-padding"]
    assert list(zip(pad["kernel"], pad["from_value"], pad["to_value"])) == [("gemm_v4", 11, 12), ("gemm_v4", 15, 16)]
    assert pad["text"].iloc[0] == "global size (tile padding): gemm_v4 8x3136 -> 12x3136 (work-groups 392 -> 588)"
    # the tail's global follows the count on every pair where it runs: routine growth, one summary row
    growth = out[out["kind"] == "routine-growth"]
    assert list(growth["kernel"]) == ["gemm_tail"] and growth["routine"].all()
    assert int(growth["n_pairs"].iloc[0]) == 4 and "1x3136 -> 3x3136" in growth["text"].iloc[0]
    assert not out["kind"].eq("variant-switch").any()
    assert list(out["change_id"]) == list(range(len(out)))
    assert (out.loc[~out["routine"], "n_pairs"] == 1).all()
    assert list(out["from_value"]) == sorted(out["from_value"])


def test_per_shape_names_are_no_variant_switch():
    sigs = {m: ((f"conv_M{m}_K576_N3136", f"{(m + 7) // 8 * 8}x3136", "8x16", (m + 7) // 8 * 196),)
            for m in range(57, 67)}
    out = dispatch_changes(configs(sigs), "channels", [])
    assert not out["kind"].isin(["variant-switch", "extra-dispatch", "dispatch-removed"]).any()
    # the name changes at every count (routine, one row); the padded global jumps at 64 -> 65
    growth = out[out["kind"] == "routine-growth"]
    assert len(growth) == 1 and int(growth["n_pairs"].iloc[0]) == 8      # 64 -> 65 is padding
    assert growth["family"].iloc[0] == "conv_M#_K#_N#"
    assert "name conv_M57_K576_N3136 -> conv_M66_K576_N3136" in growth["text"].iloc[0]
    pad = out[out["kind"] == "tile-padding"]
    assert list(zip(pad["from_value"], pad["to_value"])) == [(64, 65)]
    assert pad["kernel"].iloc[0] == "conv_M65_K576_N3136"
    assert "(was conv_M64_K576_N3136)" in pad["text"].iloc[0]
    # attribute() agrees: the step at 64 -> 65 is padding, a step at 60 -> 61 has no dispatch cause
    c = attribute(sigs[64], sigs[65])
    assert [x.kind for x in c] == ["tile-padding"]
    c = attribute(sigs[60], sigs[61])
    assert [x.kind for x in c] == ["unexplained"] and "shape tokens" in c[0].text


def test_clblast_direct_to_indirect_is_one_variant_switch():
    direct = (("XgemmDirectTN", "64x64", "8x8", 64),)
    indirect = (("TransposeMatrix", "64x64", "8x8", 64), ("TransposePadMatrix", "64x64", "8x8", 64),
                ("Xgemm", "64x64", "8x8", 64))
    out = dispatch_changes(configs({96: direct, 97: direct, 98: indirect, 99: indirect}), "channels", [])
    assert list(out["kind"]) == ["variant-switch"]
    r = out.iloc[0]
    assert (r["from_value"], r["to_value"], r["from_config_id"], r["to_config_id"]) == (97, 98, 1, 2)
    assert r["text"] == "kernel variant switched: XgemmDirectTN -> TransposeMatrix + TransposePadMatrix + Xgemm"
    assert r["before"] == "XgemmDirectTN" and r["after"] == "TransposeMatrix,TransposePadMatrix,Xgemm"


def test_wave_crossing_with_tiles_of_four_channels_on_two_compute_units():
    sigs = {c: (("conv", f"{-(-c // 4) * 16}x28", "16x28", -(-c // 4)),) for c in range(5, 17)}
    out = dispatch_changes(configs(sigs), "channels", [], compute_units=2)
    waves = out[out["kind"] == "waves"]
    assert list(zip(waves["from_value"], waves["to_value"])) == [(8, 9)]
    w = waves.iloc[0]
    assert (w["work_groups_before"], w["work_groups_after"], w["rounds_before"], w["rounds_after"]) == (2, 3, 1, 2)
    assert w["text"] == "waves: conv 2 -> 3 work-groups on 2 compute units: 1 -> 2 rounds (global 32x28 -> 48x28)"
    # 12 -> 13: one more work-group, still 2 rounds: tile padding, with its rounds
    pad = out[out["kind"] == "tile-padding"]
    assert list(zip(pad["from_value"], pad["to_value"])) == [(12, 13)]
    assert (pad["rounds_before"].iloc[0], pad["rounds_after"].iloc[0]) == (2, 2)
    # without the compute units no wave is claimed
    plain = dispatch_changes(configs(sigs), "channels", [])
    assert list(plain["kind"]) == ["tile-padding", "tile-padding"] and plain["rounds_before"].isna().all()
    # attribute() names it too, when told the compute units
    c = attribute(sigs[8], sigs[9], compute_units=2)
    assert [x.kind for x in c] == ["waves"] and short_label(c) == "waves"
    assert [x.kind for x in attribute(sigs[8], sigs[9])] == ["tile-padding"]


def test_waves_are_listed_even_for_a_kernel_that_grows_at_every_count():
    sigs = {c: (("direct", f"{c * 8}x28", "8x28", c),) for c in range(1, 10)}
    out = dispatch_changes(configs(sigs), "channels", [], compute_units=4)
    waves = out[out["kind"] == "waves"]
    assert list(zip(waves["from_value"], waves["to_value"])) == [(4, 5), (8, 9)]
    assert list(waves["rounds_after"]) == [2, 3]
    growth = out[out["kind"] == "routine-growth"]
    assert len(growth) == 1 and int(growth["n_pairs"].iloc[0]) == 6 and growth["routine"].all()


def test_work_group_steps_inside_routine_growth_are_tile_padding():
    """ACL 20.08's direct_convolution3x3_f32_bifrost on resnet50.L15 (traced under qemu, docs/acl.md): global
    7x10xC grows at every count, but local 2x1x6 pads C to a multiple of 6, so the work-group count moves
    only at 90 -> 91 and 96 -> 97."""
    sigs = {c: (("direct_convolution3x3_f32_bifrost", f"7x10x{c}", "2x1x6", 4 * 10 * -(-c // 6)),)
            for c in range(88, 101)}
    out = dispatch_changes(configs(sigs), "channels", [])
    pad = out[out["kind"] == "tile-padding"]
    assert list(zip(pad["from_value"], pad["to_value"])) == [(90, 91), (96, 97)]
    assert list(zip(pad["work_groups_before"], pad["work_groups_after"])) == [(600, 640), (640, 680)]
    assert pad["text"].iloc[0] == ("work-groups (tile padding): direct_convolution3x3_f32_bifrost 600 -> 640 "
                                   "work-groups of local 2x1x6 (global 7x10x90 -> 7x10x91)")
    growth = out[out["kind"] == "routine-growth"]
    assert len(growth) == 1 and int(growth["n_pairs"].iloc[0]) == 12


def test_driver_local_work_groups_are_unknown_so_no_waves():
    sigs = {c: (("direct", f"{c * 8}x28", "driver", None),) for c in range(1, 10)}
    out = dispatch_changes(configs(sigs), "channels", [], compute_units=4)
    assert list(out["kind"]) == ["routine-growth"] and out["rounds_before"].isna().all()
    assert pair_changes(sigs[4], sigs[5], compute_units=4)[0].kind == "routine-growth"


def test_local_size_change_is_a_work_group_split():
    a = (("conv", "64x56x56", "8x56x1", 448),)
    b = (("conv", "64x56x56", "1x56x56", 64),)
    out = dispatch_changes(configs({30: a, 31: a, 32: b}), "channels", [], compute_units=16)
    assert list(out["kind"]) == ["work-group-split"]
    assert (out["before"].iloc[0], out["after"].iloc[0]) == ("8x56x1", "1x56x56")
    # the split explains the change of rounds; the text names it
    assert out["text"].iloc[0] == ("work-group split: conv local 8x56x1 -> 1x56x56 (work-groups 448 -> 64, "
                                   "28 -> 4 rounds on 16 compute units)")
    assert (out["rounds_before"].iloc[0], out["rounds_after"].iloc[0]) == (28, 4)
    plain = dispatch_changes(configs({30: a, 31: a, 32: b}), "channels", [])
    assert plain["text"].iloc[0] == "work-group split: conv local 8x56x1 -> 1x56x56"


def test_work_group_growth_by_whole_rounds_is_no_wave():
    """Adding at least one work-group per compute unit adds rounds in proportion to the work: that is the
    global size growing (tile padding here), with its rounds named, not a wave crossing."""
    def sig(c):
        return (("gemm_v4", f"{c // 4 * 4}x3136", "4x16", c // 4 * 196),)
    out = dispatch_changes(configs({c: sig(c) for c in range(8, 17)}), "channels", [], compute_units=4)
    assert list(out["kind"]) == ["tile-padding", "tile-padding"]
    assert out["text"].iloc[0] == ("global size (tile padding): gemm_v4 8x3136 -> 12x3136 (work-groups 392 -> 588, "
                                   "98 -> 147 rounds on 4 compute units)")


def test_groups_are_compared_separately_and_signature_varies_is_carried():
    a, b = (("k", "8", "8", 1),), (("k", "8", "8", 1), ("t", "1", "1", 1))
    left = configs({1: a, 2: b, 3: b}, "method=x", varies={2})
    right = configs({1: b, 2: b, 3: a}, "method=y")
    right["config_id"] += 3
    both = pd.concat([left, right], ignore_index=True)
    out = dispatch_changes(both, "channels", ["method"])
    assert list(zip(out["group_label"], out["kind"], out["from_value"])) == [
        ("method=x", "extra-dispatch", 1), ("method=y", "dispatch-removed", 2)]
    assert list(out["signature_varies"]) == [True, False]
    assert list(out["from_config_id"]) == [0, 4]
    # configurations without a signature are left out: their neighbours are compared
    gap = configs({1: a, 2: (), 3: b})
    out = dispatch_changes(gap, "channels", [])
    assert list(zip(out["kind"], out["from_value"], out["to_value"])) == [("extra-dispatch", 1, 3)]
    # without group_label, groups come from `by`
    nolabel = both.drop(columns="group_label").assign(method=["x"] * 3 + ["y"] * 3)
    assert list(dispatch_changes(nolabel, "channels", ["method"])["group_label"]) == ["method=x", "method=y"]


def test_link_steps_points_steps_at_their_changes():
    def sig(c):
        main = ("gemm_v4", f"{c // 4 * 4}x3136", "4x16", c // 4 * 196)
        return (main, ("gemm_tail", f"{c % 4}x3136", "1x16", c % 4 * 196)) if c % 4 else (main,)
    ch = dispatch_changes(configs({c: sig(c) for c in range(8, 17)}), "channels", [])
    steps = pd.DataFrame({"group_label": ["all", "all"], "from_value": [8, 10], "to_value": [9, 12]})
    ids, at_step = link_steps(steps, ch)
    assert [list(ch.loc[ch["change_id"].isin(i), "kind"]) for i in ids] == [
        ["extra-dispatch"], ["dispatch-removed", "tile-padding"]]
    assert sum(at_step) == 3 and not any(a for a, r in zip(at_step, ch["routine"]) if r)
    assert link_steps(steps.iloc[:0], ch) == ([], [False] * len(ch))


def test_routine_kernels_are_judged_by_family():
    sides = [(((f"conv_M{m}", f"{m}x8", "1x8", m),), ((f"conv_M{m + 1}", f"{m + 1}x8", "1x8", m + 1),))
             for m in range(4, 8)]
    assert routine_global_kernels(sides) == {"conv_M#"}
    assert [c.kind for c in pair_changes(*sides[0], routine={"conv_M4"})] == ["routine-growth"]


def test_side_by_side_marks_a_per_shape_name_as_the_same_kernel():
    from cltrace.analysis.dispatch_diff import side_by_side

    def table(*rows):
        return pd.DataFrame([{"kernel": k, "global": g, "local": "8", "work_groups": "1", "median_ms": 1.0}
                             for k, g in rows])
    a = table(("im2col", "64"), ("conv_M61_K576", "64"))
    b = table(("im2col", "64"), ("conv_M62_K576", "72"))
    c = table(("im2col", "64"), ("Xgemm", "72"))
    assert list(side_by_side(a, b)["change"]) == ["", "~"]
    assert list(side_by_side(a, c)["change"]) == ["", "-/+"]


# -- compute units of a trace ---------------------------------------------------------------------------------
def _trace(tmp_path, units, launch_on):
    from capture_factory import CaptureBuilder

    from cltrace.store.db import create_db, insert_run
    from cltrace.store.ingest import ingest_capture_dir
    tmp_path.mkdir()
    db = tmp_path / "t.db"
    conn = create_db(db)
    with conn:
        for run, (cus, used) in enumerate(zip(units, launch_on)):
            b = CaptureBuilder(pid=100 + run)
            for i, cu in enumerate(cus):
                b.device(0xD0 + i, compute_units=cu)
                b.queue(0x10 + i, 0xD0 + i)
            b.kernel(0x20, "conv")
            for i in used:
                seq = b.launch(0x10 + i, 0x20, (64,), (8,))
                b.times(seq, 10_000 + seq, 20_000 + seq)
            cap = tmp_path / f"cap{run}"
            cap.mkdir()
            b.write(cap / f"{100 + run}.clt")
            ingest_capture_dir(conn, insert_run(conn, command="app", status="ok"), cap)
    conn.close()
    import cltrace
    return cltrace.open(db)


def test_trace_compute_units(tmp_path):
    # two runs on 4-unit devices; an idle 16-unit device does not count
    with _trace(tmp_path / "a", [(4, 16), (4,)], [(0,), (0,)]) as t:
        assert t.compute_units() == 4 and t.compute_units(run_id=int(t.runs["run_id"].iloc[1])) == 4
    # launches on devices that differ: no single number
    with _trace(tmp_path / "b", [(4, 16)], [(0, 1)]) as t:
        assert t.compute_units() is None
    # 0: the query failed on the traced machine
    with _trace(tmp_path / "c", [(0,)], [(0,)]) as t:
        assert t.compute_units() is None
    with _trace(tmp_path / "d", [(2,)], [()]) as t:
        assert t.compute_units() is None                    # nothing launched


def test_trace_compute_units_by_run(tmp_path):
    # run 1 on a 4-unit device, run 2 on a 2-unit one (PoCL limited to 2 threads), run 3 on both
    with _trace(tmp_path / "a", [(4,), (2,), (4, 2)], [(0,), (0,), (0, 1)]) as t:
        runs = [int(r) for r in t.runs["run_id"]]
        assert t.compute_units_by_run() == {runs[0]: 4, runs[1]: 2, runs[2]: None}
        assert t.compute_units() is None
    with _trace(tmp_path / "b", [(0,)], [(0,)]) as t:
        assert list(t.compute_units_by_run().values()) == [None]          # the query failed: unknown


def test_an_unexplained_step_whose_open_place_holds_a_dispatch_change_names_it():
    """The demo's case: the step's pair (198->199) has identical dispatches, but its place is open over 197..200,
    which holds CLBlast's variant switch at 199->200; a step placed exactly, or explained, keeps its text."""
    from cltrace.analysis.attribution import open_places
    changes = pd.DataFrame({"change_id": [0], "from_value": [199.0], "to_value": [200.0],
                            "text": ["kernel variant switched: A -> B"]})
    steps = pd.DataFrame({"cause_kind": ["unexplained", "unexplained", "variant-switch"],
                          "cause": ["unexplained: identical dispatches on both sides", "unexplained: x", "switch"],
                          "location_from": [197.0, 150.0, 199.0], "location_to": [200.0, 151.0, 200.0],
                          "dispatch_change_ids": [[0], [], [0]]})
    out = open_places(steps, changes)
    assert list(out["cause"]) == [
        "unexplained: identical dispatches on both sides; but its place is open (197..200) and holds a dispatch "
        "change at 199->200: kernel variant switched: A -> B", "unexplained: x", "switch"]
    assert list(out["cause_kind"]) == list(steps["cause_kind"])
    assert open_places(steps, pd.DataFrame()) is steps
