"""The names of the table exports (exports_tables.py), importable without pandas: the CLI's option parser
needs them for every command it builds."""
TABLE_FORMATS = ("lookup", "nnmeter", "paddleslim", "parquet")
DIRECTORY_FORMATS = ("parquet",)
