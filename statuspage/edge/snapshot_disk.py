"""The public snapshot on local disk, so a web process started while the database is down still serves.

Every rendered public response (status 200) of the current version is written under
`<instance>/snapshot/<version>/`: a body, its gzip variant and a small JSON of what it is.
Writes are atomic (a temporary file, then a rename), so a reader never sees half a file; the
two newest versions are kept, older ones removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

KEEP_VERSIONS = 2


def _write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


class SnapshotDisk:
    """Rendered public responses of the last versions, on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, version: str, key: str, body: bytes, gzipped: bytes | None, mimetype: str) -> None:
        """Keep one entry of `version`; on the first entry of a new version, drop the oldest versions."""
        try:
            folder = self.root / version
            fresh = not folder.exists()
            folder.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha256(key.encode()).hexdigest()[:32]
            _write(folder / f"{name}.body", body)
            if gzipped is not None:
                _write(folder / f"{name}.gz", gzipped)
            _write(folder / f"{name}.json", json.dumps({"key": key, "mimetype": mimetype}).encode())
            _write(self.root / "CURRENT", version.encode())
            if fresh:
                self._prune()
        except OSError:
            pass  # a full or read-only disk costs the fallback, never the response

    def _prune(self) -> None:
        versions = sorted((p for p in self.root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for old in versions[:-KEEP_VERSIONS]:
            shutil.rmtree(old, ignore_errors=True)

    def load(self) -> tuple[str, dict[str, tuple[bytes, bytes | None, str]]] | None:
        """The newest version on disk and its entries by key (body, gzip, mimetype), or None."""
        try:
            version = (self.root / "CURRENT").read_text().strip()
            folder = self.root / version
            entries: dict[str, tuple[bytes, bytes | None, str]] = {}
            for meta in folder.glob("*.json"):
                described = json.loads(meta.read_bytes())
                body = meta.with_suffix(".body").read_bytes()
                gz = meta.with_suffix(".gz")
                entries[described["key"]] = (body, gz.read_bytes() if gz.exists() else None, described["mimetype"])
        except (OSError, ValueError, KeyError):
            return None
        return (version, entries) if entries else None
