import numpy as np
import pandas as pd
import pytest

from cltrace.analysis.kernel_stats import kernel_table, run_summaries


def launches(rows):
    base = {"process_id": 1, "work_dim": 1, "global1": None, "global2": None, "local1": None, "local2": None,
            "start_ns": 0, "end_ns": 0}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_kernel_table_per_run_and_overall():
    L = launches([
        {"run_id": 1, "kernel_name": "a", "global0": 64, "local0": 8, "driver_local": 0, "duration_ns": 1e6},
        {"run_id": 1, "kernel_name": "a", "global0": 64, "local0": 8, "driver_local": 0, "duration_ns": 3e6},
        {"run_id": 1, "kernel_name": "b", "global0": 64, "local0": None, "driver_local": 1, "duration_ns": np.nan},
        {"run_id": 2, "kernel_name": "a", "global0": 64, "local0": 8, "driver_local": 0, "duration_ns": 2e6},
    ])
    t = kernel_table(L)
    r1a = t[(t.run_id == 1) & (t.kernel == "a")].iloc[0]
    assert (r1a["global"], r1a["local"], r1a["calls"], r1a["timed"]) == ("64", "8", 2, 2)
    assert r1a["total_ms"] == 4.0 and r1a["median_ms"] == 2.0 and r1a["share"] == 1.0
    r1b = t[(t.run_id == 1) & (t.kernel == "b")].iloc[0]
    assert r1b["local"] == "driver" and r1b["timed"] == 0
    overall = kernel_table(L, per_run=False)
    a = overall[overall.kernel == "a"].iloc[0]
    assert a["runs"] == 2 and a["calls"] == 3 and a["total_ms"] == 6.0
    assert kernel_table(L.iloc[0:0]).empty


def test_run_summary_explains_zero_launches():
    runs = pd.DataFrame([{"run_id": 1, "command": "x", "status": "ok", "exit_status": 0, "mode": "layer",
                          "started_at": "", "wall_s": 0.1}])
    empty = pd.DataFrame(columns=["run_id", "kernel_name", "duration_ns", "start_ns", "end_ns"])
    s = run_summaries(runs, empty, pd.DataFrame(columns=["run_id"]), pd.DataFrame(columns=["run_id", "name"]),
                      pd.DataFrame(columns=["run_id", "key", "value"]))
    assert s[0]["launches"] == 0
    assert s[0]["why_no_launches"].startswith("no process loaded OpenCL through the shim")


def test_unknown_kernel_in_a_category_column():
    L = launches([{"run_id": 1, "kernel_name": None, "global0": 8, "local0": 8, "driver_local": 0,
                   "duration_ns": 1e6}])
    L["kernel_name"] = L["kernel_name"].astype("category")
    assert kernel_table(L)["kernel"].tolist() == ["?"]


@pytest.mark.parametrize("m", [5, 300])      # the masked-median branch and the pandas one
def test_label_stats_match_pandas_groupby(m):
    from cltrace.analysis.kernel_stats import _label_stats
    rng = np.random.default_rng(m)
    label = rng.integers(0, m, 20_000)
    label[label == 3] = 4                         # a label without rows
    values = rng.random(20_000) * 1e3
    values[rng.random(20_000) < 0.1] = np.nan
    values[label == 2] = np.nan                   # a label with rows but no values
    got = _label_stats(label, values, m)
    want = pd.Series(values).groupby(label).agg(["size", "count", "sum", "mean", "median", "min", "max"]) \
        .reindex(range(m))
    want["size"] = want["size"].fillna(0)
    want["count"] = want["count"].fillna(0)
    want["sum"] = want["sum"].fillna(0.0)
    for c in want.columns:
        np.testing.assert_allclose(np.asarray(got[c], float), want[c].to_numpy(float), rtol=1e-12, err_msg=c)
