"""`cltrace report` reads the launches in chunks (report/launch_stream.py): whatever the chunk size, the report
is the one the whole read gives, field by field, and its samples are analysis.samples.build_samples'."""
import io
import json

import numpy as np
import pandas as pd
import pytest
from report_traces import make_traces

import cltrace
from cltrace.analysis.samples import finish_samples
from cltrace.analysis.signatures import RepeatedSignature
from cltrace.report import launch_stream
from cltrace.report.render import render
from cltrace.report.trace_report import build_report


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    return make_traces(tmp_path_factory.mktemp("chunks"))


def _report(path, **kw):
    buf = io.StringIO()
    with cltrace.open(path) as t:
        doc = build_report(t, **kw)
        render(doc, "json", buf)
        text = io.StringIO()
        render(doc, "text", text)
    return json.loads(buf.getvalue()), text.getvalue()


@pytest.mark.parametrize("name", ["sweep", "failed", "many_runs", "periodic", "threads", "untimed"])
@pytest.mark.parametrize("chunk", [1, 7, 100])
def test_report_is_the_same_for_any_chunk_size(traces, name, chunk, monkeypatch):
    whole = _report(traces[name])
    monkeypatch.setattr(launch_stream, "CHUNK", chunk)
    monkeypatch.setattr(launch_stream.read_launches, "__defaults__", (chunk,))
    assert _report(traces[name]) == whole
    assert _report(traces[name], run=2) == (monkeypatch.undo() or _report(traces[name], run=2))


def _stream_samples(t, chunk):
    got = launch_stream.read_launches(t, None, True, False, chunk=chunk)
    return finish_samples(got.sample_cols, got.sample_counts, t.runs, t.params)


@pytest.mark.parametrize("name", ["sweep", "in_progress", "failed", "periodic", "threads", "untimed"])
def test_samples_equal_build_samples(traces, name):
    with cltrace.open(traces[name]) as t:
        want = t.samples()
        for chunk in (3, 1 << 20):
            got = _stream_samples(t, chunk)
            pd.testing.assert_frame_equal(got, want)
            assert got.attrs == want.attrs


def test_a_long_periodic_region_keeps_its_period_not_its_launches(traces):
    with cltrace.open(traces["long_region"]) as t:
        want = t.samples()
        got = _stream_samples(t, 50_000)
    sig = got["signature"].tolist()
    assert all(isinstance(s, RepeatedSignature) for s in sig)
    assert [len(s) for s in sig] == [len(s) for s in want["signature"]]
    assert sig[0].times == 70_000 // 4 and len(sig[0].period) == 4 and len(sig[2].period) == 5
    for a, b in zip(sig, want["signature"]):
        assert a == b and tuple(a) == b
    pd.testing.assert_frame_equal(got.drop(columns="signature"), want.drop(columns="signature"))
    # the change between the two counts is found from the periods, as from the whole tuples (kernel_0..4 are
    # one family, kernel_#, with 70000 launches on both sides: the fifth kernel only renames some of them)
    doc, _ = _report(traces["long_region"])
    changes = doc["staircase"]["dispatch_changes"]
    assert [(c["kind"], c["text"]) for c in changes] == [
        ("routine-growth", "routine growth: kernel_# name kernel_0 -> kernel_4 (at channels 2 -> 3; it follows "
                           "channels)")]


def test_median_of_counted_durations_is_numpys():
    counts = launch_stream.DurationCounts()
    rng = np.random.default_rng(3)
    g = rng.integers(0, 5, 10_000)
    v = rng.integers(1000, 1100, 10_000)
    counts.add(g[:4000], v[:4000])
    counts.add(g[4000:], v[4000:])
    med = counts.medians_ms(np.array([0, 1, 1, 2, 3]), 5)
    label = np.array([0, 1, 1, 2, 3])[g]
    for j in range(4):
        assert med[j] == np.median(v[label == j] / 1e6)
    assert np.isnan(med[4])
