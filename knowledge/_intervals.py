"""A stabbing index over port ranges: which of many ranges contain one port, in one binary search.

Built once when the index is compiled: the number line is cut wherever a range starts or ends, and each piece
lists the items covering it. A lookup finds its piece with ``bisect`` instead of testing every range, which
is what keeps a port lookup flat however many ranges IANA and ``ports.toml`` hold.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence


def build(ranges: Iterable[tuple[int, int, int]]) -> tuple[list[int], list[int], list[int]]:
    """``(low, high, item)`` ranges (inclusive) → ``(starts, offsets, items)``.

    Piece ``i`` runs from ``starts[i]`` up to the next start and is covered by
    ``items[offsets[i]:offsets[i + 1]]``, each item once, in ascending order.
    """
    events: dict[int, list[tuple[int, int]]] = {}
    for low, high, item in ranges:
        events.setdefault(low, []).append((1, item))
        events.setdefault(high + 1, []).append((-1, item))
    active: dict[int, int] = {}  # item -> how many of its ranges cover the current piece
    starts: list[int] = []
    offsets = [0]
    items: list[int] = []
    previous: list[int] | None = None
    for point in sorted(events):
        for change, item in events[point]:
            count = active.get(item, 0) + change
            if count:
                active[item] = count
            else:
                del active[item]
        covering = sorted(active)
        if covering == previous:  # same items as the piece before: one longer piece
            continue
        starts.append(point)
        items.extend(covering)
        offsets.append(len(items))
        previous = covering
    return starts, offsets, items


def covering(starts: Sequence[int], offsets: Sequence[int], items: Sequence[int], port: int) -> Sequence[int]:
    """The items whose ranges contain ``port`` (a slice of ``items``, ascending)."""
    piece = bisect.bisect_right(starts, port) - 1
    if piece < 0:
        return ()
    return items[offsets[piece] : offsets[piece + 1]]
