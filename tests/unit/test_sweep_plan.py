import pytest

from cltrace.capture.sweep_plan import check_template, parse_param, plan, render_command
from cltrace.errors import UsageError


@pytest.mark.parametrize("text, values", [
    ("channels=4:7", ["4", "5", "6", "7"]),
    ("channels=8:2:3", ["8", "5", "2"]),
    ("channels=2:9:3", ["2", "5", "8"]),
    ("method=gemm,direct", ["gemm", "direct"]),
    ("x=5", ["5"]),
    ("c=-2:1", ["-2", "-1", "0", "1"]),
])
def test_parse_param(text, values):
    assert parse_param(text)[1] == values


@pytest.mark.parametrize("text, message", [
    ("channels", "-p expects NAME=VALUES (e.g. channels=64:128 or method=gemm,direct), got 'channels'"),
    ("1x=3", "-p expects NAME=VALUES (e.g. channels=64:128 or method=gemm,direct), got '1x=3'"),
    ("c=", "-p c= has no values"),
    ("c=1:x", "-p c=1:x: a range is a:b or a:b:step with whole numbers"),
    ("c=1:5:0", "-p c=1:5:0: the step of a range cannot be 0"),
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
