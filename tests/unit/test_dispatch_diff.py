import pandas as pd

from cltrace.analysis.dispatch_diff import dispatch_list, match_runs, side_by_side


def _launches(run_id, kernels, samples=3):
    rows, seq = [], 0
    for s in range(samples):
        for k, g in kernels:
            seq += 1
            rows.append({"run_id": run_id, "process_id": run_id, "seq": seq, "region_id": s, "kernel_name": k,
                         "work_dim": 1, "global0": g, "global1": None, "global2": None, "local0": 4,
                         "local1": None, "local2": None, "driver_local": 0, "work_groups": g // 4,
                         "duration_ns": 1e6 * (2 if s == 0 else 1)})
    return pd.DataFrame(rows)


def test_dispatch_list_drops_the_cold_first_sample():
    table, info = dispatch_list(_launches(1, [("im2col", 64), ("gemm_v4", 92)]))
    assert list(table["kernel"]) == ["im2col", "gemm_v4"]
    assert info == {"samples": 2, "signatures": 1, "cold_dropped": 1}
    assert list(table["median_ms"]) == [1.0, 1.0]


def test_side_by_side_shows_the_extra_dispatch():
    a, _ = dispatch_list(_launches(1, [("im2col", 64), ("gemm_v4", 92)]))
    b, _ = dispatch_list(_launches(2, [("im2col", 64), ("gemm_v4", 92), ("gemm_tail", 4)]))
    t = side_by_side(a, b)
    assert list(t["change"]) == ["", "", "+"]
    assert t.iloc[2]["B kernel"] == "gemm_tail" and t.iloc[2]["A kernel"] == ""
    c, _ = dispatch_list(_launches(3, [("im2col", 64), ("gemm_v4", 96)]))
    assert list(side_by_side(a, c)["change"]) == ["", "~"]


def test_match_runs():
    params = pd.DataFrame({"channels": ["92", "93", "92"], "method": ["gemm", "gemm", "direct"]},
                          index=pd.Index([1, 2, 3], name="run_id"))
    assert match_runs(params, {"channels": "92"}) == [1, 3]
    assert match_runs(params, {"channels": "92", "method": "gemm"}) == [1]
    assert match_runs(params, {}) == [1, 2, 3]
