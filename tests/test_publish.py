"""Publishing: the public site mirrored to a folder within seconds of each change, atomically, by the worker."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from statuspage import create_app
from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.config import SettingError, Settings
from statuspage.incidents import lifecycle
from statuspage.tools import publish, static_export
from statuspage.tools.publish_dir import MANIFEST, Mirrored, mirror
from statuspage.worker import Worker
from tests.test_public_resilience import count_renders

ACTOR = Actor.system("test")


def publish_until(worker: Worker, done: Callable[[], bool], seconds: float = 5.0) -> float:
    """Run the worker's publish step until `done()`; how long it took (fails after `seconds`)."""
    start = time.monotonic()
    while not done():
        assert time.monotonic() - start < seconds, "not published in time"
        worker.handle_one_publish()
        time.sleep(0.02)
    return time.monotonic() - start


def publishing_worker(app, settings: Settings, **where) -> Worker:
    """The worker as `flask statuspage worker` builds it, publishing where `where` says."""
    settings = dataclasses.replace(settings, **where)
    return Worker(app.extensions["statuspage.db"], settings=settings,
                  publisher=publish.publisher_for(app, settings))


def an_incident(session, name: str = "Database down"):
    component = catalog.create_component(session, ACTOR, f"{name} component")
    incident = lifecycle.open_incident(session, ACTOR, name=name, body="Looking.",
                                       component_statuses={component.code: "major_outage"})
    session.commit()
    return incident


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.tmp")]


# --- the worker step ---------------------------------------------------------------------------------------


def test_the_worker_publishes_at_start_up_and_within_seconds_of_each_change(app, client, session, settings,
                                                                           tmp_path):
    site = tmp_path / "site"
    worker = publishing_worker(app, settings, publish_dir=site)
    try:
        publish_until(worker, lambda: (site / "index.html").is_file())
        assert (site / "api/v2/summary.json").read_bytes() == client.get("/api/v2/summary.json").get_data()

        incident = an_incident(session)
        page = site / f"incidents/{incident.code}/index.html"
        link = f'href="incidents/{incident.code}/index.html"'
        # Files land one by one: the change is published once the home page links to the new page.
        took = publish_until(worker, lambda: page.is_file() and link in (site / "index.html").read_text())
        assert took < 5
        assert (site / "api/v2/summary.json").read_bytes() == client.get("/api/v2/summary.json").get_data()

        lifecycle.delete_incident(session, ACTOR, incident)
        session.commit()
        publish_until(worker, lambda: not page.exists())
        worker.close()  # let the publish in flight finish its removals
        assert not (site / "incidents" / incident.code).exists()
        assert f"incidents/{incident.code}" not in (site / "index.html").read_text()
        assert leftovers(site) == []
    finally:
        worker.close()


def test_nothing_is_published_again_while_the_version_stays(app, session, settings, tmp_path):
    site = tmp_path / "site"
    worker = publishing_worker(app, settings, publish_dir=site)
    publish_until(worker, lambda: worker.publisher.published is not None)
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*")}
    for _ in range(5):
        assert worker.handle_one_publish() is False
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*")} == before
    worker.close()


def test_pages_a_web_process_rendered_for_this_version_are_not_rendered_again(app, session, settings, tmp_path,
                                                                              monkeypatch):
    incident = an_incident(session)
    web = create_app(dataclasses.replace(settings, instance_dir=tmp_path / "web")).test_client()
    for url in ["/", "/history", f"/incidents/{incident.code}"]:
        assert web.get(url).status_code == 200
    renders = count_renders(monkeypatch)
    worker = publishing_worker(app, settings, publish_dir=tmp_path / "site")
    publish_until(worker, lambda: worker.publisher.published is not None)
    worker.close()
    assert "text/html" not in renders
    assert "application/json" in renders  # nobody had asked for the JSON yet: the publisher rendered it
    web.application.extensions["statuspage.db"].engine.dispose()


