"""bot/settings.py reads .env files by python-dotenv's rules (the parser pydantic-settings used before)."""

from __future__ import annotations

import io

import pytest
from dotenv import dotenv_values
from hypothesis import example, given
from hypothesis import strategies as st

from bot.settings import parse_dotenv

# The pieces .env files are made of, including the awkward ones: quotes, escapes, comments, export, ${VAR}.
PIECE = st.sampled_from(
    [
        "PORTBOT_A",
        "B",
        "c_1",
        "'Q K'",
        "export ",
        "=",
        " = ",
        "x",
        "1/minute",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "#",
        " # note",
        "'",
        '"',
        "\\",
        "\\n",
        "\\'",
        '\\"',
        "${B}",
        "${MISSING:-dflt}",
        "${c_1}",
        "$",
        "{",
        "}",
        "é",
        "\ufeff",
        "http://h:1/p?q=1#f",
    ]
)
ENVIRON = {"B": "from-env", "HOME": "/home/x"}


def python_dotenv(text: str) -> dict[str, str]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENVIRON.items():
            patch.setenv(name, value)
        parsed = dotenv_values(stream=io.StringIO(text))
    return {k: v for k, v in parsed.items() if v is not None}


@given(st.lists(PIECE, max_size=14).map("".join))
@example("A=1\nexport B = \"x\\ny\" # c\nC=${A}-${Z:-d}\n bad line\nD='q\\'r'\n#c\nE= #x\n")
@example('K="multi\nline" junk\nL=2\n')
@example("K=v\nK\nL=${K}\n")
def test_values_agree_with_python_dotenv(text: str) -> None:
    """For any file built from those pieces, the same names get the same values."""
    ours, _ = parse_dotenv(text, ENVIRON)
    assert ours == python_dotenv(text)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("A=1\nnot a binding\nB=2\n", [(2, "not a binding")]),
        ('A="unterminated\nB=2\n', [(1, 'A="unterminated')]),
        ("# only a comment\n\n", []),
    ],
)
def test_unreadable_lines_are_reported(text: str, bad: list[tuple[int, str]]) -> None:
    """Lines python-dotenv would skip with a warning come back with their number, for a clear error."""
    assert parse_dotenv(text, {})[1] == bad
