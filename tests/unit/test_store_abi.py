"""native/cltrace_store.h is the one declaration of the store's C/Python boundary: clt_launch_src, the library's
functions, the launch_rows.status codes and the dispatches.api names. The C code compiles it, cffi reads it
(store/abi.py). SQL cannot include a header, so these tests hold schema.sql's `launches` view and the schema
upgrade's CASE to it, and the header's codes to the capture format's."""
import os
import re
import shutil
import sqlite3
import subprocess

import pytest

from cltrace.capture.format import K
from cltrace.native import NATIVE_DIR, SOURCE_NATIVE_DIR, shipped_file
from cltrace.store import abi, fast, migrate
from cltrace.store.db import SCHEMA_PATH, create_db

HEADER = os.path.join(SOURCE_NATIVE_DIR, abi.HEADER_NAME)


def test_the_names_come_from_the_header():
    with open(shipped_file(abi.HEADER_NAME)) as f:
        text = f.read()
    statuses = re.findall(r'X\((\d+), CLT_STATUS_(\w+), +"([^"]+)"\)', text)
    assert [(int(c), t) for c, _, t in statuses] == list(enumerate(abi.STATUS_NAMES))
    assert abi.STATUS_NAMES[:4] == ["ok", "profiling-error", "failed", "pending-at-exit"]
    assert abi.STATUS_NAMES[-1] == "unknown" and abi.API_NAMES[-1] == "unknown"
    assert abi.API_NAMES == ["ndrange", "task", "command_buffer", "unknown"]
    # every enumerator is named after its text
    assert all(n == t.upper().replace("-", "_") for _, n, t in statuses)
    assert abi.STATUS["untimed"] == abi.C.CLT_STATUS_UNTIMED == 5
    assert abi.C.CLT_NO_TIMES == -1 and abi.C.CLT_NO_TIMES_PENDING_EXIT == -2


def test_status_codes_below_unknown_are_the_shims_times_reasons():
    assert [abi.C.CLT_STATUS_OK, abi.C.CLT_STATUS_PROFILING_ERROR, abi.C.CLT_STATUS_FAILED,
            abi.C.CLT_STATUS_PENDING_AT_EXIT] == [K.CLT_TIMES_OK, K.CLT_TIMES_PROFILING_ERR, K.CLT_TIMES_FAILED,
                                                  K.CLT_TIMES_PENDING_EXIT]
    assert [abi.C.CLT_API_NDRANGE, abi.C.CLT_API_TASK, abi.C.CLT_API_COMMAND_BUFFER] == \
        [K.CLT_LAUNCH_API_NDRANGE >> 8, K.CLT_LAUNCH_API_TASK >> 8, K.CLT_LAUNCH_API_CMDBUF >> 8]


def test_a_list_numbered_out_of_order_is_refused():
    text = '#define CLT_STORE_STATUSES(X) \\\n    X(0, CLT_STATUS_OK, "ok") \\\n    X(2, CLT_STATUS_B, "b")\n'
    with pytest.raises(ImportError, match="CLT_STORE_STATUSES must number its entries 0..n-1 in order"):
        abi.code_list(text, "CLT_STORE_STATUSES")
    with pytest.raises(ImportError, match="does not define CLT_STORE_APIS"):
        abi.code_list(text, "CLT_STORE_APIS")


def test_the_launches_view_names_every_code_as_the_header_does(tmp_path):
    conn = create_db(str(tmp_path / "t.db"))
    conn.execute("INSERT INTO dispatches (dispatch_id, run_id, process_id, driver_local) VALUES (1, 1, 1, 0)")
    codes = list(range(len(abi.STATUS_NAMES))) + [len(abi.STATUS_NAMES), 99, -1]
    conn.executemany("INSERT INTO launch_rows (launch_id, process_id, dispatch_id, seq, status, enqueue_ns, "
                     "return_dns) VALUES (?, 1, 1, ?, ?, 0, 0)", [(i + 1, i, c) for i, c in enumerate(codes)])
    got = [r[0] for r in conn.execute("SELECT times_status FROM launches ORDER BY launch_id")]
    assert got == abi.STATUS_NAMES + ["unknown"] * 3


def test_the_schema_comment_lists_the_header_codes():
    with open(SCHEMA_PATH) as f:
        text = f.read()
    m = re.search(r"status +INTEGER NOT NULL, +-- times_status code: (.*?)\n +enqueue_ns", text, re.S)
    listed = re.sub(r"\s*--\s*", " ", m.group(1))
    assert re.findall(r"(\d+) ([\w-]+)", listed) == [(str(c), n) for c, n in enumerate(abi.STATUS_NAMES)]


def test_the_upgrade_codes_every_schema1_status_as_the_header_does():
    conn = sqlite3.connect(":memory:")
    sql = f"SELECT {migrate._STATUS_CODE} FROM (SELECT ? AS times_status) l"
    for code, name in enumerate(abi.STATUS_NAMES):
        assert conn.execute(sql, (name,)).fetchone()[0] == code
    assert conn.execute(sql, ("a-reason-from-later",)).fetchone()[0] == abi.C.CLT_STATUS_UNKNOWN
    assert conn.execute(sql, (None,)).fetchone()[0] == abi.C.CLT_STATUS_UNKNOWN


def test_the_library_exports_exactly_the_declared_functions():
    lib = os.path.join(NATIVE_DIR, fast.LIB)
    if not os.path.exists(lib) or not shutil.which("nm"):
        pytest.skip(f"{fast.LIB} is not built or nm is missing")
    out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if re.search(r" T clt_", line)}
    declared = set(re.findall(r"\b(clt_\w+)\s*\(", abi.CDEF))
    assert exported == declared and len(declared) >= 12


def test_the_installed_header_is_the_source_one():
    installed = os.path.join(NATIVE_DIR, abi.HEADER_NAME)
    if not os.path.exists(installed) or not os.path.exists(HEADER):
        pytest.skip("not built, or no source tree")
    with open(installed) as a, open(HEADER) as b:
        assert a.read() == b.read(), "cltrace/_native holds an old cltrace_store.h: rebuild (pip install -e .)"
