"""Bolt's asyncio lazy-listener runner, keeping hold of the tasks it starts.

Bolt's own runner fires ``asyncio.ensure_future`` and forgets the task; asyncio keeps only a weak reference,
so a probe in flight could in principle be collected mid-way, and shutdown cannot wait for answers still
being written. This runner keeps every task until it finishes and can wait for them all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from slack_bolt.lazy_listener.async_internals import to_runnable_function
from slack_bolt.lazy_listener.async_runner import AsyncLazyListenerRunner
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest


class TrackedLazyRunner(AsyncLazyListenerRunner):
    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        task = asyncio.ensure_future(
            to_runnable_function(internal_func=function, logger=self.logger, request=request)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for every lazy listener started so far, and any they start. Bound it with asyncio.timeout()."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()


class SharedCopyListenerRunner(AsyncioListenerRunner):
    """Bolt's listener runner, minus the second, deep copy of the request it hands each lazy listener.

    ``request.to_copyable()`` already builds a new request and context (deep-copying any value middleware
    added); Bolt then deep-copies all of it again, the request's Web API client, say, respond and ack included:
    about 0.3 ms of CPU per request, spent before the ack goes out, so the last ack of a burst of 200 waited
    ~60 ms for the others' copies. Those objects hold no per-request state a lazy listener changes (a lazy
    request never acks; the client's retry handlers are shared by every request's client already).
    """

    def _build_lazy_request(self, request: AsyncBoltRequest, lazy_func_name: str) -> AsyncBoltRequest:
        copied = request.to_copyable()
        copied.lazy_only = True
        copied.lazy_function_name = lazy_func_name
        copied.context["listener_runner"] = self
        if request.context.get_thread_context is not None:
            copied.context["get_thread_context"] = request.context.get_thread_context
        if request.context.save_thread_context is not None:
            copied.context["save_thread_context"] = request.context.save_thread_context
        return copied
