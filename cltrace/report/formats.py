"""Output formats of the report commands (cheap to import: the CLI builds its parser from it)."""
FORMATS = ("text", "json", "csv", "markdown")
