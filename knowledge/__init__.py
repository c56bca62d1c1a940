"""Portbot's knowledge of ports: IANA's registry, our curated services and plain-language topics.

    kb = KnowledgeBase.load()
    kb.lookup("25565")          # -> PortAnswer
    kb.suggest("mine")          # -> [Suggestion("Minecraft: Java Edition — 25565/tcp", "minecraft-java"), ...]

Import-light on purpose (``portbot ask`` starts through here): no third-party import at module level.
"""

from knowledge._base import KnowledgeBase
from knowledge._curated import Service, ServicePort
from knowledge._iana import IanaEntry
from knowledge._ranges import PortRange
from knowledge._topics import Topic
from knowledge.answers import (
    Answer,
    GuideAnswer,
    HelpAnswer,
    IanaServiceAnswer,
    InvalidQuery,
    NotFound,
    PortAnswer,
    RangeAnswer,
    ServiceAnswer,
    ServiceUse,
    Suggestion,
    TopicAnswer,
)
from knowledge.errors import DataError, KnowledgeError, UpdateError

__all__ = [
    "Answer",
    "DataError",
    "GuideAnswer",
    "HelpAnswer",
    "IanaEntry",
    "IanaServiceAnswer",
    "InvalidQuery",
    "KnowledgeBase",
    "KnowledgeError",
    "NotFound",
    "PortAnswer",
    "PortRange",
    "RangeAnswer",
    "Service",
    "ServiceAnswer",
    "ServicePort",
    "ServiceUse",
    "Suggestion",
    "Topic",
    "TopicAnswer",
    "UpdateError",
]
