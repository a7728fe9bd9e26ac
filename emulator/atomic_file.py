"""Files that another process polls (the plan, a speaker's state, a prober's verdicts): never read half-written.

Written beside the target under a name of this process and thread, then renamed over it (rename is atomic on
one file system), so two writers never share a temporary file. Standard library only: the helper processes
(health prober, BGP speaker, controller) import it too.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


def write_atomically(path: str | Path, text: str) -> None:
    path = Path(path)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_json_atomically(path: str | Path, value: Any) -> None:
    write_atomically(path, json.dumps(value))
