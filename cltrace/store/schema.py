"""The trace's schema: its version and the file that declares it (schema.sql), for db.py and migrate.py."""
import os

SCHEMA_VERSION = 4
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema.sql")
