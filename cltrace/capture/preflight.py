"""Checks made before anything is written: does the command exist, and will the shim be able to trace it."""
import os
import shutil
import stat
from typing import Mapping, Optional, Tuple


def find_command(name: str, env: Optional[Mapping[str, str]] = None) -> Tuple[Optional[str], Optional[str]]:
    """(path, None) for a command the child could exec, else (None, "not found" | "not executable"), looked
    up as the child's exec will: a name with a '/' as given, else on PATH."""
    if "/" in name:
        if not os.path.exists(name):
            return None, "not found"
        if os.path.isdir(name) or not os.access(name, os.X_OK):
            return None, "not executable"
        return name, None
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    found = shutil.which(name, path=path)
    if found:
        return found, None
    for d in path.split(os.pathsep):
        cand = os.path.join(d or ".", name)
        if os.path.isfile(cand):
            return None, "not executable"
    return None, "not found"


def is_setid(path: str) -> bool:
    """A setuid or setgid program: the dynamic loader runs it in secure mode, and the shim stays inert."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_ISUID | stat.S_ISGID))
