"""Markup in titles and updates never pings, mentions, links or injects, whatever chat service shows it."""

from __future__ import annotations

import json
import re

import pytest

from statuspage.db import utcnow
from statuspage.notify.channels.notice import WORD_JOINER
from tests.channel_builders import open_incident, subscribe, worker

NAME = "<!channel> @everyone [Reset your password](https://evil.example/reset) **now** <@U123> ${user.name}"
BODY = ("<!here> <!subscribe^S123|team> @here @channel @all <@U024BE7LH> <#C123> <https://evil.example|Click me>\n"
        "[Reset your password](https://evil.example/reset) ![pixel](https://evil.example/p.png) **bold** _it_ "
        "# Heading\n> quote ||spoiler|| `code` <t:1700000000:R> "
        '"}]},{"type":"Action.Submit","title":"Approve","data":{"x":1}},{"type":"TextBlock","text":"'
        " ${$root.secret} {{ template }} <at>Everyone</at> ops@example.com")


@pytest.fixture
def delivered(chat_receiver, session, mail_app, smtp_settings):
    """The message each chat service received about an incident whose name and update carry markup."""
    receivers = {name: chat_receiver(name) for name in ("slack", "mattermost", "teams", "discord")}
    for name, receiver in receivers.items():
        subscribe(session, name, receiver.url)
    open_incident(session, name=NAME, body=BODY)
    worker(mail_app, smtp_settings, [utcnow()]).run_once()
    for receiver in receivers.values():
        assert receiver.problems == [], receiver.service
    return {name: receiver.payloads()[0] for name, receiver in receivers.items()}


def texts(value) -> list[str]:
    """Every string in a payload, keys aside."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return [value] if isinstance(value, str) else []


MENTIONS = ["@everyone", "@here", "@channel", "@all"]


@pytest.mark.parametrize("service", ["slack", "mattermost", "teams", "discord"])
def test_no_text_can_mention_anyone(delivered, service):
    every = "\n".join(texts(delivered[service]))
    for mention in MENTIONS:
        assert mention not in every, mention
        assert mention.replace("@", "@" + WORD_JOINER) in every
    if service != "teams":  # Teams shows Slack's syntax as the text it is; its mentions need entities
        for raw in ("<!channel>", "<!here>", "<@U123>", "<@U024BE7LH>", "<#C123>", "<!subscribe"):
            assert not re.search(r"(?<!\\)" + re.escape(raw), every), raw
    assert "ops@example.com" in every.replace("\\", "")  # an address is no mention and stays as it is


def test_slack_shows_angle_brackets_as_entities_so_no_link_or_mention_forms(delivered):
    payload = delivered["slack"]
    every = "\n".join(texts(payload))
    assert "&lt;!channel&gt;" in every and "&lt;https://evil.example|Click me&gt;" in every
    # The only links are ours: the incident title and the subscriber's own links.
    links = [part.split("|")[0] for text in texts(payload) for part in text.split("<")[1:]]
    assert links and all(link.startswith("http://status.test/") for link in links)


def test_mattermost_reads_markdown_so_it_is_escaped_too(delivered):
    every = "\n".join(texts(delivered["mattermost"]))
    assert "\\[Reset your password\\]\\(https://evil.example/reset\\)" in every
    assert "\\*\\*now\\*\\*" in every
    assert "[Reset your password](" not in every


def test_an_update_is_sent_as_plain_text_so_its_markdown_links_and_images_are_gone(delivered):
    for service, payload in delivered.items():
        every = "\n".join(texts(payload))
        assert "evil.example/p.png" not in every, service


def test_discord_turns_mentions_off_and_escapes_markdown(delivered):
    payload = delivered["discord"]
    assert payload["allowed_mentions"] == {"parse": []}
    assert "content" not in payload
    [embed] = payload["embeds"]
    assert embed["title"].startswith("\\<!channel\\> @" + WORD_JOINER + "everyone \\[Reset your password\\]")
    assert "\\<t:1700000000:R\\>" in embed["description"]  # no timestamp markup of someone else's
    assert "\\|\\|spoiler\\|\\|" in embed["description"]


def test_teams_keeps_every_text_in_text_runs_and_its_card_has_only_our_elements(delivered):
    payload = delivered["teams"]
    card = payload["attachments"][0]["content"]
    assert [e["type"] for e in card["body"]] == ["RichTextBlock", "RichTextBlock", "RichTextBlock"]
    assert {a["type"] for a in card["actions"]} == {"Action.OpenUrl"}
    assert all(a["url"].startswith("http://status.test/") for a in card["actions"])
    runs = [run["text"] for element in card["body"] for run in element["inlines"]]
    assert any('"type":"Action.Submit"' in run for run in runs)  # shown as text, nothing more
    every = "\n".join(texts(payload))
    assert "${" not in every and "$" + WORD_JOINER + "{user.name}" in every
    assert json.dumps(payload).count('"Action.Submit"') == 0  # never a key or type of the card
    assert card["msteams"] == {"width": "Full"}  # no mention entities: <at>Everyone</at> stays text
