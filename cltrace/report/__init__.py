"""The report and the exports: a Trace's numbers (from the analysis) composed into a Document and rendered as
text, markdown, CSV or JSON, plus the plots and export formats.

Below record and sweep, above cltrace.trace, the network map and the analysis (docs/architecture.md): the report
reads what was recorded and never runs or records anything. cells.py (one value as a cell) sits below render.py
and text_render.py, so the text renderer and the other formats import one way."""
