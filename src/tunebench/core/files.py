"""Atomic file writes: the one way tunebench puts a result file in place.

A file is written to a temporary sibling, then moved over the target with ``os.replace``, so a
reader (Snakemake, the aggregation, a resumed study) sees the old file or the new one, never half
of one. The temporary file is created by the writer itself, so the result gets the user's umask
(a colleague on a shared cluster can read it), not ``mkstemp``'s owner-only mode.

A full disk stops a write with :class:`DiskFull` (one line: the file, the space it needed, the
space free), and a result file that cannot be read back with :class:`CorruptFile` (one line: the
file and what to do).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "CorruptFile",
    "DiskFull",
    "read_arrow",
    "read_json",
    "read_parquet",
    "read_rows",
    "write_atomic",
    "write_csv",
    "write_json",
    "write_parquet",
    "write_text",
]


def _size(n_bytes: float) -> str:
    """``n_bytes`` in B, KiB, MiB, GiB or TiB."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    power = 0
    while n_bytes >= 1024 and power < len(units) - 1:
        n_bytes, power = n_bytes / 1024, power + 1
    return f"{n_bytes:.0f} B" if power == 0 else f"{n_bytes:.1f} {units[power]}"


class DiskFull(OSError):
    """No space left on the device for a file (``errno`` is ``ENOSPC``)."""

    @classmethod
    def at(cls, path: str | os.PathLike[str], needed: int | None = None) -> DiskFull:
        """The error for ``path`` (which needed more than ``needed`` bytes, if known), with the
        free space of its file system."""
        folder = Path(path) if Path(path).is_dir() else Path(path).parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        free = shutil.disk_usage(folder).free
        need = "" if needed is None else f"the file needs more than {_size(needed)}, "
        return cls(
            errno.ENOSPC,
            f"{path}: disk full: {need}{_size(free)} free in {folder}; free some space and "
            "rerun (finished trials are kept)",
        )

    @classmethod
    def found_in(cls, error: BaseException, where: str | os.PathLike[str]) -> DiskFull | None:
        """The :class:`DiskFull` behind ``error`` (``error`` itself, or one it was raised from
        or while handling), or one for ``where`` if ``error`` or those are an ``ENOSPC`` error
        of another writer; ``None`` if the disk was not full."""
        chain: list[BaseException] = []
        while error is not None and error not in chain:
            chain.append(error)
            error = error.__cause__ or error.__context__
        for link in chain:
            if isinstance(link, DiskFull):
                return link
        for link in chain:
            if isinstance(link, OSError) and link.errno == errno.ENOSPC:
                return cls.at(link.filename or where)
        return None

    def __str__(self) -> str:
        return str(self.strerror)


class CorruptFile(ValueError):
    """A result file that cannot be read back."""

    def __init__(self, path: str | os.PathLike[str], kind: str, why: str) -> None:
        super().__init__(
            f"{path}: not a readable {kind} file ({why}); delete it, or its study directory, "
            "and rerun: the study's files are written again"
        )


def read_parquet(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a Parquet file written by :func:`write_parquet`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CorruptFile: ``path`` is not a readable Parquet file (the message says what to do).
    """
    import pandas as pd

    with _parquet_errors(path):
        return pd.read_parquet(path)


def read_arrow(path: str | os.PathLike[str]) -> pa.Table:
    """Read a Parquet file as a ``pyarrow.Table`` (without importing pandas), its pandas index
    metadata dropped. Raises as :func:`read_parquet`."""
    import pyarrow.parquet as pq

    with _parquet_errors(path):
        return pq.ParquetFile(path).read().replace_schema_metadata(None)  # no pandas import


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a Parquet file as dicts of Python values (without importing pandas); a
    missing float is NaN, as pandas reads it. Raises as :func:`read_parquet`."""
    import pyarrow as pa

    table = read_arrow(path)
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    rows = table.to_pylist()
    for row in rows:
        for name in floats:
            if row[name] is None:
                row[name] = math.nan
    return rows


@contextlib.contextmanager
def _parquet_errors(path: str | os.PathLike[str]) -> Iterator[None]:
    """Raise pyarrow's failure to read ``path`` (other than a missing file) as
    :class:`CorruptFile`."""
    import pyarrow

    try:
        yield
    except (pyarrow.ArrowException, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        why = why.rpartition(f"{path}': ")[2]  # pyarrow's "Could not open ... '<path>': "
        raise CorruptFile(path, "Parquet", why) from None


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file written by :func:`write_json`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CorruptFile: ``path`` is not a readable JSON file (the message says what to do).
    """
    try:
        return json.loads(Path(path).read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFile(path, "JSON", str(exc)) from None


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a fresh temporary sibling of ``path``, then move it into place.

    The parent folder is created; on any error the temporary file is removed and ``path`` is
    left as it was. Returns ``path``.

    Raises:
        DiskFull: The file system ran out of space.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        written = tmp.stat().st_size if tmp.exists() else 0
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise DiskFull.at(path, written) from None
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


def write_parquet(path: str | os.PathLike[str], frame: pd.DataFrame | pa.Table) -> Path:
    """Write ``frame`` (a DataFrame, without its index, or a ``pyarrow.Table``) as Parquet to
    ``path`` atomically."""
    if hasattr(frame, "to_parquet"):
        return write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))
    import pyarrow.parquet as pq

    return write_atomic(path, lambda tmp: pq.write_table(frame, tmp))
