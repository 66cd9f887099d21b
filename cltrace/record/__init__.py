"""Recording a run: the layer above capture and store that joins them.

- session.py: run one program under the shim (capture/launcher.py), ingest its capture files into the trace
  (store/ingest.py) and record the run, keeping the capture files when that cannot finish

Layer order (docs/architecture.md): cli > sweep > record > report > network > trace > analysis > store > capture.
"""
