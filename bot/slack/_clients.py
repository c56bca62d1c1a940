"""The Slack HTTP clients Portbot builds, all with slack-sdk's rate-limit retry handler.

Slack answers a burst (a busy channel, many Home tabs opened at once) with HTTP 429 and ``Retry-After``. Without
the handler, slack-sdk raises at once and the user gets an apology; with it, the call waits as Slack asks and
tries again. Bolt copies the app client's handlers into every request's client (slack_bolt 1.18+,
``AsyncApp._init_context``), so registering them on the app's client covers the listeners too.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    async_default_handlers,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

RATE_LIMIT_RETRIES = 2  # Retry-After is usually 1-30 s; more waits than this and the user has given up anyway
RESPONSE_URL_TIMEOUT = 10  # seconds; past this the response_url is given up for chat.postEphemeral


def retry_handlers() -> list[AsyncRetryHandler]:
    """slack-sdk's defaults (connection errors) plus waiting out rate limits."""
    return [*async_default_handlers(), AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)]


def with_rate_limit_retries(client: AsyncWebClient) -> AsyncWebClient:
    """``client`` with the rate-limit handler added (once), for a client built elsewhere (tests, Bolt)."""
    if not any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    return client


def web_client(token: str | None, base_url: str) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=retry_handlers())


def on_session(client: AsyncWebClient, session: aiohttp.ClientSession | None) -> AsyncWebClient:
    """``client`` on the shared HTTP session, keeping its retry handlers. Bolt deep-copies each request's context
    for lazy listeners, and an aiohttp session cannot be copied, so the app's own client never carries one."""
    if session is None:
        return with_rate_limit_retries(client)
    return with_rate_limit_retries(
        AsyncWebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            session=session,
            logger=client.logger,
            retry_handlers=list(client.retry_handlers),
        )
    )


def webhook(url: str, session: aiohttp.ClientSession | None, timeout: int) -> AsyncWebhookClient:
    """A response_url client: its own timeout (an expired URL must not hold an answer for 30 s)."""
    return AsyncWebhookClient(url, session=session, timeout=timeout, retry_handlers=retry_handlers())
