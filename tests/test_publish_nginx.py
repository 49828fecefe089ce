"""The published folder behind real nginx, configured by docs/nginx-static.conf, answers as the live site does."""

from __future__ import annotations

import gzip
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
import requests

from statuspage.config import ROOT
from statuspage.tools import static_export
from statuspage.tools.static_export import relativize
from tests.conftest import free_port
from tests.test_publish import an_incident

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# What the docs file leaves to the main nginx.conf of a distribution, for a server of our own.
MAIN = """
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{server}
}}
"""


def config_for(root: Path, port: int, prefix: Path) -> str:
    """docs/nginx-static.conf with our folder and a loopback port, inside a minimal main config."""
    server = (ROOT / "docs/nginx-static.conf").read_text()
    server, listens = re.subn(r"^(\s*)listen\s+[^;]+;", rf"\1listen 127.0.0.1:{port};", server, flags=re.M)
    server, roots = re.subn(r"^(\s*)root\s+[^;]+;", rf"\1root {root};", server, flags=re.M)
    assert (listens, roots) == (1, 1), "the docs config should have one listen and one root line"
    # Run by root (as here), nginx's workers would switch to `nobody`, who cannot read a private temp folder.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    return MAIN.format(prefix=prefix, user=user, server=server)


def wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 10) -> None:
    """Until the process listens on `port`; fails with its log if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited: {log.read_text() if log.exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"{process.args[0]} did not start listening")


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """Real nginx serving a folder (empty at first) as the docs configure it; yields (folder, origin)."""
    assert Path(NGINX).exists(), "run `make test` to install nginx"
    site, prefix, port = tmp_path / "site", tmp_path / "nginx", free_port()
    site.mkdir()
    prefix.mkdir()
    (prefix / "nginx.conf").write_text(config_for(site, port, prefix))
    checked = subprocess.run([NGINX, "-t", "-p", str(prefix), "-e", str(prefix / "error.log"),
                              "-c", str(prefix / "nginx.conf")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"),
                                "-c", str(prefix / "nginx.conf")])
    try:
        wait_for_port(port, process, prefix / "error.log")
        yield site, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def test_nginx_serves_the_published_site_as_the_live_site_answers(app, client, session, nginx):
    site, origin = nginx
    incident = an_incident(session)
    static_export.export(app, site)
    base_url = app.config["STATUSPAGE"].base_url

    for path, file in [("/", "index.html"), (f"/incidents/{incident.code}", f"incidents/{incident.code}/index.html")]:
        live, served = client.get(path), requests.get(origin + path, timeout=5)
        assert served.status_code == 200, path
        assert served.headers["Content-Type"] == live.headers["Content-Type"] == "text/html; charset=utf-8"
        assert served.content == relativize(live.get_data(as_text=True), file, base_url).encode()
        assert served.headers["Cache-Control"] == "public, max-age=30"

    for path in ["/history.rss", "/api/v2/summary.json"]:
        live, served = client.get(path), requests.get(origin + path, timeout=5)
        assert served.status_code == 200, path
        assert served.headers["Content-Type"] == live.headers["Content-Type"], path
        assert served.content == live.get_data(), path
    feed = feedparser.parse(requests.get(origin + "/history.rss", timeout=5).content)
    assert feed.bozo == 0 and [entry.title for entry in feed.entries] == ["Database down"]
    assert requests.get(origin + "/api/v2/summary.json", timeout=5).json()["incidents"][0]["id"] == incident.code


def test_nginx_sends_the_precompressed_files_caches_static_files_longer_and_hides_the_file_list(app, session, nginx):
    site, origin = nginx
    an_incident(session)
    static_export.export(app, site)

    page = requests.get(origin + "/", headers={"Accept-Encoding": "gzip"}, timeout=5, stream=True)
    assert page.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in page.headers["Vary"]
    sent = page.raw.read()
    assert gzip.decompress(sent) == (site / "index.html").read_bytes()
    assert sent == (site / "index.html.gz").read_bytes()  # the file compressed once, not each response
    style = requests.get(origin + "/static/style.css", timeout=5)
    assert style.status_code == 200 and style.headers["Content-Type"] == "text/css; charset=utf-8"
    assert style.headers["Cache-Control"] == "public, max-age=3600"
    assert requests.get(origin + "/history.atom", timeout=5).headers["Content-Type"] == (
        "application/atom+xml; charset=utf-8")
    assert requests.get(origin + "/.statuspage-files", timeout=5).status_code == 404
    assert requests.get(origin + "/incidents/nosuchthing", timeout=5).status_code == 404
