"""The documented region API, called exactly as users call it, whatever was imported first."""
import subprocess
import sys

import pytest

LOOP = """
import cltrace
for i in range(3):                                   # the second pass failed: 'module' object is not callable
    with cltrace.region("L16", channels=92) as r:
        pass
    assert r.name == "L16" and r.tags == {"channels": 92}, r

    @cltrace.region("pre", step=i)
    def f():
        return 7
    assert f() == 7
print("ok")
"""

ORDERS = {
    "plain": "",
    "submodule first": "import cltrace.region\n",
    "from-import first": "from cltrace import region\nassert region('x').name == 'x'\n",
    "function from the submodule": "from cltrace.region import region\nassert region('x').name == 'x'\n",
    "open first": "import cltrace\ncltrace.__getattr__('region')\n",
}


@pytest.mark.parametrize("order", sorted(ORDERS))
def test_region_works_in_a_loop_whatever_was_imported_first(order):
    p = subprocess.run([sys.executable, "-c", ORDERS[order] + LOOP], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr


def test_region_module_is_the_documented_callable():
    import cltrace
    import cltrace.region
    assert callable(cltrace.region)
    r = cltrace.region("L", a=1)
    assert type(r).__name__ == "region" and repr(r) == "region('L', a=1)"
    assert cltrace.region.region is type(r)         # the class stays reachable as before
