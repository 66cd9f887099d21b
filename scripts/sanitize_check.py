"""pytest plugin for scripts/sanitize.sh: refuses to run unless the cltrace imported is the sanitized copy.

A test run that silently used the ordinary cltrace/_native would report "no findings" for code it never
checked; `python -m pytest` puts the working directory first on sys.path, which is why sanitize.sh runs
pytest from its own directory and this plugin checks the result."""
import os

import pytest


def pytest_configure(config):
    want = os.environ.get("SANITIZE_NATIVE")
    if not want:
        return
    import cltrace.native

    if os.path.realpath(cltrace.native.NATIVE_DIR) != os.path.realpath(want):
        raise pytest.UsageError(f"sanitize: cltrace was imported from {os.path.dirname(cltrace.__file__)}, "
                                f"whose native libraries ({cltrace.native.NATIVE_DIR}) are not the sanitized "
                                f"ones ({want})")
