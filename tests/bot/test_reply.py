"""The reply model: its kinds, and its masking, which keeps home addresses out of public channels."""

from __future__ import annotations

import json

import pytest

from bot.core.reply import Action, ActionKind, Field, Reply, ReplyKind, Status, mask


@pytest.mark.parametrize(
    ("secret", "masked"),
    [
        ("203.0.113.7", "203.0.x.x"),
        ("2001:db8:1234::7", "2001:db8:…"),
        ("mc.example.com", "mc….com"),
        ("example.com", "ex….com"),
    ],
)
def test_mask_keeps_only_a_recognisable_prefix(secret: str, masked: str) -> None:
    """mask() keeps the network part and hides the rest."""
    assert mask(secret) == masked


def test_masked_reply_hides_every_sensitive_string_and_drops_share() -> None:
    """A shared reply never contains the address, and cannot be shared again."""
    reply = Reply(
        title="203.0.113.7:25565 is open",
        summary="Checked 203.0.113.7 (home.example.com).",
        fields=(Field("203.0.113.7", "open from home.example.com"),),
        status=Status.OK,
        actions=(Action(ActionKind.SHARE, "Share"), Action(ActionKind.ASK, "What is 25565?", query="25565")),
        kind="probe",
        private=True,
        sensitive=("203.0.113.7", "home.example.com"),
    )
    shared = reply.masked()
    text = " ".join([shared.title, shared.summary, *(f.name + f.value for f in shared.fields)])
    assert "203.0.113.7" not in text and "home.example.com" not in text
    assert "203.0.x.x" in text
    assert not shared.private
    assert [a.kind for a in shared.actions] == [ActionKind.ASK]


@pytest.mark.parametrize(
    ("secret", "masked"),
    [
        ("::ffff:203.0.113.7", "0:0:…"),
        ("[2001:db8::7]:25565", "2001:db8:…"),
        ("http://u1:pw@mc.example.com:8080/x?y#z", "mc….com"),
        ("alice@mc.example.com", "mc….com"),
        ("mc.example.com:25565", "mc….com"),
        ("2130706433", "127.0.x.x"),
        ("0x7f.1", "127.0.x.x"),
        ("203.0.113.7:25565", "203.0.x.x"),
        ("myserver", "my…"),
    ],
)
def test_mask_reduces_every_spelling_to_its_host_first(secret: str, masked: str) -> None:
    """URLs, user@, ports, brackets and numeric IPv4 spellings never survive masking."""
    assert mask(secret) == masked


def test_masked_reply_hides_other_cases_and_the_longest_spelling_first() -> None:
    """A URL goes whole (no user name left behind) and a name in another case is masked too."""
    reply = Reply(
        title="Port check: http://u1@MC.Example.com",
        summary="mc.example.com answered.",
        kind="probe",
        private=True,
        sensitive=("mc.example.com", "http://u1@MC.Example.com"),
    )
    shared = reply.masked()
    assert (shared.title, shared.summary) == ("Port check: MC….com", "mc….com answered.")


def test_masked_reply_hides_addresses_that_are_on_no_list() -> None:
    """An address in text Portbot did not write (a worker's error) is masked even if not listed as sensitive."""
    reply = Reply(
        title="Port check: mc.example.com",
        summary="[2001:db8::9]:25565 answered; ::ffff:198.51.100.9 too. 10:30:00, v1.2.3, port 25565. 2001:db8::9.",
        fields=(Field("Not checked from Tokyo", "HTTP 403: mc.example.com resolves to 198.51.100.9."),),
        kind="probe",
        private=True,
        sensitive=("mc.example.com",),
    )
    shared = reply.masked()
    assert (
        shared.summary == "[2001:db8:…]:25565 answered; 0:0:… too. 10:30:00, v1.2.3, port 25565. 2001:db8:…."
    )
    assert shared.fields[0].value == "HTTP 403: mc….com resolves to 198.51.x.x."


@pytest.mark.parametrize(
    ("kind", "word"),
    [
        (ReplyKind.KNOWLEDGE, "knowledge"),
        (ReplyKind.PROBE, "probe"),
        (ReplyKind.HELP, "help"),
        (ReplyKind.ERROR, "error"),
    ],
)
def test_a_reply_kind_is_its_plain_word(kind: ReplyKind, word: str) -> None:
    """Each kind equals, prints and serialises as the word it replaced, so comparisons and JSON are unchanged."""
    assert (kind == word, str(kind), json.dumps(Reply("t", "s", kind=kind).kind)) == (True, word, f'"{word}"')


def test_a_reply_is_a_knowledge_answer_unless_told() -> None:
    """The default kind is knowledge."""
    assert Reply("t", "s").kind is ReplyKind.KNOWLEDGE