def test_a_failing_publish_is_logged_and_retried_and_the_loop_goes_on(app, session, settings, tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    site = blocker / "site"
    worker = publishing_worker(app, settings, publish_dir=site)
    with caplog.at_level(logging.ERROR, logger="statuspage.publish"):
        worker.run_once()
        publish_until(worker, lambda: worker.publisher.failures >= 2)
    assert "publishing the public site failed" in caplog.text
    assert worker.publisher.published is None

    blocker.unlink()  # the disk is back
    publish_until(worker, lambda: worker.publisher.published is not None)
    assert (site / "index.html").is_file() and worker.publisher.failures == 0
    worker.close()


def test_one_target_failing_does_not_keep_the_others_stale(app, session, settings, tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    good = tmp_path / "good"
    publisher = publish.Publisher(app, [publish.DirTarget(blocker / "site"), publish.DirTarget(good)])
    worker = Worker(app.extensions["statuspage.db"], settings=settings, publisher=publisher)
    with caplog.at_level(logging.ERROR, logger="statuspage.publish"):
        publish_until(worker, lambda: publisher.failures >= 1)
    worker.close()
    assert (good / "index.html").is_file()
    assert str(blocker / "site") in caplog.text


class HangingTarget:
    """A store that does not answer until released (a hanging S3, say)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()

    def publish(self, files: dict[str, bytes]) -> Mirrored:
        self.entered.set()
        if not self.released.wait(30):
            raise TimeoutError("nobody released the store: the worker was waiting for it")
        return Mirrored([], [])


def test_a_hanging_target_does_not_hold_up_the_other_steps(app, session, settings):
    target = HangingTarget()
    worker = Worker(app.extensions["statuspage.db"], settings=settings,
                    publisher=publish.Publisher(app, [target]))
    worker.run_once()
    assert target.entered.wait(30)
    worker.run_once()  # returns while the publish still hangs
    target.released.set()
    worker.close()
    assert worker.publisher.published is not None and worker.publisher.failures == 0


# --- the folder: atomic, and only our own files removed --------------------------------------------------


def test_changed_files_are_replaced_not_rewritten_in_place_and_unchanged_ones_are_left_alone(tmp_path):
    site = tmp_path / "site"
    mirror(site, {"index.html": b"one", "incidents/a/index.html": b"a"})
    held = (site / "index.html").open("rb")  # a reader in the middle of the old file
    old_inode = (site / "index.html").stat().st_ino
    untouched = (site / "incidents/a/index.html").stat()

    done = mirror(site, {"index.html": b"two", "incidents/a/index.html": b"a"})

    assert done.written == ["index.html"]
    assert (site / "index.html").stat().st_ino != old_inode
    assert held.read() == b"one"
    held.close()
    assert (site / "incidents/a/index.html").stat().st_mtime_ns == untouched.st_mtime_ns
    assert oct((site / "index.html").stat().st_mode & 0o777) == oct(0o644)
    assert leftovers(site) == []


def test_a_reader_never_sees_half_a_file(tmp_path):
    site = tmp_path / "site"
    versions = [bytes([65 + n]) * 300_000 for n in range(2)]
    mirror(site, {"index.html": versions[0]})
    seen: set[bytes] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.add((site / "index.html").read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    for n in range(60):
        mirror(site, {"index.html": versions[n % 2]})
    stop.set()
    reader.join()
    assert seen <= set(versions)
    assert leftovers(site) == []


def test_only_files_a_publish_wrote_are_removed_with_their_empty_folders(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "robots.txt").write_text("User-agent: *\n")  # the operator's own file
    mirror(site, {"index.html": b"x", "incidents/a/index.html": b"a", "incidents/b/index.html": b"b"})

    done = mirror(site, {"index.html": b"x", "incidents/a/index.html": b"a"})

    assert done.removed == ["incidents/b/index.html"]
    assert not (site / "incidents/b").exists() and (site / "incidents/a/index.html").is_file()
    assert (site / "robots.txt").is_file()
    assert (site / MANIFEST).read_text().splitlines() == ["incidents/a/index.html", "index.html"]


def test_a_hand_edited_list_cannot_remove_files_outside_the_folder(tmp_path):
    outside = tmp_path / "precious.txt"
    outside.write_text("keep")
    site = tmp_path / "site"
    site.mkdir()
    (site / MANIFEST).write_text("../precious.txt\n")
    mirror(site, {"index.html": b"x"})
    assert outside.read_text() == "keep"


def test_export_static_is_the_one_shot_form_and_drops_a_deleted_incident(runner, session, tmp_path):
    incident = an_incident(session)
    site = tmp_path / "site"
    assert runner.invoke(args=["statuspage", "export-static", str(site)]).exit_code == 0
    assert (site / f"incidents/{incident.code}/index.html").is_file()
    lifecycle.delete_incident(session, ACTOR, incident)
    session.commit()
    result = runner.invoke(args=["statuspage", "export-static", str(site)])
    assert result.exit_code == 0, result.output
    assert not (site / "incidents" / incident.code).exists()


def test_the_uptime_details_a_page_fetches_are_published_beside_it(app, client, session, tmp_path):
    component = catalog.create_component(session, ACTOR, "Website")
    session.commit()
    site = tmp_path / "site"
    static_export.export(app, site)
    days = re.search(r'data-days="([^"]+)"', (site / "index.html").read_text()).group(1)
    assert days == f"uptime/{component.code}.json"
    assert (site / days).read_bytes() == client.get(f"/uptime/{component.code}.json").get_data()


def test_a_failed_export_leaves_the_last_good_copy_in_place(app, settings, session, tmp_path):
    an_incident(session)
    site = tmp_path / "site"
    static_export.export(app, site)
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    unreachable = create_app(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'missing.db'}",
                                                 instance_dir=tmp_path / "elsewhere"))
    with pytest.raises(Exception, match="unable to open database|answered 503"):
        static_export.export(unreachable, site)
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before


# --- settings ----------------------------------------------------------------------------------------------


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"STATUSPAGE_INSTANCE_DIR": str(tmp_path / "instance"), **values}


def test_publishing_is_off_unless_a_target_is_set(app, settings):
    assert settings.publish_dir is None and settings.publish_s3_url is None
    assert publish.publisher_for(app, settings) is None


def test_the_publish_settings_are_read_with_keys_from_files(tmp_path):
    (tmp_path / "key-id").write_text("AKIDEXAMPLE\n")
    (tmp_path / "secret").write_text("s3cr3t\n")
    settings = Settings.from_env(env(
        tmp_path, STATUSPAGE_PUBLISH_DIR=str(tmp_path / "site"),
        STATUSPAGE_PUBLISH_S3_URL="s3://status-bucket/public", STATUSPAGE_PUBLISH_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        AWS_ACCESS_KEY_ID_FILE=str(tmp_path / "key-id"), AWS_SECRET_ACCESS_KEY_FILE=str(tmp_path / "secret")))
    assert settings.publish_dir == tmp_path / "site"
    assert settings.publish_s3_url == "s3://status-bucket/public"
    assert settings.publish_s3_endpoint_url == "http://127.0.0.1:9000"
    assert (settings.publish_s3_access_key_id, settings.publish_s3_secret_access_key) == ("AKIDEXAMPLE", "s3cr3t")
    assert "s3cr3t" not in repr(settings)


def test_without_key_files_boto3_finds_the_keys_itself(tmp_path):
    settings = Settings.from_env(env(tmp_path, STATUSPAGE_PUBLISH_S3_URL="s3://status-bucket",
                                     AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="s3cr3t"))
    assert settings.publish_s3_access_key_id is None and settings.publish_s3_secret_access_key is None


@pytest.mark.parametrize(("values", "message"), [
    ({"STATUSPAGE_PUBLISH_S3_URL": "https://status-bucket/x"}, "is not s3://bucket"),
    ({"STATUSPAGE_PUBLISH_S3_URL": "s3://"}, "is not s3://bucket"),
    ({"STATUSPAGE_PUBLISH_S3_URL": "s3://status-bucket", "STATUSPAGE_PUBLISH_S3_ENDPOINT_URL": "minio:9000"},
     "is not http"),
    ({"STATUSPAGE_PUBLISH_S3_URL": "s3://status-bucket", "AWS_ACCESS_KEY_ID_FILE": os.devnull},
     "go together"),
])
def test_bad_publish_settings_are_refused_at_start_up(tmp_path, values, message):
    with pytest.raises(SettingError, match=message):
        Settings.from_env(env(tmp_path, **values))
