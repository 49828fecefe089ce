"""Real local receivers for the chat and SMS channels: threaded HTTP servers on loopback that check
each request against the service's documented shape and answer as the service does.

Loaded as a pytest plugin from conftest.py: `chat_receiver(service)` starts one for "slack",
"mattermost", "teams", "discord" or a Statuspage "webhook"; `twilio` is a Twilio-compatible Messages API. Plan answers
with `receiver.answers` (status, headers, body); a request whose payload breaks the documented
shape is answered 400 (Slack's `invalid_payload`) and its reasons kept in `problems`.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

Answer = tuple[int, dict[str, str], bytes]
# Links are the only angle brackets Slack's mrkdwn may carry from us: <https://...|label>.
SLACK_LINK = re.compile(r"<https?://[^|<>\s]+\|[^<>]*>")
CARD = "application/vnd.microsoft.card.adaptive"
TEAMS_ELEMENTS = {"RichTextBlock", "FactSet", "TextBlock"}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Receiver:
    """One service: what it received, what it will answer, what was wrong with what it got."""

    service: str
    url: str = ""
    answers: list[Answer] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Twilio: the account and the token Basic auth must carry.
    account: str = "AC0123456789abcdef"
    token: str = "twilio-test-token"
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Seconds to wait before answering (a slow service).
    delay: float = 0.0

    @property
    def delivered(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.answered < 300]

    def payloads(self) -> list[Any]:
        return [r.form() if self.service == "twilio" else r.json() for r in self.delivered]


def _check_slack(body: Any) -> list[str]:
    problems = []
    if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
        return ["no text"]
    blocks = body.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        problems.append("blocks must be a list of at most 50")
    texts = [body["text"]]
    for block in blocks:
        if block.get("type") == "section":
            text = block.get("text", {})
            if text.get("type") != "mrkdwn" or not 0 < len(text.get("text", "")) <= 3000:
                problems.append("a section's text is mrkdwn of 1 to 3000 characters")
            texts.append(text.get("text", ""))
        elif block.get("type") == "context":
            elements = block.get("elements", [])
            if not 0 < len(elements) <= 10:
                problems.append("a context has 1 to 10 elements")
            texts += [e.get("text", "") for e in elements]
        else:
            problems.append(f"unexpected block {block.get('type')!r}")
    for text in texts:
        stray = SLACK_LINK.sub("", text)
        if "<" in stray or ">" in stray:
            problems.append(f"an angle bracket outside a link (a mention or injected link): {text[:200]!r}")
    return problems


def _check_teams(body: Any) -> list[str]:
    if not isinstance(body, dict) or body.get("type") != "message":
        return ["the envelope's type must be message"]
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return ["one attachment"]
    attachment = attachments[0]
    card = attachment.get("content", {})
    problems = []
    if attachment.get("contentType") != CARD or "contentUrl" not in attachment:
        problems.append("the attachment is an Adaptive Card")
    if card.get("type") != "AdaptiveCard" or not isinstance(card.get("version"), str) or "$schema" not in card:
        problems.append("the content is an AdaptiveCard with a version and $schema")
    for element in card.get("body", []):
        if element.get("type") not in TEAMS_ELEMENTS:
            problems.append(f"unexpected element {element.get('type')!r}")
        for run in element.get("inlines", []):
            if run.get("type") != "TextRun" or not isinstance(run.get("text"), str):
                problems.append("inlines are TextRuns")
    for action in card.get("actions", []):
        if action.get("type") != "Action.OpenUrl" or not str(action.get("url", "")).startswith("http"):
            problems.append("actions open our URLs")
    return problems


def _check_discord(body: Any) -> list[str]:
    if not isinstance(body, dict) or body.get("allowed_mentions") != {"parse": []}:
        return ["allowed_mentions must be {'parse': []}"]
    embeds = body.get("embeds")
    if not isinstance(embeds, list) or not 0 < len(embeds) <= 10:
        return ["1 to 10 embeds"]
    problems, total = [], 0
    for embed in embeds:
        title, description = embed.get("title", ""), embed.get("description", "")
        fields = embed.get("fields", [])
        if len(title) > 256 or len(description) > 4096 or len(fields) > 25:
            problems.append("title 256, description 4096, 25 fields")
        if any(len(f.get("name", "")) > 256 or len(f.get("value", "")) > 1024 for f in fields):
            problems.append("field name 256, value 1024")
        if not isinstance(embed.get("color", 0), int):
            problems.append("color is an integer")
        total += len(title) + len(description) + sum(len(f["name"]) + len(f["value"]) for f in fields)
    if total > 6000:
        problems.append(f"{total} characters in embeds, more than 6000")
    return problems


def _check_twilio(receiver: Receiver, path: str, headers: dict[str, str], body: bytes) -> list[str]:
    problems = []
    if path != f"/2010-04-01/Accounts/{receiver.account}/Messages.json":
        problems.append(f"unexpected path {path}")
    if headers.get("Content-Type") != "application/x-www-form-urlencoded":
        problems.append("a form body")
    expected = "Basic " + base64.b64encode(f"{receiver.account}:{receiver.token}".encode()).decode()
    if headers.get("Authorization") != expected:
        problems.append("Basic auth with the account SID and token")
    form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
    if not re.fullmatch(r"\+[1-9]\d{6,14}", form.get("To", "")) or not form.get("From") or not form.get("Body"):
        problems.append("To (E.164), From and Body are required")
    if len(form.get("Body", "")) > 1600:
        problems.append("Body is at most 1600 characters")
    return problems


PD_SEVERITIES = {"critical", "error", "warning", "info"}


def _check_pagerduty(body: Any) -> list[str]:
    """PagerDuty Events API v2: routing_key, event_action, dedup_key; a trigger's payload has summary
    (at most 1024), source and severity."""
    if not isinstance(body, dict):
        return ["not an object"]
    problems = []
    if not re.fullmatch(r"[A-Za-z0-9]{32}", str(body.get("routing_key", ""))):
        problems.append("routing_key is a 32-character integration key")
    if body.get("event_action") not in ("trigger", "acknowledge", "resolve"):
        problems.append("event_action is trigger, acknowledge or resolve")
    if not 0 < len(str(body.get("dedup_key") or "")) <= 255:
        problems.append("a dedup_key of at most 255 characters")
    if body.get("event_action") == "trigger":
        payload = body.get("payload") or {}
        if not 0 < len(str(payload.get("summary", ""))) <= 1024 or not payload.get("source"):
            problems.append("a trigger's payload has a summary (1 to 1024) and a source")
        if payload.get("severity") not in PD_SEVERITIES:
            problems.append("severity is critical, error, warning or info")
        if any(value is None for value in payload.values()):
            problems.append("no null fields in the payload")
    return problems


CHECKS: dict[str, Callable[[Any], list[str]]] = {
    "pagerduty": _check_pagerduty,
    "slack": _check_slack, "mattermost": _check_slack, "teams": _check_teams, "discord": _check_discord,
    "webhook": lambda body: [] if isinstance(body, dict) and "meta" in body else ["not a Statuspage webhook body"],
}
# What each service answers a good request with.
SUCCESS: dict[str, Answer] = {
    "slack": (200, {"Content-Type": "text/plain"}, b"ok"),
    "mattermost": (200, {"Content-Type": "text/plain"}, b"ok"),
    "teams": (202, {}, b""),
    "webhook": (200, {}, b""),
    "discord": (204, {}, b""),
    "pagerduty": (202, {"Content-Type": "application/json"},
                  b'{"status": "success", "message": "Event processed", "dedup_key": "from-request"}'),
    "twilio": (201, {"Content-Type": "application/json"}, b'{"sid": "SM0123", "status": "queued"}'),
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = dict(self.headers)
        if receiver.service == "twilio":
            problems = _check_twilio(receiver, self.path, headers, body)
        else:
            try:
                problems = CHECKS[receiver.service](json.loads(body))
            except ValueError:
                problems = ["not JSON"]
        if receiver.delay:
            time.sleep(receiver.delay)
        with receiver.lock:
            status, extra, answer = (400, {}, b"invalid_payload") if problems else (
                receiver.answers.pop(0) if receiver.answers else SUCCESS[receiver.service])
            receiver.problems += problems
            # Recorded before answering, so the worker's send has returned only once this is visible.
            receiver.requests.append(Received(self.path, headers, body, status))
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def chat_receiver() -> Iterator[Callable[[str], Receiver]]:
    """Start receivers: `chat_receiver("slack")` is one listening on loopback until the test ends."""
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(service: str, path: str = "/hooks/T000/B000/secret") -> Receiver:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.receiver = Receiver(service, url=f"http://127.0.0.1:{server.server_address[1]}{path}")  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
        return server.receiver  # type: ignore[attr-defined]

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def twilio(chat_receiver) -> Receiver:
    """A Twilio-compatible Messages API on loopback; `url` is its base (STATUSPAGE_SMS_API_URL)."""
    receiver = chat_receiver("twilio", "")
    return receiver
