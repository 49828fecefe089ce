"""A folder that mirrors the public site, for nginx, Caddy or any static host.

Readers never see half a file: each changed file is written under a temporary
name in its own directory, then renamed over the old one (`os.replace`), and
unchanged files are left alone. Files of the previous export that the new one
lacks (a deleted incident) are removed after the new ones are in place. Only
files this code wrote are ever removed: their list is kept in `MANIFEST`, so
exporting into a folder that holds other things is safe.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

MANIFEST = ".statuspage-files"
# Text worth compressing ahead of time, so nginx (`gzip_static on`) sends the .gz beside each file rather
# than compressing the page again for every reader.
COMPRESSIBLE = (".html", ".json", ".rss", ".atom", ".css", ".js", ".svg", ".xml", ".txt")
GZIP_MIN_BYTES = 1024


@dataclass(frozen=True)
class Mirrored:
    """What a publish changed: files written (new or different bytes) and files removed."""

    written: list[str]
    removed: list[str]


def with_gzip(files: dict[str, bytes]) -> dict[str, bytes]:
    """`files` and a `<name>.gz` beside each text file of 1 KB or more (no timestamp inside, so an
    unchanged file gives the same bytes and is not written again)."""
    packed = {f"{name}.gz": gzip.compress(data, 9, mtime=0) for name, data in files.items()
              if name.endswith(COMPRESSIBLE) and len(data) >= GZIP_MIN_BYTES}
    return {**files, **packed}


def in_order(names: list[str] | set[str]) -> list[str]:
    """Files in the order to put them in place: static files first and the home page last, so a
    reader who follows a link from a new page finds what it links to."""
    return sorted(names, key=lambda name: (not name.startswith("static/"), name == "index.html", name))


def _unchanged(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def write_atomically(path: Path, data: bytes) -> None:
    """Put `data` at `path` by renaming a complete temporary file over it; on failure, no temporary file stays."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the web server reads it as another user
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _inside(root: Path, name: str) -> Path | None:
    """`root/name` if it stays within `root` (a hand-edited manifest cannot point elsewhere)."""
    path = (root / name).resolve()
    return path if path.is_relative_to(root) and path != root else None


def _listed(folder: Path) -> set[str]:
    try:
        return {line for line in (folder / MANIFEST).read_text().splitlines() if line}
    except FileNotFoundError:
        return set()


def _list(folder: Path, names: set[str]) -> None:
    write_atomically(folder / MANIFEST, "".join(f"{name}\n" for name in sorted(names)).encode())


def _remove(root: Path, name: str) -> bool:
    path = _inside(root, name)
    if path is None or not path.is_file():
        return False
    path.unlink()
    for parent in path.parents:  # the folder of a deleted incident goes with its page
        if parent == root or any(parent.iterdir()):
            break
        parent.rmdir()
    return True


def mirror(folder: Path, files: dict[str, bytes]) -> Mirrored:
    """Make `folder` hold exactly `files` among what this code wrote there.

    1. List old and new files in the manifest, so a crash mid-way leaves nothing unaccounted for.
    2. Write the files whose bytes changed, each atomically.
    3. Remove the files of the last export that this one lacks.
    4. List exactly this export's files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    previous = _listed(folder)
    if not previous >= files.keys():
        _list(folder, previous | files.keys())
    written = []
    for name in in_order(set(files)):
        path = folder / name
        if not _unchanged(path, files[name]):
            write_atomically(path, files[name])
            written.append(name)
    removed = [name for name in sorted(previous - files.keys()) if _remove(root, name)]
    if previous != files.keys():
        _list(folder, set(files))
    return Mirrored(written, removed)
