"""build_samples vectorised: the same samples as the per-launch implementation it replaced
(_samples_reference), and compact signatures on big regions.  No timing assertions here."""
import hashlib
import json
import re

import numpy as np
import pandas as pd
import pytest

import _samples_reference as ref
from cltrace.analysis.samples import build_samples, signature_hash, signature_text, split_periodic

KERNELS = ["gemm", "conv", "relu", "pool", "bias", "norm", "copy", "fill"]


# -- random trace tables -------------------------------------------------------------------------------

def _random_tables(rng, nullable=False):
    """launches / runs / params / regions of a few runs: some with regions (and launches outside them), some
    without (periodic and aperiodic dispatch sequences), several processes, untimed launches, NaN sizes."""
    n_runs = int(rng.integers(2, 6))
    launches, regions, run_rows = [], [], []
    region_id = 1
    shapes = []
    for _ in range(6):
        wd = rng.choice([1, 2, 3, np.nan])
        shapes.append({"work_dim": wd, "global0": rng.choice([64, 128, 256]), "global1": rng.choice([1, 8, np.nan]),
                       "global2": rng.choice([1, 4]),
                       "local0": rng.choice([8, 16, np.nan]), "local1": rng.choice([1, 2, np.nan]),
                       "local2": rng.choice([1, np.nan]), "driver_local": rng.choice([0, 1, np.nan]),
                       "work_groups": rng.choice([4, 8, 16, np.nan])})
    seq = 0
    for run in range(1, n_runs + 1):
        status = "ok" if rng.random() < 0.8 else "failed"
        run_rows.append({"run_id": run, "status": status})
        with_regions = rng.random() < 0.5
        for proc in range(run * 10, run * 10 + int(rng.integers(1, 4))):
            if with_regions:
                n_reg = int(rng.integers(1, 5))
                for r in range(n_reg):
                    tags = {"channels": str(int(rng.integers(1, 4)) * 16), "v": "x" if rng.random() < 0.2 else "1"}
                    if rng.random() < 0.9:       # else: launches name a region the regions table lacks
                        regions.append({"region_id": region_id, "run_id": run, "process_id": proc, "tid": 1,
                                        "name": f"layer{r % 2}", "tags": json.dumps(tags), "begin_ns": 0,
                                        "end_ns": 1})
                    seqs = [(region_id, k) for k in rng.integers(0, 6, int(rng.integers(1, 90)))]
                    if rng.random() < 0.5:       # launches outside any region
                        seqs += [(None, k) for k in rng.integers(0, 6, int(rng.integers(1, 5)))]
                    for rid, k in seqs:
                        launches.append(_launch(rng, run, proc, seq, k, shapes, rid))
                        seq += 1
                    region_id += 1
            else:
                if rng.random() < 0.6:          # periodic
                    period = list(rng.integers(0, 6, int(rng.integers(1, 6))))
                    ks = period * int(rng.integers(1, 8))
                else:
                    ks = list(rng.integers(0, 6, int(rng.integers(1, 40))))
                same_wg = rng.random() < 0.7
                for k in ks:
                    launches.append(_launch(rng, run, proc, seq, k, shapes, None, vary_wg=not same_wg))
                    seq += 1
    if rng.random() < 0.3:                       # a run without launches
        run_rows.append({"run_id": n_runs + 1, "status": "failed" if rng.random() < 0.5 else "ok"})
    L = pd.DataFrame(launches)
    if rng.random() < 0.5:                       # rows out of (process, seq) order
        L = L.sample(frac=1.0, random_state=int(rng.integers(1 << 30))).reset_index(drop=True)
    if nullable:                                 # dtypes as Trace.query gives them
        for c in ("work_dim", "global0", "global1", "global2", "local0", "local1", "local2", "work_groups",
                  "start_ns", "end_ns", "duration_ns", "region_id"):
            L[c] = L[c].astype("Int64")
        L["driver_local"] = L["driver_local"].fillna(0).astype("int64")
        L["kernel_name"] = L["kernel_name"].astype("category")
        L["times_status"] = L["times_status"].fillna("ok").astype("category")
    runs = pd.DataFrame(run_rows)
    params = pd.DataFrame({"run_id": runs["run_id"], "method": rng.choice(["gemm", "wino"], len(runs)),
                           "channels": [str(c) for c in rng.integers(1, 5, len(runs)) * 8]})
    R = pd.DataFrame(regions) if regions else None
    return L, runs, params, R


def _launch(rng, run, proc, seq, k, shapes, region, vary_wg=False):
    s = dict(shapes[k])
    if vary_wg and rng.random() < 0.3:
        s["work_groups"] = rng.choice([2, 32])
    u = rng.random()
    status = "missing" if u < 0.01 else None if u < 0.05 else "ok"
    dur = None if (status == "missing" or rng.random() < 0.01) else float(rng.integers(100, 10_000))
    start = seq * 10_000 if rng.random() < 0.97 else None
    return {"run_id": run, "process_id": proc, "seq": seq, "tid": 1, "kernel_name": KERNELS[k], **s,
            "start_ns": start, "end_ns": None if start is None else start + (dur or 0), "duration_ns": dur,
            "times_status": status, "region_id": region}


