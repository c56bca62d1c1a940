"""Fixtures shared by the probe tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest


@pytest.fixture
async def no_loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Fail the test if the event loop logged an error (e.g. a callback hitting a closed or reused socket):
    asyncio only logs those, so without this they'd pass unnoticed."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield errors
    for _ in range(3):
        await asyncio.sleep(0)  # give late callbacks their turn
    loop.set_exception_handler(None)
    assert not errors, [(e.get("message"), repr(e.get("exception"))) for e in errors]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for talking to workers the tests start on loopback."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client
