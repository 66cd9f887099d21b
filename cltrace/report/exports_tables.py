"""`cltrace export --format lookup|nnmeter|paddleslim|parquet`: the tables pruning tools and data tools read
(docs/exports.md). lookup: NetAdapt/LACP-style CSV; nnmeter: nn-Meter-style JSON per kernel configuration;
paddleslim: PaddleSlim-style TSV (key, latency); parquet: a directory of Parquet files (launches, runs, run
tags, the staircase tables) for DuckDB, pandas and Spark."""
import json
import math
import os

import pandas as pd

from ..analysis.lookup import LAYER, latency_lookup, layer_name, per_process_ms
from ..errors import CltraceError

from .export_formats import DIRECTORY_FORMATS, TABLE_FORMATS


def _value(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v.item() if hasattr(v, "item") else v


def write_lookup(samples, out) -> None:
    latency_lookup(samples).to_csv(out, index=False, lineterminator="\n")


def nnmeter_tables(samples) -> dict:
    """{layer: {config id: {"config": {parameter: value}, "latency": mean ms, "std": ms, "samples": [ms]}}};
    the samples are the per-process medians, so mean and std are over processes."""
    configs, param, by = per_process_ms(samples)
    params = [b for b in by if b not in ("region", LAYER)] + [param]
    out: dict = {}
    for _, c in configs.iterrows():
        layer = layer_name(c, by)
        config = {p: _value(c[p]) for p in params}
        vals = c["process_ms"]
        mean = sum(vals) / len(vals) if vals else None
        std = (math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else None)
        key = ",".join(f"{p}={config[p]}" for p in params)
        out.setdefault(layer, {})[key] = {"config": config, "latency": None if mean is None else round(mean, 6),
                                          "std": None if std is None else round(std, 6), "samples": vals}
    return out


def write_nnmeter(samples, out) -> None:
    json.dump(nnmeter_tables(samples), out, indent=1, sort_keys=True)
    out.write("\n")


def _field(v) -> str:
    """A key field of the TSV: ',', tab, newline and '%' percent-encoded so the key splits on ','."""
    text = str(_value(v))
    for ch in "%,\t\n\r":
        text = text.replace(ch, f"%{ord(ch):02X}")
    return text


def write_paddleslim(samples, out) -> None:
    """One line per configuration: 'layer,value,...,swept value<TAB>median ms' (columns as in lookup)."""
    table = latency_lookup(samples)
    keys = [c for c in table.columns if c not in ("median_ms", "interval_low_ms", "interval_high_ms", "processes")]
    for _, row in table.iterrows():
        if pd.isna(row["median_ms"]):
            continue
        out.write(",".join(_field(row[k]) for k in keys) + f"\t{row['median_ms']:.6f}\n")


def _arrow_column(col: pd.Series) -> pd.Series:
    """Object columns Arrow stores as they are (text, lists of numbers), or else as JSON text."""
    if col.dtype != object:
        return col
    vals = [v for v in col if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if all(isinstance(v, str) for v in vals):
        return col
    if all(isinstance(v, (list, tuple)) and all(isinstance(x, (int, float)) for x in v) for v in vals):
        return col.map(lambda v: list(v) if isinstance(v, (list, tuple)) else None)
    return col.map(lambda v: None if v is None else json.dumps(v, default=str, sort_keys=True))


def _write_parquet(df: pd.DataFrame, path: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    df = df.reset_index(drop=True)
    df = pd.DataFrame({c: _arrow_column(df[c]) for c in df.columns}) if len(df.columns) else df
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)


def parquet_tables(trace, samples, run=None) -> dict:
    """name -> DataFrame: launches, runs (with one tag_KEY column per run tag), run_tags, and the staircase
    tables (configs, steps, segments, units, dispatch_changes, lookup) when there are samples; only run
    `run` when given."""
    runs, tags = trace.runs.copy(), trace.run_tags
    if run is not None:
        runs, tags = runs[runs["run_id"] == run], tags[tags["run_id"] == run] if len(tags) else tags
    if len(tags):
        wide = tags.pivot(index="run_id", columns="key", values="value")
        wide.columns = [f"tag_{k}" for k in wide.columns]
        runs = runs.merge(wide, left_on="run_id", right_index=True, how="left")
    launches = trace.launches if run is None else trace.launches_for(run)
    tables = {"launches": launches, "runs": runs, "run_tags": tags}
    if samples is not None:
        from ..analysis.staircase import analyse
        result = analyse(samples, compute_units=trace.compute_units_by_run())
        configs = result.configs.drop(columns=["latencies", "process_logs"], errors="ignore")
        tables.update(configs=configs, steps=result.steps, segments=result.segments, units=result.units,
                      dispatch_changes=result.dispatch_changes)
        try:
            tables["lookup"] = latency_lookup(samples)
        except ValueError:
            pass                # no numeric parameter: no lookup table
    return tables


def write_parquet_dir(trace, samples, directory: str, run=None) -> list:
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise CltraceError(f"cannot write {directory}: --format parquet writes a directory of files, and "
                           f"{directory} is a file")
    parent = os.path.dirname(os.path.abspath(directory))
    if not os.path.isdir(parent):
        raise CltraceError(f"cannot write {directory}: directory {parent} does not exist")
    os.makedirs(directory, exist_ok=True)
    written = []
    for name, df in parquet_tables(trace, samples, run).items():
        path = os.path.join(directory, f"{name}.parquet")
        _write_parquet(df, path)
        written.append(path)
    return written


WRITERS = {"lookup": write_lookup, "nnmeter": write_nnmeter, "paddleslim": write_paddleslim}
__all__ = ["TABLE_FORMATS", "DIRECTORY_FORMATS", "WRITERS", "write_parquet_dir", "LAYER"]
