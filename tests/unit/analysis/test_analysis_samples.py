"""build_samples on hand-made trace tables."""
import json

import numpy as np
import pandas as pd

from cltrace.analysis.samples import build_samples, param_columns, split_periodic, to_number


def launch(run, seq, name="k", g=(64, 8, 1), loc=(8, 8, 1), dur=100, region=None, status="ok", proc=None):
    d = None if status != "ok" else dur
    return {"run_id": run, "process_id": proc or run, "seq": seq, "tid": 1, "kernel_name": name, "work_dim": 3,
            "global0": g[0], "global1": g[1], "global2": g[2],
            "local0": None if loc is None else loc[0], "local1": None if loc is None else loc[1],
            "local2": None if loc is None else loc[2], "driver_local": int(loc is None),
            "work_groups": None if loc is None else 8, "start_ns": seq * 1000, "end_ns": seq * 1000 + (d or 0),
            "duration_ns": d, "times_status": status, "region_id": region}


def runs(*ids, failed=()):
    return pd.DataFrame({"run_id": list(ids), "status": ["failed" if i in failed else "ok" for i in ids],
                         "exit_status": [1 if i in failed else 0 for i in ids]})


def region(rid, run, name="layer", tags=None):
    return {"region_id": rid, "run_id": run, "process_id": run, "tid": 1, "name": name,
            "tags": json.dumps(tags or {}), "begin_ns": 0, "end_ns": 1}


def test_region_samples_params_latency_signature_and_cold():
    L = pd.DataFrame([launch(1, 0, dur=1000, region=1), launch(1, 1, "t", dur=50, region=1),
                      launch(1, 2, dur=100, region=2), launch(1, 3, "t", dur=10, region=2)])
    R = pd.DataFrame([region(1, 1, tags={"channels": 96}), region(2, 1, tags={"channels": "96"})])
    P = pd.DataFrame({"method": ["gemm"], "channels": ["64"]}, index=pd.Index([1], name="run_id"))
    S = build_samples(L, runs(1), P, R)
    assert list(S["latency_ns"]) == [1050.0, 110.0]
    assert list(S["status"]) == ["cold", "ok"]
    assert list(S["channels"]) == [96, 96]          # region tags override run params, converted
    assert S["channels"].dtype.kind == "i"
    assert list(S["region"]) == ["layer", "layer"]
    assert S["signature_hash"].nunique() == 1 and len(S["signature_hash"][0]) == 8
    assert S["signature"][0] == (("k", "64x8x1", "8x8x1", 8), ("t", "64x8x1", "8x8x1", 8))
    assert S["span_ns"][1] == 3010 - 2000
    assert set(param_columns(S)) == {"method", "channels", "region"}


def test_driver_local_and_work_dim():
    L = pd.DataFrame([launch(1, 0, g=(56, 56, 1), loc=None, region=1)])
    L["work_dim"] = 2
    S = build_samples(L, runs(1), None, pd.DataFrame([region(1, 1)]))
    assert S["signature"][0] == (("k", "56x56", "driver", None),)


def test_missing_device_times_excluded_with_count():
    L = pd.DataFrame([launch(1, 0, region=1), launch(1, 1, region=2), launch(1, 2, region=3, status="missing")])
    S = build_samples(L, runs(1), None, pd.DataFrame([region(i, 1) for i in (1, 2, 3)]))
    assert list(S["status"]) == ["cold", "ok", "untimed"]
    assert np.isnan(S["latency_ns"][2])
    assert any("missing device times" in n for n in S.attrs["notes"])


def test_failed_run_listed_and_excluded():
    L = pd.DataFrame([launch(1, 0, region=1), launch(2, 0, region=2)])
    S = build_samples(L, runs(1, 2, 3, failed=(2, 3)), None, pd.DataFrame([region(1, 1), region(2, 2)]))
    assert S.attrs["failed_runs"] == [2, 3]
    assert list(S.loc[S["run_id"] != 1, "status"]) == ["failed-run", "failed-run"]   # run 3 had no launches


def test_run_level_periodic_split_and_single():
    seq = [launch(1, i, name=n) for i, n in enumerate(["a", "b"] * 3)] + [launch(2, 0, name="a")]
    S = build_samples(pd.DataFrame(seq), runs(1, 2), pd.DataFrame({"run_id": [1, 2], "c": ["1", "2"]}), None)
    s1 = S[S["run_id"] == 1]
    assert len(s1) == 3 and list(s1["status"]) == ["cold", "ok", "ok"] and list(s1["repeat"]) == [0, 1, 2]
    assert list(S.loc[S["run_id"] == 2, "status"]) == ["cold"]
    assert "region" not in S.columns
    assert any("split into samples" in n for n in S.attrs["notes"])
    assert any("one sample each" in n for n in S.attrs["notes"])


def test_split_periodic():
    assert split_periodic([1, 1, 1]) == 1
    assert split_periodic([1, 2, 1, 2]) == 2
    assert split_periodic([1, 2, 1]) == 3
    assert split_periodic([]) == 0


def test_to_number():
    assert to_number(pd.Series(["1", " 2 "])).tolist() == [1, 2]
    assert to_number(pd.Series(["1.5", None])).tolist()[0] == 1.5
    assert to_number(pd.Series(["gemm", "1"])).tolist() == ["gemm", "1"]


def test_no_launches():
    S = build_samples(pd.DataFrame(), runs(1), None, None)
    assert len(S) == 0
