import pandas as pd

from cltrace.analysis.clocks import device_clock_offsets, to_host_clock


def test_offset_from_queued_against_the_enqueue_call():
    rows = []
    for i in range(5):
        host = 10**12 + 1_000_000 * i
        rows.append({"process_id": 1, "device_id": 3, "host_enqueue_ns": host, "host_return_ns": host + 200,
                     "queued_ns": host + 100 - 250_000_000, "submit_ns": host - 249_000_000,
                     "start_ns": host - 248_000_000, "end_ns": host - 247_000_000})
    L = pd.DataFrame(rows)
    assert device_clock_offsets(L)[(1, 3)] == -250_000_000
    H = to_host_clock(L)
    assert (H["queued_ns"] == L["host_enqueue_ns"] + 100).all()
    assert ((H["end_ns"] - H["start_ns"]) == (L["end_ns"] - L["start_ns"])).all()
    assert device_clock_offsets(L.iloc[0:0]).empty
