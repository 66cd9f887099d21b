"""Every figure of the text report says what it is: each table and each list of numbers has a caption
(captions.py), the stair levels of "Best counts" and "Pareto" say why they differ from the medians beside them,
and the dispatch legend explains wg=? (the driver chose the local size)."""
import io
import re

import pandas as pd
import pytest
from trace_factory import sweep_trace

import cltrace
from cltrace.report.render import to_markdown, to_text
from cltrace.report.trace_report import build_report

WIDE = 5000      # no caption wrapped: each is one line


def _report(tmp_path, **kw):
    path = sweep_trace(str(tmp_path / "t.db"), str(tmp_path), channels=(1, 2, 3, 4), repeats=3, **kw)
    with cltrace.open(path) as t:
        doc = build_report(t, budget_ms=0.2)
    buf = io.StringIO()
    to_text(doc, buf, width=WIDE)
    return doc, buf.getvalue().splitlines()


def _section(lines, title):
    at = lines.index(f"== {title} ==")
    end = next((i for i in range(at + 1, len(lines)) if lines[i].startswith("== ")), len(lines))
    return lines[at + 1:end - 1]


LEVELS = ("the level of the stair (segment) the count lies in: the geometric mean of the per-process medians of "
          "every configuration between two significant steps, so it differs from that count's own median_ms in "
          "'Latency by channels'; counts without a verdict keep their own median")


def test_best_counts_and_pareto_say_their_figures_are_stair_levels(tmp_path):
    doc, lines = _report(tmp_path)
    best = _section(lines, "Best counts (stair right edges)")
    assert best[0] == ("  channels=2: 0.050 ms (right edge of a stair: the most channels at this latency, x2.00 slower "
                       "at channels=3)")
    assert best[-1] == ("  best count = the most channels at a stair's latency (the next count steps up); ms = "
                        + LEVELS)
    pareto = _section(lines, "Pareto frontier (channels vs latency: no other count is both larger and faster)")
    assert pareto == ["  2 (0.050 ms), 4 (0.100 ms)", "  N (ms) = a channels count and " + LEVELS]
    rec = _section(lines, "Recommendation (latency <= 0.2 ms)")
    assert rec[-1] == "  ms = stair level as in 'Best counts'; Nx = the unpruned count's level / this one's"
    steps = _section(lines, "Steps along channels (1)")
    assert steps[-1].startswith("  from -> to = the neighbouring channels values the step lies between; before_ms "
                                "and after_ms = the segment levels either side (geometric mean of the per-process "
                                "medians over all configurations between two steps, so not a median of the table "
                                "above); ratio = after/before level;")


def test_the_dispatch_legend_explains_a_driver_chosen_local_size(tmp_path):
    doc, lines = _report(tmp_path, local=None)
    cfg = _section(lines, "Latency by channels")
    assert cfg[2].split("|")[-1].strip() == "conv g=64 l=driver wg=?"
    assert cfg[-1].endswith("; dispatch = the kernels one sample ran, in order: g = global size, l = local size "
                            "('driver': the app passed NULL), wg = work-groups (? = unknown: the driver chose the "
                            "local size); 'k\u00d7 (...)' and '\u00d7n' = repeated")


def _named(caption: str) -> set:
    """Column names a caption explains: 'total/mean/median_ms' names total_ms, mean_ms and median_ms;
    'procs_min/max_ms' procs_min_ms and procs_max_ms."""
    names = set()
    for word in re.findall(r"[A-Za-z_/]+", caption):
        m = re.fullmatch(r"([a-z]+_)?([a-z]+(?:/[a-z]+)+)(_[a-z]+)?", word)
        if m:
            names |= {f"{m.group(1) or ''}{alt}{m.group(3) or ''}" for alt in m.group(2).split("/")}
        names.add(word)
    return names


@pytest.mark.parametrize("runs", ["few", "one"])
def test_every_number_column_has_a_caption(tmp_path, runs):
    if runs == "one":
        path = sweep_trace(str(tmp_path / "t.db"), str(tmp_path), channels=(1,), repeats=1)
    else:
        path = sweep_trace(str(tmp_path / "t.db"), str(tmp_path), channels=(1, 2, 3, 4), repeats=3)
    with cltrace.open(path) as t:
        doc = build_report(t)
    tables = [s for s in doc.sections if s.kind == "table" and s.table is not None and not s.table.empty]
    assert {s.key for s in tables} >= ({"runs", "kernels", "configs", "steps", "speedups"} if runs == "few"
                                       else {"kernels"})
    for s in tables:
        numeric = [c for c in s.table.columns if pd.api.types.is_numeric_dtype(s.table[c]) and c != "channels"]
        missing = [c for c in numeric if c not in _named(s.caption)]
        assert not missing, (s.key, missing, s.caption)


def test_markdown_keeps_the_captions_of_lists(tmp_path):
    doc, _ = _report(tmp_path)
    md = to_markdown(doc)
    assert "## Pareto frontier" in md
    assert f"*N (ms) = a channels count and {LEVELS}*" in md.replace("\\|", "|")
