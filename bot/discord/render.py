"""Reply → Discord embed: status colour, safe text, and always within Discord's size limits.

Reply text is Portbot's own light markdown (``**bold**``, ``` `code` ```) with user-supplied strings (a query,
a host name, a server's MOTD) inside it. We cannot tell the two apart in the final string, so escaping keeps
every construct that could ping or mislead harmless wherever it appears, and leaves bold and code spans alone:

- mentions (``@everyone``, ``<@123>``, ``<@&1>``, ``<#1>``, ``</cmd:1>``) get a zero-width space after the
  ``@`` / ``<`` so Discord shows them as text (and ``AllowedMentions.none()`` stops pings on top of that);
- masked links ``[text](url)`` lose the ``](`` join, so the real address stays visible;
- line-start headings, subtext and quotes are escaped, so a MOTD cannot shout in a 3-line heading;
- backslashes are doubled, so user text cannot escape our closing ``**``;
- control characters and bidi overrides are dropped, so text cannot hide or reverse itself.

Code spans are found by pairing backticks; whatever a user slipped in, each piece ends up either inside a code
span (where nothing renders) or escaped outside one, so a wrong pairing only costs looks, never safety.
"""

from __future__ import annotations

import re

import discord

# Discord's documented embed limits are the core's reply budgets: one set of limits, kept in bot.core.budgets.
from bot.core.budgets import FIELD_NAME_MAX as FIELD_NAME_MAX
from bot.core.budgets import FIELD_VALUE_MAX as FIELD_VALUE_MAX
from bot.core.budgets import FIELDS_MAX as FIELDS_MAX
from bot.core.budgets import FOOTER_MAX as FOOTER_MAX
from bot.core.budgets import SUMMARY_MAX as DESCRIPTION_MAX
from bot.core.budgets import TITLE_MAX as TITLE_MAX
from bot.core.budgets import TOTAL_MAX as TOTAL_MAX
from bot.core.reply import Reply, Status
from bot.core.text import drop_unsafe

ELLIPSIS = "…"
ZWSP = "\u200b"

COLOURS: dict[Status, int] = {
    Status.INFO: 0x5865F2,  # Discord blurple: neutral information
    Status.OK: 0x57F287,  # green: reachable
    Status.WARN: 0xFEE75C,  # yellow: reachable with a caveat, closed, or undecidable
    Status.BAD: 0xED4245,  # red: filtered or unreachable
    Status.ERROR: 0xE67E22,  # orange: we could not answer
}

# A symbol next to the title, so the verdict does not rely on colour alone.
_ICONS: dict[Status, str] = {
    Status.INFO: "",
    Status.OK: "✅ ",
    Status.WARN: "⚠️ ",
    Status.BAD: "🚫 ",
    Status.ERROR: "❗ ",
}

_TO_SPACE = str.maketrans(dict.fromkeys("\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\u2028\u2029", " "))
_ANGLE_MARKUP = re.compile(r"<(?=[@#!&:/]|a:|t:|id:|https?:)", re.IGNORECASE)
_BROADCAST = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_LINE_START_MARKUP = re.compile(r"^(\s*)(#{1,3}\s|-#\s|>)", re.MULTILINE)


def colour_for(status: Status) -> discord.Colour:
    return discord.Colour(COLOURS[status])


def clean_text(text: str) -> str:
    """Drop control characters (keeping newlines) and bidi overrides; tabs and odd separators become spaces."""
    return drop_unsafe(text.translate(_TO_SPACE))  # then the rest, as every renderer (bot/core/text.py)


def _escape_invisibly(text: str) -> str:
    # Zero-width breaks: invisible, and harmless even inside a code span.
    text = text.replace("](", "]" + ZWSP + "(")
    text = _ANGLE_MARKUP.sub("<" + ZWSP, text)
    return _BROADCAST.sub("@" + ZWSP, text)


def _escape_plain(text: str) -> str:
    text = _escape_invisibly(text.replace("\\", "\\\\"))
    return _LINE_START_MARKUP.sub(lambda m: m[1] + "\\" + m[2], text)


