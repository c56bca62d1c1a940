"""The router's WAN address over UPnP IGD through ``async-upnp-client`` (``pip install 'portbot[listen]'``).

Optional: ``portbot listen`` uses it when installed and falls back to the standalone module's stdlib SOAP
client otherwise (the single-file script always uses that one). Imported only by ``portbot listen``.
A reserved answer (CGNAT, private) is kept: it is the signal of CGNAT or double NAT.
"""

from __future__ import annotations

import asyncio
import importlib.util
import ipaddress


def available() -> bool:
    """Whether async-upnp-client is installed."""
    return importlib.util.find_spec("async_upnp_client") is not None


async def external_address(location: str, limit: float = 3.0) -> str | None:
    """GetExternalIPAddress from the IGD described at ``location`` within ``limit`` seconds; else None."""
    import aiohttp
    from async_upnp_client.aiohttp import AiohttpRequester
    from async_upnp_client.client_factory import UpnpFactory
    from async_upnp_client.exceptions import UpnpError
    from async_upnp_client.profiles.igd import IgdDevice

    requester = AiohttpRequester(timeout=max(1, round(limit)))
    try:
        async with asyncio.timeout(limit):
            device = await UpnpFactory(requester, non_strict=True).async_create_device(location)
            answer = await IgdDevice(device, None).async_get_external_ip_address()
    except (UpnpError, aiohttp.ClientError, OSError, TimeoutError, ValueError, KeyError):
        return None
    try:
        return str(ipaddress.IPv4Address((answer or "").strip()))
    except ValueError:
        return None


def query(location: str) -> str | None:
    """The blocking form ``listen_standalone.router_wan_address`` takes."""
    return asyncio.run(external_address(location))
