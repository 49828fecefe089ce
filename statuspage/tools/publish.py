"""Publishing: every snapshot of the public site copied where the status host is not.

The worker checks the page version on each tick; when it has moved since the
last publish (and at start-up), the site is rendered through the app's public
views (so pages a web process already rendered for this version come from the
shared snapshot) and handed to each target: a folder (`STATUSPAGE_PUBLISH_DIR`)
and/or S3 (`STATUSPAGE_PUBLISH_S3_URL`). Rendering and uploading run on a
thread of their own, so a large site or a slow store never holds up probes or
notifications; a failure is logged and the next tick tries again.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from flask import Flask

from statuspage.config import Settings
from statuspage.db import Database, utcnow
from statuspage.page import record
from statuspage.tools import publish_dir
from statuspage.tools.publish_dir import Mirrored
from statuspage.tools.static_export import render_site

log = logging.getLogger("statuspage.publish")
# How long to wait before trying again after a failed publish, or one that caught a change half-way.
RETRY_SECONDS = 1.0


class PublishFailed(Exception):
    """One or more targets could not take the site; the others have it."""


class Target(Protocol):
    def publish(self, files: dict[str, bytes]) -> Mirrored: ...


class DirTarget:
    """A folder that mirrors the site (publish_dir.mirror)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __str__(self) -> str:
        return str(self.folder)

    def publish(self, files: dict[str, bytes]) -> Mirrored:
        return publish_dir.mirror(self.folder, publish_dir.with_gzip(files))


def _page_version(tag: str) -> int:
    return int(tag.split("-", 1)[0])


class Publisher:
    """Publishes the site to its targets whenever the page version moves; a worker step."""

    def __init__(self, app: Flask, targets: list[Target]) -> None:
        self.app = app
        self.targets = targets
        self.database: Database = app.extensions["statuspage.db"]
        # The version every page of the last publish carried; None until one is complete.
        self.published: str | None = None
        self.failures = 0
        self._not_before = 0.0  # after a failed or partial publish, the next try waits a little
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")
        self._in_flight: Future[str | None] | None = None

    def _publish(self, wanted: str) -> str | None:
        """Render and publish once; the version published, or None when some page was of another one.

        1. Render every page (a web process may have rendered most of them already).
        2. A page older than `wanted` means this process has not seen the change yet (it checks the
           version once per interval): write nothing, so a new page never links to a removed one.
        3. Hand the files to each target. Pages newer than `wanted` (a change landed while rendering)
           are written, and the next tick publishes the site again.
        """
        site = render_site(self.app)
        if any(_page_version(tag) < _page_version(wanted) for tag in site.versions):
            return None
        failed: list[tuple[Target, Exception]] = []
        for target in self.targets:  # one target failing (S3 down) does not keep the others stale
            try:
                done = target.publish(site.files)
            except Exception as exc:
                failed.append((target, exc))
                continue
            if done.written or done.removed:
                log.info("published %s to %s: %d files written, %d removed", wanted, target,
                         len(done.written), len(done.removed))
        if failed:
            raise PublishFailed("; ".join(f"{target}: {exc}" for target, exc in failed)) from failed[0][1]
        return wanted if site.versions == {wanted} else None

    def _collect(self, future: Future[str | None]) -> None:
        try:
            self.published = future.result()
            self.failures = 0
        except Exception as exc:  # disk full, store down: the next tick tries again
            self.failures += 1
            log.error("publishing the public site failed (%s); retrying", exc, exc_info=self.failures == 1)
        if self.published is None or self.failures:
            self._not_before = time.monotonic() + RETRY_SECONDS

    def handle_one_publish(self) -> bool:
        """Collect a finished publish, or start one when the page version moved; True when either happened.

        Never raises: a failure here must not stop the worker's other steps.
        """
        if self._in_flight is not None:
            if not self._in_flight.done():
                return False
            self._collect(self._in_flight)
            self._in_flight = None
            return True
        if time.monotonic() < self._not_before:
            return False
        try:
            with self.database.session() as session:
                wanted = record.version_tag(record.current_version(session), utcnow().date())
        except Exception as exc:  # the database is down: nothing new to publish until it is back
            log.warning("publish: cannot read the page version (%s)", str(exc).splitlines()[0])
            return False
        if wanted == self.published:
            return False
        self._in_flight = self._executor.submit(self._publish, wanted)
        return True

    def close(self) -> None:
        """Finish the publish in flight (logging how it went), then stop the thread."""
        self._executor.shutdown(wait=True)
        if self._in_flight is not None:
            self._collect(self._in_flight)
            self._in_flight = None


def publisher_for(app: Flask, settings: Settings) -> Publisher | None:
    """A publisher for the targets the settings name, or None when there are none."""
    targets: list[Target] = []
    if settings.publish_dir is not None:
        targets.append(DirTarget(settings.publish_dir))
    if settings.publish_s3_url is not None:
        from statuspage.tools.publish_s3 import S3Target  # boto3 is only loaded where S3 is used

        targets.append(S3Target(settings.publish_s3_url, settings.publish_s3_endpoint_url,
                                settings.publish_s3_access_key_id, settings.publish_s3_secret_access_key))
    return Publisher(app, targets) if targets else None
