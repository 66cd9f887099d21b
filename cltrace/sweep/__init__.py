"""Sweeps across a farm of boards on Dask distributed (`cltrace sweep --cluster`, docs/farm.md).

Each planned run is one Dask task restricted to a board resource (`board:KIND`, declared by the worker that
drives that board). The worker runs the program under the shim (point.py, in a process of its own), returns
the capture files as bytes, and the client records them into the one trace with the same code as a local
sweep (capture/session.record_run). Nothing here imports Dask until a sweep actually uses a cluster.
"""
