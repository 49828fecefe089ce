"""Publishing to S3-compatible storage: moto's standalone server on loopback, over real HTTP, read back with boto3."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from statuspage.incidents import lifecycle
from statuspage.tools.publish_s3 import PAGE_CACHE, STATIC_CACHE, S3Target
from statuspage.tools.static_export import render_site
from tests.conftest import free_port
from tests.test_publish import ACTOR, an_incident, publish_until, publishing_worker
from tests.test_publish_nginx import wait_for_port

BUCKET = "status-site"
KEYS = {"publish_s3_access_key_id": "testing", "publish_s3_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory) -> Iterator[str]:
    """moto's S3 server as a process of its own on 127.0.0.1; yields its endpoint URL."""
    port, log = free_port(), tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log, seconds=60)  # importing moto takes a while on a busy machine
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def bucket(s3_server: str):
    """An empty bucket, read through a boto3 client of its own."""
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET)
    yield s3
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    s3.delete_bucket(Bucket=BUCKET)


def stored(s3, key: str) -> dict:
    return s3.get_object(Bucket=BUCKET, Key=f"status/{key}")


def mark(s3, key: str) -> None:
    """Set a CacheControl of our own on an object, which only a new upload of it would undo."""
    s3.copy_object(Bucket=BUCKET, Key=f"status/{key}", CopySource={"Bucket": BUCKET, "Key": f"status/{key}"},
                   MetadataDirective="REPLACE", ContentType=stored(s3, key)["ContentType"], CacheControl="marked")


def test_the_site_is_uploaded_with_its_types_and_caching_and_only_what_changed_goes_again(
        app, session, settings, s3_server, bucket):
    kept, deleted = an_incident(session, "Kept incident"), an_incident(session, "Deleted incident")
    bucket.put_object(Bucket=BUCKET, Key="elsewhere/keep.txt", Body=b"not under the prefix")
    worker = publishing_worker(app, settings, publish_s3_url=f"s3://{BUCKET}/status",
                               publish_s3_endpoint_url=s3_server, **KEYS)
    publish_until(worker, lambda: worker.publisher.published is not None)

    files = render_site(app).files
    keys = {item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET, Prefix="status/")["Contents"]}
    assert keys == {f"status/{name}" for name in files}
    for name, content_type, cache in [
        ("index.html", "text/html; charset=utf-8", PAGE_CACHE),
        (f"incidents/{kept.code}/index.html", "text/html; charset=utf-8", PAGE_CACHE),
        ("api/v2/summary.json", "application/json", PAGE_CACHE),
        ("history.rss", "application/rss+xml; charset=utf-8", PAGE_CACHE),
        ("history.atom", "application/atom+xml; charset=utf-8", PAGE_CACHE),
        ("badge.svg", "image/svg+xml; charset=utf-8", PAGE_CACHE),
        ("static/style.css", "text/css; charset=utf-8", STATIC_CACHE),
    ]:
        found = stored(bucket, name)
        assert found["Body"].read() == files[name], name
        assert (found["ContentType"], found["CacheControl"]) == (content_type, cache), name

    mark(bucket, "static/style.css")
    mark(bucket, f"incidents/{kept.code}/index.html")
    mark(bucket, "index.html")
    lifecycle.delete_incident(session, ACTOR, deleted)
    session.commit()
    before = worker.publisher.published
    publish_until(worker, lambda: worker.publisher.published not in (None, before))
    worker.close()

    gone = bucket.list_objects_v2(Bucket=BUCKET, Prefix=f"status/incidents/{deleted.code}/").get("KeyCount")
    assert gone == 0
    assert stored(bucket, "static/style.css")["CacheControl"] == "marked"  # unchanged: not uploaded again
    assert stored(bucket, f"incidents/{kept.code}/index.html")["CacheControl"] == "marked"
    changed = stored(bucket, "index.html")
    assert changed["CacheControl"] == PAGE_CACHE and changed["Body"].read() == render_site(app).files["index.html"]
    assert bucket.get_object(Bucket=BUCKET, Key="elsewhere/keep.txt")["Body"].read() == b"not under the prefix"


def test_a_restarted_publisher_uploads_nothing_that_is_already_there(app, session, s3_server, bucket):
    files = render_site(app).files
    first = S3Target(f"s3://{BUCKET}/status", s3_server, "testing", "testing").publish(files)
    assert sorted(first.written) == sorted(files)
    again = S3Target(f"s3://{BUCKET}/status/", s3_server, "testing", "testing").publish(files)
    assert (again.written, again.removed) == ([], [])


def test_keys_from_boto3s_own_chain_are_used_when_no_key_files_are_given(app, session, s3_server, bucket,
                                                                           monkeypatch, tmp_path: Path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-the-environment")
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):  # the environment is the only source
        monkeypatch.setenv(name, str(tmp_path / "none"))
    target = S3Target(f"s3://{BUCKET}", s3_server)
    assert target.publish({"index.html": b"hello"}).written == ["index.html"]
    assert bucket.get_object(Bucket=BUCKET, Key="index.html")["Body"].read() == b"hello"


def test_an_unreachable_store_is_logged_and_retried_without_raising(app, session, settings, caplog):
    closed = f"http://127.0.0.1:{free_port()}"
    worker = publishing_worker(app, settings, publish_s3_url=f"s3://{BUCKET}", publish_s3_endpoint_url=closed,
                               **KEYS)
    with caplog.at_level(logging.ERROR, logger="statuspage.publish"):
        publish_until(worker, lambda: worker.publisher.failures >= 1, seconds=30)
    worker.close()
    assert "publishing the public site failed" in caplog.text and worker.publisher.published is None
