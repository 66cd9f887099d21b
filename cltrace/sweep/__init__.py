"""Sweeping: running a program over a grid of parameters, every run traced and tagged (`cltrace sweep`).

- plan.py: parameter specs, the cartesian product, the run order, command templates
- stored.py: the sweep as a record of the trace (the `sweeps` table): its stored plan, end state, --resume
- engine.py: the run engine: SweepContext, --resume, --adaptive's rounds, the summary
- executor.py: the executor choice (local.py or farm.py), the sweep stored before and finished after
- local.py: the local executor (this machine, under the noise stabilisers of stabilise.py)
- stabilise.py: noise stabilisers and per-run provenance (docs/noise.md)
- progress.py: the progress bar or plain progress lines
- point.py: one sweep point in a process of its own (a board's run for the farm)
- farm.py, cluster.py, task.py, record.py: the Dask executor (`--cluster`, docs/farm.md)

cltrace/cli/sweep.py only parses the arguments; nothing here imports cltrace.cli. The sweep sits below the CLI
and above record (each run is recorded by record/session.py) and everything below it (docs/architecture.md);
executor.py sits above engine.py and the executors, so the package has no import circle.

The Dask executor: sweeps across a farm of boards on Dask distributed (`cltrace sweep --cluster`, docs/farm.md).

Each planned run is one Dask task restricted to a board resource (`board:KIND`, declared by the worker that
drives that board). The worker runs the program under the shim (point.py, in a process of its own), returns
the capture files as bytes, and the client records them into the one trace with the same code as a local
sweep (record/session.record_run). Nothing here imports Dask until a sweep actually uses a cluster.
"""
