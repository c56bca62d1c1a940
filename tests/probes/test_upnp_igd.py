"""portbot[listen]'s async-upnp-client wrapper on loopback (the real router is in the netns labs)."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web

pytest.importorskip("async_upnp_client")

from probes._upnp_igd import available, external_address


def test_available_when_installed() -> None:
    """With async-upnp-client installed, portbot listen uses it."""
    assert available() is True


async def test_nothing_listening_is_none() -> None:
    """A description URL nobody serves gives None, not an exception."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert await external_address(f"http://127.0.0.1:{port}/rootDesc.xml", limit=2) is None


async def test_a_page_that_is_no_igd_is_none() -> None:
    """A web page at the description URL (not an IGD) gives None, not an exception."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html>Router login</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/rootDesc.xml", page)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/rootDesc.xml"
        assert await external_address(url, limit=2) is None
    finally:
        await runner.cleanup()
