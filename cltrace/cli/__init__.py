"""The `cltrace` commands: argument parsing and the error -> exit code mapping, on top of every other layer
(docs/architecture.md). Nothing else in cltrace imports from here; base.py holds what several commands share
(Command, open_trace, check_run, render), so commands never import each other for helpers."""