def _escape_code(text: str) -> str:
    # Nothing renders inside a code span, but should Discord pair the backticks differently from us, the
    # same text must still be harmless outside one; and no raw "@everyone" may appear anywhere we send.
    return _escape_invisibly(text)


def escape(text: str) -> str:
    """Make Reply text safe for Discord while keeping Portbot's ``**bold**`` and ``` `code` ``` spans."""
    pieces = clean_text(text).split("`")
    out: list[str] = []
    closed = len(pieces) % 2 == 1  # an odd piece count means every backtick has a partner
    for index, piece in enumerate(pieces):
        inside = index % 2 == 1
        if inside and (closed or index < len(pieces) - 1):
            if piece:
                out.append("`" + _escape_code(piece) + "`")
        elif inside:  # text after an unpaired backtick
            out.append("\\`" + _escape_plain(piece))
        else:
            out.append(_escape_plain(piece))
    return "".join(out)


def plain(text: str) -> str:
    """For places Discord shows without markdown (button labels, choice names): only clean the characters."""
    return " ".join(clean_text(text).split())


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters with a trailing ellipsis, closing a code span cut in half."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = text[: limit - 1].rstrip()
    if cut.endswith("\\") and not cut.endswith("\\\\"):
        cut = cut[:-1].rstrip()  # a lone backslash would escape our ellipsis
    if cut.count("`") % 2:
        cut = cut[: limit - 2].rstrip()
        if cut.count("`") % 2:
            cut += "`"
    return cut + ELLIPSIS


def _nonempty(text: str) -> str:
    # Discord rejects empty or blank titles, names and values.
    return text if text.strip() else ZWSP


def embed_total(embed: discord.Embed) -> int:
    """The character count Discord checks against :data:`TOTAL_MAX` (discord.py's ``len(embed)``)."""
    return len(embed)


def render_embed(reply: Reply) -> discord.Embed:
    """One embed for ``reply``, escaped and inside every Discord limit whatever the reply holds."""
    title = clip(_ICONS[reply.status] + escape(reply.title), TITLE_MAX)
    description = clip(escape(reply.summary), DESCRIPTION_MAX)
    # Footers show no markdown; the invisible escapes still keep raw mentions out of anything we send.
    footer = clip(_escape_invisibly(plain(reply.footer)), FOOTER_MAX) if reply.footer else ""
    fields = [
        (
            clip(_nonempty(escape(field.name)), FIELD_NAME_MAX),
            clip(_nonempty(escape(field.value)), FIELD_VALUE_MAX),
            field.inline,
        )
        for field in reply.fields
    ]
    if len(fields) > FIELDS_MAX:
        hidden = len(fields) - (FIELDS_MAX - 1)
        fields = [*fields[: FIELDS_MAX - 1], ("More", f"{hidden} more not shown.", False)]

    # Over the total budget: shorten the footer, then the description, then drop fields from the end.
    def total() -> int:
        return len(title) + len(description) + len(footer) + sum(len(n) + len(v) for n, v, _ in fields)

    if total() > TOTAL_MAX and footer:
        footer = clip(footer, max(40, len(footer) - (total() - TOTAL_MAX)))
    if total() > TOTAL_MAX:
        description = clip(description, max(400, len(description) - (total() - TOTAL_MAX)))
    dropped = 0
    while total() > TOTAL_MAX and fields:
        fields.pop()
        dropped += 1
    if dropped:
        note = ("More", f"{dropped} more not shown.", False)
        fields.append(note)
        while total() > TOTAL_MAX and len(fields) > 1:
            fields.pop(-2)
    if total() > TOTAL_MAX:
        description = clip(description, max(1, len(description) - (total() - TOTAL_MAX)))

    embed = discord.Embed(
        title=_nonempty(title), description=description or None, colour=colour_for(reply.status)
    )
    for name, value, inline in fields:
        embed.add_field(name=name, value=value, inline=inline)
    if footer:
        embed.set_footer(text=footer)
    return embed
