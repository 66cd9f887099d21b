"""prepare.py, the one preparing stage: parameters typed, the swept one chosen or refused with an exact message,
failed runs placed or left out with a note, the grouping decided."""
import pandas as pd
import pytest

from cltrace.analysis.prepare import prepare


def _samples(rows):
    base = {"run_id": 1, "process_id": 1, "latency_ns": 100.0, "status": "ok", "signature": (),
            "signature_hash": "h", "signature_text": "k"}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_parameters_typed_and_the_sweep_chosen():
    S = _samples([{"channels": str(c), "method": m, "repeat": "0"} for c in (1, 2, 3) for m in ("a", "b")])
    p = prepare(S)
    assert p.param == "channels" and p.samples["channels"].dtype == "int64"
    assert p.params == ["channels", "method"] and p.by == ["method"] and p.key == ["method", "channels"]
    assert "sweep parameter chosen automatically: channels" in p.notes
    assert prepare(S, by=lambda params, param: list(params)).key == ["method", "channels"]


def test_a_missing_or_text_parameter_is_refused_exactly():
    S = _samples([{"channels": c, "method": m} for c in (1, 2) for m in ("a", "b")])
    with pytest.raises(ValueError) as e:
        prepare(S, "chanels")
    assert str(e.value) == "no parameter named 'chanels'; parameters are: channels, method"
    with pytest.raises(ValueError) as e:
        prepare(S, "method")
    assert str(e.value) == "parameter 'method' is not numeric (values like 'a')"


def test_failed_runs_are_placed_or_left_out_with_a_note():
    rows = [{"run_id": r, "channels": c, "method": "a", "region": "L"} for r, c in ((1, 1), (2, 2))]
    rows.append({"run_id": 3, "channels": 3, "method": "a", "region": None, "status": "failed-run",
                 "latency_ns": float("nan")})
    p = prepare(_samples(rows))
    assert p.samples["region"].tolist() == ["L", "L", "L"]          # the value every other sample agrees on
    rows += [{"run_id": 4, "channels": 1, "method": "b", "region": "L"},
             {"run_id": 5, "channels": 4, "method": None, "status": "failed-run", "latency_ns": float("nan")}]
    p = prepare(_samples(rows))
    assert p.by == ["method"] and 5 not in p.samples["run_id"].tolist() and 5 in p.run_ids.tolist()
    assert "1 failed run(s) without launches carry no method: left out of the configurations (run_id 5)" in p.notes
