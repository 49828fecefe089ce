"""The public site uploaded to S3 or S3-compatible storage (MinIO, R2, B2, Ceph...), with boto3.

Only files whose bytes changed are uploaded: the listing of the prefix gives each
object's ETag, which is the MD5 of its bytes for a simple upload, and the ETag of
each of our own uploads is remembered for storage where it is not (SSE-KMS).
Objects under the prefix that the export no longer has are deleted after the
uploads, so a link from a new page never points at a missing object.
"""

from __future__ import annotations

import hashlib
import mimetypes
from typing import Any

import boto3
from botocore.config import Config

from statuspage.tools.publish_dir import Mirrored, in_order

# The types the live site sends, by extension (what nginx's types would say otherwise).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
# Pages and JSON change with every update; static files only with a new release (their names carry no hash).
PAGE_CACHE = "public, max-age=30"
STATIC_CACHE = "public, max-age=3600"


def content_type(name: str) -> str:
    """The Content-Type of a published file, from its extension."""
    extension = "." + name.rsplit(".", 1)[-1] if "." in name.rsplit("/", 1)[-1] else ""
    return CONTENT_TYPES.get(extension) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def cache_control(name: str) -> str:
    """How long browsers and CDNs may keep a published file."""
    return STATIC_CACHE if name.startswith("static/") else PAGE_CACHE


def split_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` as ("bucket", "some/prefix/"); no prefix is the whole bucket."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


class S3Target:
    """A bucket and prefix that hold a copy of the public site."""

    def __init__(self, url: str, endpoint_url: str | None = None, access_key_id: str | None = None,
                 secret_access_key: str | None = None) -> None:
        self.url = url
        self.bucket, self.prefix = split_url(url)
        # Timeouts keep a hanging store from holding a publish for long; checksums only where S3
        # requires them, as some S3-compatible stores refuse the newer default ones.
        config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"},
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required")
        # Keys given here come from AWS_*_FILE; without them boto3's own chain finds them.
        self.client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key, config=config)
        self._uploaded: dict[str, tuple[str, str]] = {}  # key -> (MD5 of the bytes, ETag the store gave)

    def __str__(self) -> str:
        return self.url

    def _listing(self) -> dict[str, str]:
        """Every object under the prefix with its ETag."""
        found: dict[str, str] = {}
        for listed in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            found |= {item["Key"]: item["ETag"].strip('"') for item in listed.get("Contents", [])}
        return found

    def _upload(self, key: str, name: str, data: bytes, md5: str) -> None:
        answer = self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type(name),
                                        CacheControl=cache_control(name))
        self._uploaded[key] = (md5, answer["ETag"].strip('"'))

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # the most one request may delete
            batch = [{"Key": key} for key in keys[start:start + 1000]]
            answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise OSError(f"S3 refused to delete {first.get('Key')}: {first.get('Message')}")

    def publish(self, files: dict[str, bytes]) -> Mirrored:
        """Upload what changed, then delete what the export no longer has."""
        stored = self._listing()
        written = []
        for name in in_order(set(files)):
            key, data = self.prefix + name, files[name]
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            etag = stored.get(key)
            if etag is not None and (etag == md5 or self._uploaded.get(key) == (md5, etag)):
                continue
            self._upload(key, name, data, md5)
            written.append(name)
        wanted = {self.prefix + name for name in files}
        stale = sorted(key for key in stored if key not in wanted)
        self._delete(stale)
        return Mirrored(written, [key.removeprefix(self.prefix) for key in stale])
