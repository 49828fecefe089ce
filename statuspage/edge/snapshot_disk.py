"""The public snapshot on local disk, so a web process started while the database is down still serves.

Every rendered public response (status 200) of the current version is written under
`<instance>/snapshot/<version>/`: a body, its gzip and brotli variants and a small JSON of what it is.
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

    def save(self, version: str, key: str, mimetype: str, variants: dict[str, bytes]) -> None:
        """Keep one entry of `version` ({"body": ..., "gz": ..., "br": ...}); on the first entry of a new
        version, drop the oldest versions."""
        try:
            folder = self.root / version
            fresh = not folder.exists()
            folder.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha256(key.encode()).hexdigest()[:32]
            for suffix, data in variants.items():
                _write(folder / f"{name}.{suffix}", data)
            _write(folder / f"{name}.json", json.dumps({"key": key, "mimetype": mimetype,
                                                        "variants": sorted(variants)}).encode())
            _write(self.root / "CURRENT", version.encode())
            if fresh:
                self._prune()
        except OSError:
            pass  # a full or read-only disk costs the fallback, never the response

    def _prune(self) -> None:
        versions = sorted((p for p in self.root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for old in versions[:-KEEP_VERSIONS]:
            shutil.rmtree(old, ignore_errors=True)

    def load(self) -> tuple[str, dict[str, tuple[str, dict[str, bytes]]]] | None:
        """The newest version on disk and its entries by key (mimetype, variants), or None."""
        try:
            version = (self.root / "CURRENT").read_text().strip()
            entries: dict[str, tuple[str, dict[str, bytes]]] = {}
            for meta in (self.root / version).glob("*.json"):
                described = json.loads(meta.read_bytes())
                variants = {suffix: meta.with_suffix(f".{suffix}").read_bytes() for suffix in described["variants"]}
                entries[described["key"]] = (described["mimetype"], variants)
        except (OSError, ValueError, KeyError):
            return None
        return (version, entries) if entries else None
