"""Device timestamps are on the device's clock (PoCL 3.1: CLOCK_MONOTONIC_RAW; GPUs: their own),
host timestamps on the host's CLOCK_MONOTONIC. QUEUED is stamped inside the enqueue call, so
queued - midpoint(host enqueue, host return) estimates the offset to within half a call."""
import pandas as pd


def device_clock_offsets(launches: pd.DataFrame) -> pd.Series:
    """Median (device - host) clock offset in ns per (process_id, device_id)."""
    need = ["process_id", "device_id", "queued_ns", "host_enqueue_ns", "host_return_ns"]
    if launches.empty or any(c not in launches.columns for c in need):
        return pd.Series(dtype="float64")
    df = launches.dropna(subset=["queued_ns", "host_enqueue_ns", "host_return_ns"])
    df = df[df["queued_ns"] > 0]
    if df.empty:
        return pd.Series(dtype="float64")
    mid = (df["host_enqueue_ns"].astype("float64") + df["host_return_ns"].astype("float64")) / 2
    off = df["queued_ns"].astype("float64") - mid
    return off.groupby([df["process_id"], df["device_id"].fillna(-1)]).median()


def to_host_clock(launches: pd.DataFrame) -> pd.DataFrame:
    """A copy whose queued/submit/start/end are moved onto the host clock (durations unchanged)."""
    off = device_clock_offsets(launches)
    out = launches.copy()
    if off.empty:
        return out
    keys = list(zip(out["process_id"], out["device_id"].fillna(-1)))
    shift = pd.Series([off.get(k, 0.0) for k in keys], index=out.index)
    for c in ("queued_ns", "submit_ns", "start_ns", "end_ns"):
        out[c] = out[c].astype("float64") - shift
    return out
