"""Programs that wait after every launch (clFinish per launch, clWaitForEvents on each event): every launch
keeps its device times, whichever wait covered it, in both capture modes.

The shim harvests at a wait; before the app blocks it only polls launches older than the newest one (the
newest was just enqueued), so in these programs the launch the app waits for is always read after the
wait. These tests hold that no launch is left unread by it, and that the app's own events behave as before.
Costs are bench/bench_overhead.py's business (workloads sync and event), not a test's."""
import pytest

from test_hardening import assert_valid_device_times

N = 40


@pytest.mark.parametrize("mode", ["layer", "preload"])
def test_finish_after_every_launch(cltrace_run, programs, mode):
    trace = cltrace_run([programs("loop"), "1", str(N)], mode=mode)      # batches of 1: clFinish per launch
    L = trace.launches
    assert len(L) == N and L["seq"].is_unique
    assert set(L["times_status"]) == {"ok"}, L["times_status"].value_counts().to_dict()
    assert (L["own_event"] == 1).all()                                   # the app passed event=NULL
    assert_valid_device_times(L, f"loop 1 {N} ({mode})")
    s = L.sort_values("seq")
    # each launch ran after the previous one's clFinish returned: device intervals do not overlap
    assert (s["start_ns"].to_numpy()[1:] >= s["end_ns"].to_numpy()[:-1]).all()


@pytest.mark.parametrize("mode", ["layer", "preload"])
def test_wait_for_each_app_event(cltrace_run, programs, mode):
    # linked COUNT null app: the app asks for each event, clWaitForEvents on it, releases it (CHECKed: a
    # changed return code fails the program)
    trace = cltrace_run([programs("linked"), str(N), "null", "app"], mode=mode)
    L = trace.launches
    assert len(L) == N
    assert set(L["times_status"]) == {"ok"}, L["times_status"].value_counts().to_dict()
    assert (L["own_event"] == 0).all()
    assert_valid_device_times(L, f"linked {N} app ({mode})")
    assert trace.processes["clean_exit"].tolist() == [1]
