"""The names of the table exports (exports_tables.py), importable without pandas: the CLI's option parser
needs them for every command it builds."""
TABLE_FORMATS = ("lookup", "nnmeter", "paddleslim", "parquet")
DIRECTORY_FORMATS = ("parquet",)
# Older names of a table that has one name now: `--format lut` writes the lookup table (there is one lookup
# table, analysis/lookup.py). The CLI lists the alias where it always stood.
ALIASES = {"lut": "lookup"}
