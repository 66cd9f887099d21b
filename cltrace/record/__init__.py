"""Recording a run: the layer above capture and store that joins them.

- session.py: run one program under the shim (capture/launcher.py), ingest its capture files into the trace
  (store/ingest.py) and record the run, keeping the capture files when that cannot finish

Below the sweep (whose executors record each run through here) and the CLI's `cltrace run`, above the report
and everything it reads (docs/architecture.md).
"""
