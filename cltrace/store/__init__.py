"""The SQLite trace: schema, creation and validation, ingestion of capture files."""
