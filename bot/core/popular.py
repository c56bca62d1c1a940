"""What to offer before anything is typed: the games and services people most often ask a port bot about.

A hand-picked order (most-hosted games first, then the self-hosted apps and remote-access services that bring
people to port forwarding), taken from the curated knowledge so labels and ports stay in one place. An id
the knowledge base no longer has is skipped, never shown broken.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knowledge import KnowledgeBase, Suggestion

CHOICES_MAX = 25  # Discord shows at most 25 autocomplete choices
TEXT_MAX = 100  # and each name and value holds at most 100 characters

POPULAR: tuple[str, ...] = (
    # games people host for friends
    "minecraft-java",
    "minecraft-bedrock",
    "valheim",
    "palworld",
    "terraria",
    "ark-survival-ascended",
    "rust",
    "counter-strike-2",
    "satisfactory",
    "enshrouded",
    "project-zomboid",
    "7-days-to-die",
    "factorio",
    "garrys-mod",
    "fivem",
    "v-rising",
    # voice, media and home servers
    "teamspeak3",
    "plex",
    "jellyfin",
    "home-assistant",
    # remote access and VPNs
    "wireguard",
    "openvpn",
    "ssh",
    "rdp",
    "https",
)


def popular(knowledge: KnowledgeBase, limit: int = CHOICES_MAX) -> list[Suggestion]:
    """Up to ``limit`` suggestions from :data:`POPULAR`, labelled as typed suggestions are."""
    from knowledge import Suggestion

    out: list[Suggestion] = []
    for service_id in POPULAR:
        service = knowledge.service(service_id)
        if service is None:
            continue
        main = service.main_port
        label = f"{service.name} — {main.label}" if main else service.name
        out.append(Suggestion(_cut(label), service.id))
        if len(out) >= min(limit, CHOICES_MAX):
            break
    return out


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"
