"""Localized command names and descriptions: the schema ``portbot discord --sync`` publishes to the fake Discord
carries a translation for every locale, and every name keeps Discord's rules."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.commands import Portbot
from bot.discord import run
from bot.discord.translations import LOCALES, TRANSLATIONS
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.discord.test_run import load

LOCALE_CODES = [locale.value for locale in LOCALES]
REQUIRED = ["de", "fr", "es-ES", "pt-BR", "ru", "pl"]
CHAT_INPUT, MESSAGE = 1, 3
SUBCOMMAND_TYPES = (1, 2)
#: Choices that read the same in every language ("TCP", "UDP") need no translation.
UNTRANSLATED_CHOICES = {"TCP", "UDP"}


def valid_name(name: str) -> bool:
    """Discord's rule for slash-command and option names: ^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$,
    in lower case where the script has one."""
    if not 1 <= len(name) <= 32 or name != name.lower():
        return False
    return all(ch in "-_" or unicodedata.category(ch)[0] in "LNM" for ch in name)


def walk(command: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, item) for a command, its subcommands, options and choices."""
    yield command["name"], command
    for option in command.get("options") or []:
        yield from (
            (f"{command['name']} {path}", item)
            for path, item in (walk(option) if option["type"] in SUBCOMMAND_TYPES else _option(option))
        )


def _option(option: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield option["name"], option
    for choice in option.get("choices") or []:
        yield f"{option['name']}={choice['value']}", {**choice, "kind": "choice"}


@pytest.fixture
async def schema(
    fake_discord: FakeDiscord, portbot: Portbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> list[dict[str, Any]]:
    """The global command schema as synced."""
    await run(load(monkeypatch, fake_discord, tmp_path), portbot, sync=True)
    return fake_discord.commands[None]


def test_every_translation_covers_the_required_locales() -> None:
    """Each English string has a German, French, Spanish, Brazilian Portuguese, Russian and Polish text."""
    codes = {locale.value for locale in LOCALES}
    assert set(REQUIRED) <= codes
    for english, texts in TRANSLATIONS.items():
        assert {locale.value for locale in texts} >= set(REQUIRED) - {"es-419"}, english
        assert all(text.strip() == text and text for text in texts.values()), english


async def test_every_name_and_description_is_localized_in_every_locale(schema: list[dict[str, Any]]) -> None:
    """Commands, subcommands, options and choices all carry name (and description) localizations."""
    checked = 0
    for command in schema:
        for path, item in walk(command):
            if item.get("kind") == "choice":
                if item["name"] in UNTRANSLATED_CHOICES:
                    continue
                assert sorted(item["name_localizations"]) == sorted(LOCALE_CODES), path
                assert all(len(text) <= 100 for text in item["name_localizations"].values()), path
                checked += 1
                continue
            assert sorted(item["name_localizations"]) == sorted(LOCALE_CODES), path
            if item.get("type") != MESSAGE or item is not command:
                assert sorted(item["description_localizations"]) == sorted(LOCALE_CODES), path
                assert all(1 <= len(t) <= 100 for t in item["description_localizations"].values()), path
            checked += 1
    # 6 commands, 1 subcommand group (watch), 5 subcommands, 18 options, 5 translated choices
    assert checked == 35


async def test_localized_names_follow_discords_rules(schema: list[dict[str, Any]]) -> None:
    """Slash-command and option names: lower case, 1-32 letters, digits, - or _; context menus: 1-32 chars."""
    for command in schema:
        if command["type"] == MESSAGE:
            for text in (command["name"], *command["name_localizations"].values()):
                assert 1 <= len(text) <= 32, text
            continue
        for path, item in walk(command):
            if item.get("kind") == "choice":
                continue
            for name in (item["name"], *item["name_localizations"].values()):
                assert valid_name(name), f"{path}: {name!r}"


@pytest.mark.parametrize("locale", LOCALE_CODES)
async def test_localized_names_are_unique_where_discord_requires(
    schema: list[dict[str, Any]], locale: str
) -> None:
    """No two commands of one type, and no two options of one command, share a name in any locale."""

    def names(items: list[dict[str, Any]]) -> list[str]:
        return [item["name_localizations"][locale] for item in items]

    for kind in (CHAT_INPUT, MESSAGE):
        top = names([c for c in schema if c["type"] == kind])
        assert len(set(top)) == len(top), top
    for command in schema:
        for _path, item in walk(command):
            options = item.get("options") or []
            if options and item.get("kind") != "choice":
                local = names(options)
                assert len(set(local)) == len(local), (item["name"], local)


async def test_the_german_schema_reads_as_written(schema: list[dict[str, Any]]) -> None:
    """A spot check of what a German member sees: /portprüfung with host, port, protokoll, merken."""
    check = next(c for c in schema if c["name"] == "portcheck")
    assert check["name_localizations"]["de"] == "portprüfung"
    assert check["description_localizations"]["de"] == "Prüfe, ob ein Port aus dem Internet erreichbar ist"
    assert [o["name_localizations"]["de"] for o in check["options"]] == [
        "host",
        "port",
        "protokoll",
        "merken",
    ]
    menu = next(c for c in schema if c["type"] == MESSAGE)
    assert menu["name_localizations"] == {
        "de": "Diesen Server prüfen",
        "fr": "Vérifier ce serveur",
        "es-ES": "Comprobar este servidor",
        "es-419": "Comprobar este servidor",
        "pt-BR": "Verificar este servidor",
        "ru": "Проверить этот сервер",
        "pl": "Sprawdź ten serwer",
    }


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("portprüfung", True),
        ("проверить-порт", True),
        ("sprawdź-port", True),
        ("probe_results", True),
        ("Portprüfung", False),  # capitals
        ("vérifier port", False),  # a space
        ("port?", False),
        ("x" * 33, False),
        ("", False),
    ],
)
def test_the_name_rule_itself_tells_good_from_bad(name: str, valid: bool) -> None:
    """The checker above rejects what Discord rejects, so the schema tests can fail."""
    assert valid_name(name) is valid
