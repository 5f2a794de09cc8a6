"""Atomic file writes: the one way tunebench puts a result file in place.

A file is written to a temporary sibling, then moved over the target with ``os.replace``, so a
reader (Snakemake, the aggregation, a resumed study) sees the old file or the new one, never half
of one. The temporary file is created by the writer itself, so the result gets the user's umask
(a colleague on a shared cluster can read it), not ``mkstemp``'s owner-only mode.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["write_atomic", "write_csv", "write_json", "write_parquet", "write_text"]


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a fresh temporary sibling of ``path``, then move it into place.

    The parent folder is created; on any error the temporary file is removed and ``path`` is
    left as it was. Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | os.PathLike[str], data: Any, **dumps: Any) -> Path:
    """Write ``data`` as JSON and a newline to ``path`` atomically (``dumps`` go to
    :func:`json.dumps`)."""
    return write_text(path, json.dumps(data, **dumps) + "\n")


def write_csv(path: str | os.PathLike[str], frame: pd.DataFrame) -> Path:
    """Write ``frame`` as CSV without its index to ``path`` atomically."""
    return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def write_parquet(path: str | os.PathLike[str], frame: pd.DataFrame) -> Path:
    """Write ``frame`` as Parquet without its index to ``path`` atomically."""
    return write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))
