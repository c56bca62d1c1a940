"""The store behind Share buttons: masked copies only, each shared once, forgotten after Slack's 30 minutes."""

from __future__ import annotations

from bot.core.reply import Action, ActionKind, Reply, Status
from bot.slack._shares import ShareStore

PRIVATE = Reply(
    title="Port check: home.example.com",
    summary="203.0.113.7:25565 answered.",
    status=Status.OK,
    actions=(Action(ActionKind.SHARE, "Share in channel"),),
    kind="probe",
    private=True,
    sensitive=("home.example.com", "203.0.113.7"),
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_store_keeps_only_the_masked_copy() -> None:
    """What comes back is already masked and cannot be shared again."""
    store = ShareStore()
    shared = store.take(store.put(PRIVATE))
    assert shared == PRIVATE.masked()
    assert shared is not None and "203.0.113.7" not in shared.summary and not shared.actions


def test_each_token_works_once() -> None:
    """A second take of the same token finds nothing."""
    store = ShareStore()
    token = store.put(PRIVATE)
    assert store.take(token) is not None
    assert store.take(token) is None


def test_tokens_expire_with_slacks_response_url() -> None:
    """After the TTL the result is gone, as the response_url it would post to is."""
    clock = Clock()
    store = ShareStore(ttl=1800, clock=clock)
    token = store.put(PRIVATE)
    clock.now += 1799
    kept = store.put(PRIVATE)
    clock.now += 2
    assert store.take(token) is None
    assert store.take(kept) is not None


def test_capacity_drops_the_oldest() -> None:
    """A flood of checks cannot grow memory without bound."""
    store = ShareStore(capacity=3)
    tokens = [store.put(PRIVATE) for _ in range(5)]
    assert len(store) == 3
    assert store.take(tokens[0]) is None and store.take(tokens[1]) is None
    assert store.take(tokens[4]) is not None


def test_tokens_are_unguessable_and_distinct() -> None:
    """Tokens are random, so one user cannot share another's result by guessing."""
    store = ShareStore()
    tokens = {store.put(PRIVATE) for _ in range(200)}
    assert len(tokens) == 200
    assert all(len(t) >= 16 for t in tokens)
