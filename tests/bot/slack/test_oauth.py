"""Multi-workspace HTTP mode: the install page, the OAuth redirect, and answers authorised by the stored install."""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from slack_bolt.app.async_app import AsyncApp

from bot.settings import Settings
from bot.slack import EVENTS_PATH, build_app, lazy_runner, start_http
from bot.store import store_for
from tests.bot.slack import payloads
from tests.bot.slack.fake_slack import TEAM_ID, FakeSlack
from tests.bot.slack.portbots import real_portbot

CLIENT_ID = "1234567890.0987654321"

# slack_sdk 3.47 exchanges the OAuth code with aiohttp's BasicAuth, which aiohttp 3.14 deprecates. Theirs, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def oauth_app(monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, data_dir: Path) -> AsyncApp:
    monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", payloads.SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(data_dir))
    return build_app(Settings.load(env_file=None), real_portbot(), http=True)


@pytest.fixture
async def web(oauth_app: AsyncApp) -> AsyncIterator[httpx.AsyncClient]:
    runner = await start_http(oauth_app, port=0, host="127.0.0.1")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{runner.addresses[0][1]}") as client:
            yield client
    finally:
        await runner.cleanup()


async def install(web: httpx.AsyncClient) -> httpx.Response:
    """Walk the install flow as a browser would: the install page, then Slack's redirect back."""
    page = await web.get("/slack/install")
    assert page.status_code == 200
    link = html.unescape(re.search(r'<a href="([^"]+)"', page.text)[1])  # type: ignore[index]
    state = re.search(r"state=([^&]+)", link)[1]  # type: ignore[index]
    # Bolt marks its state cookie Secure; a browser on https would send it back, httpx on http won't.
    cookie = page.headers["set-cookie"].split(";")[0]
    return await web.get(
        f"/slack/oauth_redirect?code=one-time-code&state={state}", headers={"cookie": cookie}
    )


async def test_install_page_asks_slack_for_portbots_scopes(web: httpx.AsyncClient) -> None:
    """The Add to Slack link names our client id and exactly the manifest's bot scopes."""
    page = await web.get("/slack/install")
    link = html.unescape(re.search(r'<a href="([^"]+)"', page.text)[1])  # type: ignore[index]
    assert link.startswith("https://slack.com/oauth/v2/authorize?")
    assert f"client_id={CLIENT_ID}" in link
    assert "scope=commands,chat:write,app_mentions:read,im:history,users:read&" in link


async def test_oauth_redirect_stores_the_installation_in_the_store(
    web: httpx.AsyncClient, fake_slack: FakeSlack, data_dir: Path
) -> None:
    """Slack's redirect exchanges the code and keeps the workspace's bot token in the store (by default the
    SQLite file under PORTBOT_DATA_DIR)."""
    response = await install(web)
    assert response.status_code == 200
    (exchange,) = fake_slack.calls_to("oauth.v2.access")
    assert exchange.args["code"] == "one-time-code"
    with sqlite3.connect(data_dir / "portbot.sqlite3") as db:
        rows = db.execute("select client_id, team_id, bot_token from slack_bots").fetchall()
    assert rows == [(CLIENT_ID, TEAM_ID, "xoxb-installed-token")]


async def test_an_install_started_on_one_process_finishes_on_another(
    monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, database_url: str
) -> None:
    """Two Slack processes on one database (SQLite, then PostgreSQL): the install page of one and the redirect
    on the other complete the install (the OAuth state is shared), and the first then answers the workspace
    with the stored token."""
    monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", payloads.SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    monkeypatch.setenv("PORTBOT_DATABASE_URL", database_url)
    settings = Settings.load(env_file=None)
    stores = [store_for(settings), store_for(settings)]
    apps = [build_app(settings, real_portbot(), http=True, database=store) for store in stores]
    runners = [await start_http(app, port=0, host="127.0.0.1") for app in apps]
    try:
        first, second = (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{runner.addresses[0][1]}") for runner in runners
        )
        async with first, second:
            page = await first.get("/slack/install")
            link = html.unescape(re.search(r'<a href="([^"]+)"', page.text)[1])  # type: ignore[index]
            state = re.search(r"state=([^&]+)", link)[1]  # type: ignore[index]
            cookie = page.headers["set-cookie"].split(";")[0]
            redirect = await second.get(
                f"/slack/oauth_redirect?code=one-time-code&state={state}", headers={"cookie": cookie}
            )
            assert redirect.status_code == 200
            body = payloads.command("25565", fake_slack.response_url("cmd"))
            response = await first.post(EVENTS_PATH, content=body, headers=payloads.signature_headers(body))
            assert response.status_code == 200
            await fake_slack.wait_for_post("cmd")
            await lazy_runner(apps[0]).drain()
        assert {c.token for c in fake_slack.calls_to("auth.test")} == {"xoxb-installed-token"}
    finally:
        for runner in runners:
            await runner.cleanup()
        for store in stores:
            await store.close()


async def test_forged_redirect_without_state_is_refused(
    web: httpx.AsyncClient, fake_slack: FakeSlack
) -> None:
    """No valid state, no installation: the code is never exchanged."""
    response = await web.get("/slack/oauth_redirect?code=one-time-code&state=forged")
    assert response.status_code == 400
    assert fake_slack.calls_to("oauth.v2.access") == []


async def test_installed_workspace_is_answered_with_its_own_token(
    web: httpx.AsyncClient, oauth_app: AsyncApp, fake_slack: FakeSlack
) -> None:
    """After installing, a signed /port from that workspace is authorised with the stored bot token."""
    await install(web)
    body = payloads.command("25565", fake_slack.response_url("cmd"))
    response = await web.post(EVENTS_PATH, content=body, headers=payloads.signature_headers(body))
    assert response.status_code == 200
    await fake_slack.wait_for_post("cmd")
    await lazy_runner(oauth_app).drain()
    tokens = {c.token for c in fake_slack.calls_to("auth.test")}
    assert tokens == {"xoxb-installed-token"}


async def test_workspace_that_never_installed_is_told_so(
    web: httpx.AsyncClient, oauth_app: AsyncApp, fake_slack: FakeSlack
) -> None:
    """A request from an unknown workspace gets Portbot's own words (Bolt sends them to the response_url)."""
    body = payloads.command("25565", fake_slack.response_url("cmd"))
    response = await web.post(EVENTS_PATH, content=body, headers=payloads.signature_headers(body))
    await lazy_runner(oauth_app).drain()
    assert response.status_code == 200
    (posted,) = fake_slack.posted_to("cmd")
    assert posted.body["text"] == (
        "Portbot isn't connected to this workspace properly right now. "
        "Please ask a workspace admin to reinstall it."
    )
