"""The SQLite trace: schema, creation and validation, ingestion of capture files.

Below the analysis and cltrace.trace, which read it, and above capture, whose files it ingests
(docs/architecture.md): it never imports what reads it back. schema.py and connection.py sit below db.py and
migrate.py, so those two import one way (db upgrades through migrate)."""
