import pytest

from cltrace.sweep.plan import (check_template, configurations, match_configs, numeric_params, parse_param,
                                        plan, render_command)
from cltrace.errors import UsageError


@pytest.mark.parametrize("text, values", [
    ("channels=4:7", ["4", "5", "6", "7"]),
    ("channels=8:2:3", ["8", "5", "2"]),
    ("channels=2:9:3", ["2", "5", "8"]),
    ("method=gemm,direct", ["gemm", "direct"]),
    ("x=5", ["5"]),
    ("c=-2:1", ["-2", "-1", "0", "1"]),
    ("c=10:5:-2", ["10", "8", "6"]),
    ("c=3:3:-1", ["3"]),
])
def test_parse_param(text, values):
    assert parse_param(text)[1] == values


@pytest.mark.parametrize("text, message", [
    ("channels", "-p expects NAME=VALUES (e.g. channels=64:128 or method=gemm,direct), got 'channels'"),
    ("1x=3", "-p expects NAME=VALUES (e.g. channels=64:128 or method=gemm,direct), got '1x=3'"),
    ("c=", "-p c= has no values"),
    ("c=1:x", "-p c=1:x: a range is a:b or a:b:step with whole numbers"),
    ("c=1:5:0", "-p c=1:5:0: the step of a range cannot be 0"),
    ("c=5:10:-1", "-p c=5:10:-1: the step -1 counts down but 5:10 counts up; write c=5:10:1 to count up or "
                  "c=10:5:1 to count down"),
    ("c=a,,b", "-p c=a,,b: empty value in the list"),
    ("c=a,a", "-p c=a,a: a value appears twice"),
])
def test_parse_param_errors(text, message):
    with pytest.raises(UsageError) as e:
        parse_param(text)
    assert str(e.value) == message


def test_plan_orders():
    params = [("c", ["1", "2"]), ("m", ["a", "b"])]
    inter = plan(params, 2, "interleave")
    assert [r.label() for r in inter[:4]] == ["c=1 m=a", "c=1 m=b", "c=2 m=a", "c=2 m=b"]
    assert [r.repeat for r in inter] == [0] * 4 + [1] * 4
    seq = plan(params, 2, "sequential")
    assert [r.label() for r in seq[:2]] == ["c=1 m=a", "c=1 m=a"]
    shuf = plan(params, 3, "shuffle", seed=1)
    assert sorted(r.label() for r in shuf) == sorted(r.label() for r in inter + inter[:4])
    assert plan(params, 3, "shuffle", seed=1) == shuf
    assert [r.index for r in shuf] == list(range(12))


def test_plan_errors():
    with pytest.raises(UsageError, match="--repeat must be at least 1, not 0"):
        plan([("c", ["1"])], 0)
    with pytest.raises(UsageError, match="a parameter is given twice with -p"):
        plan([("c", ["1"]), ("c", ["2"])], 1)


def test_template():
    assert check_template(["prog", "--n={c}", "{m}x"], ["c", "m", "z"]) == ["z"]
    with pytest.raises(UsageError) as e:
        check_template(["prog", "{q}"], ["c"])
    assert str(e.value) == "the command uses {q}, which is not a parameter (parameters: c)"
    assert render_command(["p", "--c={c}", "{json: 1}", "{c}{m}"], {"c": "4", "m": "g"}) == \
        ["p", "--c=4", "{json: 1}", "4g"]


def test_numeric_params():
    assert numeric_params([("c", ["1", "2"]), ("m", ["a", "b"]), ("x", ["3"]), ("f", ["0.5", "1e3"]),
                           ("n", ["1", "nan"])]) == ["c", "f"]


def test_match_configs_by_string_form_then_number():
    configs = configurations([("c", ["92", "96", "1.50"]), ("m", ["gemm", "direct"])])
    found, unknown = match_configs([{"c": 96, "m": "direct"}, {"c": 92.0, "m": "gemm"}, {"c": 1.5, "m": "gemm"},
                                    {"c": 96, "m": "direct"}, {"c": 7, "m": "gemm"}, {"region": "x"}], configs)
    assert found == [(("c", "96"), ("m", "direct")), (("c", "92"), ("m", "gemm")), (("c", "1.50"), ("m", "gemm"))]
    assert unknown == 2
    # a key that is not a swept parameter is ignored; a swept one left out matches every value
    found, unknown = match_configs([{"c": 92, "region": "conv"}], configs)
    assert found == [(("c", "92"), ("m", "gemm")), (("c", "92"), ("m", "direct"))] and unknown == 0
    assert match_configs([{"m": True}], configurations([("m", ["True", "1"])])) == ([(("m", "True"),)], 0)


def test_resume_takes_the_stored_order_seed_and_runs_and_a_new_sweep_draws_a_seed():
    from types import SimpleNamespace

    from cltrace.sweep.plan import resume_or_plan
    made = []

    def make(order, seed):
        made.append((order, seed))
        return ["planned"]
    stored = SimpleNamespace(order="interleave", seed=7, runs=["stored"])
    assert resume_or_plan(stored, "shuffle", None, make) == ("interleave", 7, ["stored"]) and made == []
    assert resume_or_plan(None, "shuffle", 5, make) == ("shuffle", 5, ["planned"]) and made == [("shuffle", 5)]
    order, seed, _ = resume_or_plan(None, "shuffle", None, make)
    assert order == "shuffle" and 1 <= seed < 2**31 and made[-1] == ("shuffle", seed)
    assert resume_or_plan(None, "sequential", None, make)[1] == 0