def _expand(text):
    """The entry texts that a (possibly compressed) signature text stands for."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        cur += ch
        if depth == 0 and cur.endswith("; "):
            parts.append(cur[:-2])
            cur = ""
    parts.append(cur)
    out = []
    for p in parts:
        m = re.fullmatch(r"(\d+)× \((.*)\)", p)
        if m:
            out += _expand(m.group(2)) * int(m.group(1))
            continue
        m = re.fullmatch(r"(.*) ×(\d+)", p)
        out += [m.group(1)] * int(m.group(2)) if m else [p]
    return out


def _entry(e):
    k, g, loc, wg = e
    return f"{k} g={g} l={loc} wg={'?' if wg is None else wg}"


def _compare(L, runs, params, R):
    got = build_samples(L, runs, params, R)
    want = ref.build_samples(L, runs, params, R)
    assert got.attrs == want.attrs
    long = (want["n_launches"] > 64).to_numpy()
    for c in ("signature_text", "signature_hash"):      # long signatures print compressed now
        assert got[c][~long].tolist() == want[c][~long].tolist()
    for text, sig, h in zip(got["signature_text"][long], got["signature"][long], got["signature_hash"][long]):
        assert _expand(text) == [_entry(e) for e in sig]
        assert h == hashlib.sha1(text.encode()).hexdigest()[:8] == signature_hash(sig)
        assert text == signature_text(sig)
    drop = ["signature_text", "signature_hash"]
    pd.testing.assert_frame_equal(got.drop(columns=drop), want.drop(columns=drop))
    if "kernel_ns" in want.columns:       # kernels in order of first launch (dicts compare without order)
        assert [list(d) if isinstance(d, dict) else None for d in got["kernel_ns"]] == \
            [list(d) if isinstance(d, dict) else None for d in want["kernel_ns"]]
    return got


@pytest.mark.parametrize("seed", range(40))
def test_same_samples_as_reference(seed):
    rng = np.random.default_rng(seed)
    _compare(*_random_tables(rng, nullable=seed % 2 == 1))


def test_same_samples_as_reference_short_signatures_and_text():
    """Every sample short: the whole frame, signature text and hash included, equals the reference."""
    rng = np.random.default_rng(123)
    seen = 0
    for _ in range(20):
        L, runs, params, R = _random_tables(rng)
        want = ref.build_samples(L, runs, params, R)
        if (want["n_launches"] > 64).any():
            continue
        seen += 1
        got = build_samples(L, runs, params, R)
        pd.testing.assert_frame_equal(got, want)
        assert got.attrs == want.attrs
    assert seen


def test_same_samples_as_reference_edge_tables():
    launch = dict(run_id=1, process_id=1, seq=0, kernel_name="k", work_dim=1, global0=8, local0=8,
                  driver_local=0, work_groups=1, start_ns=0, end_ns=5, duration_ns=5, times_status="ok")
    runs = pd.DataFrame({"run_id": [1, 2], "status": ["ok", "failed"]})
    cases = [
        pd.DataFrame([launch]),                                                   # one launch
        pd.DataFrame([launch, {**launch, "seq": 1}, {**launch, "seq": 2, "process_id": np.nan}]),
        pd.DataFrame([{**launch, "run_id": np.nan}, {**launch, "seq": 1}]),          # a launch without run
        pd.DataFrame([{k: v for k, v in launch.items() if k not in ("duration_ns", "times_status")}]),
        pd.DataFrame([{**launch, "seq": s, "kernel_name": None if s % 3 else "k"} for s in range(9)]),
    ]
    for L in cases:
        _compare(L, runs, None, None)
    R = pd.DataFrame([{"region_id": 5, "run_id": 1, "process_id": 1, "name": "n", "tags": '{"c": "1"}'}])
    only_outside = pd.DataFrame([{**launch, "region_id": np.nan}])
    _compare(only_outside, runs, None, R)
    _compare(pd.DataFrame([{**launch, "region_id": 5.0}, {**launch, "seq": 1, "region_id": np.nan}]), runs, None, R)


# -- big regions ---------------------------------------------------------------------------------------

def _two_regions(n, warmup=0):
    """n launches of 8 kernels (one shape each), in order, half in each of two regions; ``warmup`` extra
    launches of another kernel open each region."""
    per = n // 2
    k = np.concatenate([np.full(warmup, 8), np.arange(per - warmup) % 8])
    k = np.concatenate([k, k])
    names = np.array(KERNELS + ["upload"], dtype=object)
    seq = np.arange(n, dtype=np.int64)
    dur = 1000 + 10 * (k % 8) + (seq % 3)
    L = pd.DataFrame({
        "launch_id": seq + 1, "run_id": np.ones(n, np.int64), "process_id": np.ones(n, np.int64), "seq": seq,
        "kernel_name": pd.Categorical.from_codes(k, categories=names),
        "work_dim": pd.array(np.full(n, 2), dtype="Int64"),
        "global0": pd.array(64 * (1 + k), dtype="Int64"), "global1": pd.array(np.full(n, 16), dtype="Int64"),
        "global2": pd.array([None] * n, dtype="Int64"),
        "local0": pd.array(np.full(n, 16), dtype="Int64"), "local1": pd.array(np.full(n, 4), dtype="Int64"),
        "local2": pd.array([None] * n, dtype="Int64"), "driver_local": np.zeros(n, np.int64),
        "work_groups": pd.array(4 * (1 + k), dtype="Int64"),
        "start_ns": pd.array(seq * 2000, dtype="Int64"), "end_ns": pd.array(seq * 2000 + dur, dtype="Int64"),
        "duration_ns": pd.array(dur, dtype="Int64"),
        "times_status": pd.Categorical.from_codes(np.zeros(n, np.int8), categories=["ok"]),
        "region_id": pd.array(np.repeat([1, 2], [per, n - per]), dtype="Int64"),
    })
    regions = pd.DataFrame({"region_id": [1, 2], "run_id": [1, 1], "process_id": [1, 1], "tid": [1, 1],
                            "name": ["layer", "layer"], "tags": ['{"channels": "64"}', '{"channels": "65"}'],
                            "begin_ns": [0, 0], "end_ns": [1, 1]})
    runs = pd.DataFrame({"run_id": [1], "status": ["ok"]})
    return L, runs, regions, dur


def test_big_regions_have_short_signature_text():
    n = 200_000
    L, runs, regions, dur = _two_regions(n)
    S = build_samples(L, runs, None, regions)
    assert len(S) == 2 and list(S["n_launches"]) == [n // 2, n // 2]
    assert list(S["latency_ns"]) == [float(dur[:n // 2].sum()), float(dur[n // 2:].sum())]
    assert list(S["channels"]) == [64, 65] and list(S["status"]) == ["cold", "ok"]
    for text, sig in zip(S["signature_text"], S["signature"]):
        assert len(text) < 500 and "×" in text
        assert text.startswith(f"{n // 2 // 8}× (gemm g=64x16 l=16x4 wg=4; conv g=128x16 l=16x4 wg=8;")
        assert len(sig) == n // 2
    assert S["signature_hash"].nunique() == 1
    assert S["kernel_ns"][1] == {KERNELS[i]: float(dur[n // 2:][np.arange(n // 2) % 8 == i].sum())
                                 for i in range(8)}


def test_big_regions_with_warmup_have_short_signature_text():
    n = 200_000
    L, runs, regions, dur = _two_regions(n, warmup=3)
    S = build_samples(L, runs, None, regions)
    assert list(S["n_launches"]) == [n // 2, n // 2]
    for text, sig in zip(S["signature_text"], S["signature"]):
        assert len(text) < 500 and "×" in text
        assert text.startswith("upload g=576x16 l=16x4 wg=36 ×3; ")
        assert _expand(text) == [_entry(e) for e in sig]


# -- signature text -----------------------------------------------------------------------------------

def _sig(kernels):
    return tuple((k, "64", "8", 8) for k in kernels)


def test_signature_text_up_to_64_entries_unchanged():
    sig = _sig(["a", "b"] * 32)
    assert signature_text(sig) == "; ".join(_entry(e) for e in sig)
    assert signature_hash(sig) == ref.signature_hash(sig)


def test_signature_text_compressed_forms():
    a, b, c = (_entry(e) for e in _sig("abc"))
    assert signature_text(_sig(["a", "b"] * 40)) == f"40× ({a}; {b})"
    assert signature_text(_sig(["a"] * 100)) == f"100× ({a})"
    assert signature_text(_sig(["c"] + ["a"] * 100)) == f"{c}; {a} ×100"
    assert signature_text(_sig(["c"] + ["a", "b"] * 50 + ["c"])) == f"{c}; 50× ({a}; {b}); {c}"
    for sig in (_sig(["c"] + ["a", "b"] * 50 + ["c"]), _sig(list("abcabcaab") * 9 + ["c"] * 30),
                _sig([chr(97 + i % 7) for i in range(200)] + ["a"])):
        assert _expand(signature_text(sig)) == [_entry(e) for e in sig]


def test_split_periodic_lists_and_arrays():
    assert split_periodic([("a", 1), ("b", 2)] * 3) == 2
    assert split_periodic([[1], [2], [1], [2]]) == 2          # unhashable keys
    assert split_periodic(np.array([3, 1, 3, 1, 3, 1])) == 2
    assert split_periodic(np.array([1, 2, 1])) == 3
    assert split_periodic(np.array([], dtype=np.int64)) == 0


def test_signature_text_of_lists():
    sig = _sig(["c"] + ["a", "b"] * 50)
    assert signature_text([list(e) for e in sig]) == signature_text(sig)
