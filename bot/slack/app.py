"""The Bolt app: Slack's slash command, mentions, DMs, buttons and modal, each turned into a Portbot call.

Every listener acknowledges at once and does the real work in a lazy listener, so Slack's 3-second window
is never at risk, whether the answer takes 2 ms (knowledge) or several seconds (a probe). Knowledge answers
go to the response_url too, rather than in the ack: one code path, and a cold knowledge base or a busy
event loop can never make Slack time out.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import visibility
from bot.core.commands import INTERNAL_ERROR, Portbot, problem
from bot.core.intents import ProtocolChoice, SelfCheck
from bot.core.interaction_log import Interaction as LogLine
from bot.core.rechecks import Rechecks
from bot.core.reply import ActionKind, Reply
from bot.core.shares import Shares, button_keys
from bot.core.watch_desk import WatchDesk
from bot.settings import Settings
from bot.slack import _clients, modals
from bot.slack._lazy import SharedCopyListenerRunner, TrackedLazyRunner
from bot.slack.home import Home, workspace_of
from bot.slack.notifier import SlackNotifier, fixed_token, installation_tokens
from bot.slack.render import (
    ACTION_ASK,
    ACTION_CHECK,
    ACTION_PATTERN,
    ACTION_RECHECK,
    ACTION_SELF_CHECK,
    ACTION_SHARE,
    Message,
    decode_query,
    render,
)
from bot.slack.watches import SlackWatches, is_watch_command
from bot.slack.workspace import WorkspaceStore
from bot.store import GroupCommit, LazyStore, store_for
from bot.store._shared import reason
from bot.store.events import StoredEvents
from bot.store.rechecks import StoredRechecks
from bot.store.shares import StoredShares
from probes.models import Requester

log = logging.getLogger(__name__)

# Kept in step with slack-manifest.yml, and with the Web API methods the code calls (tests/bot/slack/test_manifest.py).
BOT_SCOPES = ("commands", "chat:write", "app_mentions:read", "im:history", "users:read")
EVENTS_PATH = "/slack/events"
INSTALLATIONS_DB = "slack-installations.sqlite3"  # OAuth installs, in PORTBOT_DATA_DIR
SHARE_TTL = 30 * 60  # Slack's response_url, which the shared copy is posted through, works for 30 minutes

FAILURE = INTERNAL_ERROR
SHARE_EXPIRED = problem(
    "That result can't be shared any more",
    (
        "I share a check's result once, for whoever ran it, within 30 minutes. "
        "Run the check again and share the new result."
    ),
)
RECHECK_EXPIRED = problem(
    "That check can't be run again from here",
    (
        'I keep a check for its "Check again" button for 30 minutes, for whoever ran it. '
        "Run the check again with `/port check <host> <port>`."
    ),
)
AUTHORIZE_FAILED = "Portbot isn't connected to this workspace properly right now. Please ask a workspace admin to reinstall it."
MODAL_FAILED = "Sorry, something went wrong on my side. Please try again."
# Shown while a probe runs (a few seconds), then replaced by the result where Slack lets us.
CHECKING = ":hourglass_flowing_sand: Checking… this takes a few seconds. Only you will see the result."
MAKING_LINK = ":hourglass_flowing_sand: Making your one-time link… only you will see it."

# The log line of the interaction a lazy listener is answering (each runs in its own task, so its own context).
_LINE: contextvars.ContextVar[LogLine | None] = contextvars.ContextVar("portbot_slack_line", default=None)
_EVENTS_REMEMBERED = 1000  # Slack retries within minutes; this covers far more than that at any sane rate
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
# Never let Slack expand links or names in our messages on its own.
_QUIET: dict[str, Any] = {"unfurl_links": False, "unfurl_media": False, "parse": "none", "link_names": False}


def build_app(
    settings: Settings,
    portbot: Portbot,
    *,
    http: bool,
    client: AsyncWebClient | None = None,
    session: aiohttp.ClientSession | None = None,
    watches: WatchDesk | None = None,
    database: LazyStore | None = None,
) -> AsyncApp:
    """The Bolt app for Socket Mode (``http=False``) or HTTP, single- or multi-workspace.

    Workspace settings, welcomes, shares and (with OAuth) installations live in ``database``, the process's
    store, opened on first use; without one, the store the settings name.

    Raises SettingsError naming each missing variable. ``client`` replaces the Web API client (tests);
    otherwise ``SLACK_API_URL``, when set, is where every Web API call goes. ``session``, when given, carries
    the answers (response_url posts and Web API calls from Portbot's listeners) so connections are reused;
    the caller closes it. ``watches`` enables ``/port watch …`` (see :func:`notifier_for` for the status
    messages).
    """
    slack = settings.slack
    oauth = http and bool(slack.client_id)
    require_settings(settings, http=http)
    client = web_client(settings, http=http) if client is None else _clients.with_rate_limit_retries(client)
    signing_secret = slack.signing_secret.get_secret_value() if slack.signing_secret else ""
    options: dict[str, Any] = {
        # Bolt names its logger after the app and copies the root logger's level onto it when the app is built:
        # "portbot" would pin our whole portbot.* hierarchy (portbot.interaction included) to that moment's level.
        "name": "portbot-slack",
        "client": client,
        "signing_secret": signing_secret,
        # Our ack functions only ack, so finishing them before the HTTP response costs nothing, skips
        # Bolt's 10 ms polling for the ack, and lets app.error still shape the response.
        "process_before_response": True,
        "user_facing_authorize_error_message": AUTHORIZE_FAILED,
    }
    if database is None:
        database = store_for(settings)
    if oauth:
        options["oauth_settings"] = _oauth_settings(settings, database)
    with _bolt_env_ignored():
        app = AsyncApp(**options)
    if oauth:
        app.enable_token_revocation_listeners()

    runner = TrackedLazyRunner(app.logger)
    app.listener_runner.lazy_listener_runner = runner
    app.listener_runner.__class__ = SharedCopyListenerRunner  # same runner, lazy requests without a deep copy
    writes = GroupCommit(database)  # an answer's Share and Check-again rows in one transaction
    shares = StoredShares(database, ttl=SHARE_TTL, writes=writes)
    rechecks = StoredRechecks(database, ttl=SHARE_TTL, writes=writes)
    watching = SlackWatches(watches, notifier_for(app, settings, http=http))
    delivered = StoredEvents(database)
    _Listeners(portbot, shares, session, WorkspaceStore(database), rechecks, watching, delivered).register(
        app
    )
    return app


def notifier_for(app: AsyncApp, settings: Settings, *, http: bool) -> SlackNotifier:
    """The watch notifier on the app's client: each workspace's token from its OAuth install, or the one bot
    token of a single-workspace app. The scheduler uses it too."""
    slack = settings.slack
    if http and slack.client_id and app.installation_store is not None:
        return SlackNotifier(app.client, installation_tokens(app.installation_store))
    return SlackNotifier(
        app.client, fixed_token(slack.bot_token.get_secret_value() if slack.bot_token else None)
    )


def notifier_from_settings(settings: Settings, database: LazyStore | None = None) -> SlackNotifier:
    """For ``portbot watch run`` (no Bolt app): with ``SLACK_CLIENT_ID`` each workspace's token from the OAuth
    installs in the store (``database``, else the one the settings name), else ``SLACK_BOT_TOKEN``; the Web API
    at ``SLACK_API_URL`` when set. Raises SettingsError when neither is configured."""
    slack = settings.slack
    client = _clients.web_client(None, _base_url(slack.api_url))
    if slack.client_id:
        installs = AsyncSQLAlchemyInstallationStore(
            client_id=slack.client_id,
            engine=database or store_for(settings),  # type: ignore[arg-type]
            logger=logging.getLogger("portbot.slack.oauth"),
        )
        return SlackNotifier(client, installation_tokens(installs))
    settings.require("SLACK_BOT_TOKEN")
    assert slack.bot_token is not None
    return SlackNotifier(client, fixed_token(slack.bot_token.get_secret_value()))


def require_settings(settings: Settings, *, http: bool) -> None:
    """Raise SettingsError naming every variable this mode still needs, and where to find it."""
    if not http:
        settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    elif settings.slack.client_id:
        settings.require("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET")
    else:
        settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


def web_client(settings: Settings, *, http: bool) -> AsyncWebClient:
    """The app's Web API client: the bot token, unless installs bring their own (HTTP with OAuth), aimed at
    SLACK_API_URL when set."""
    slack = settings.slack
    oauth = http and bool(slack.client_id)
    token = None if oauth or slack.bot_token is None else slack.bot_token.get_secret_value()
    return _clients.web_client(token, _base_url(slack.api_url))


def lazy_runner(app: AsyncApp) -> TrackedLazyRunner:
    """The app's lazy-listener runner, to wait for answers still being written (shutdown, tests)."""
    runner = app.listener_runner.lazy_listener_runner
    assert isinstance(runner, TrackedLazyRunner), "not an app from build_app()"
    return runner


def _base_url(api_url: str | None) -> str:
    if not api_url:
        return AsyncWebClient.BASE_URL
    return api_url if api_url.endswith("/") else api_url + "/"


def _oauth_settings(settings: Settings, database: LazyStore) -> AsyncOAuthSettings:
    slack = settings.slack
    assert slack.client_id and slack.client_secret
    return AsyncOAuthSettings(
        client_id=slack.client_id,
        client_secret=slack.client_secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        # slack_sdk's SQLAlchemy stores on the store's tables (created by our revision 0003, bot/store/tables.py),
        # so every Slack process sees every install and an OAuth round trip may start and end on different
        # processes. They only call ``engine.begin()``/``engine.connect()``, which the lazily opened store
        # provides with the same meaning (slack_sdk 3.x; tests/bot/slack/test_oauth.py drives them).
        installation_store=AsyncSQLAlchemyInstallationStore(
            client_id=slack.client_id,
            engine=database,  # type: ignore[arg-type]
            logger=logging.getLogger("portbot.slack.oauth"),
        ),
        state_store=AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=600,
            engine=database,  # type: ignore[arg-type]
            logger=logging.getLogger("portbot.slack.oauth"),
        ),
    )


# Bolt's AsyncApp() reads these from the process environment when they are not passed
# (slack_bolt/app/async_app.py, as of 1.30). We pass the token (through the client) and the signing secret, so only the two
# OAuth names still matter: with both set, Bolt turns OAuth on by itself, dropping a single-workspace or
# Socket Mode app's bot token, and there is no argument to say "no OAuth". Settings (which also read .env, which
# Bolt never sees) decide whether OAuth is on, so Bolt must not see them while the app is built.
_BOLT_READS = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")


@contextlib.contextmanager
def _bolt_env_ignored() -> Iterator[None]:
    """Build the app without Bolt's own reading of SLACK_CLIENT_ID/SECRET from the environment (see above)."""
    saved = {name: os.environ.pop(name) for name in _BOLT_READS if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _requester(context: AsyncBoltContext, channel_id: str | None = None) -> Requester:
    return Requester(
        platform="slack",
        user_id=context.user_id or "unknown",
        guild_id=context.team_id or context.enterprise_id,
        channel_id=channel_id or context.channel_id,
    )


def strip_mentions(text: str, bot_user_id: str | None) -> str:
    """The question in ``@Portbot 25565``: the bot's mention removed wherever it is, and a leading one anyway."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    text = text.strip()
    while match := _MENTION.match(text):
        text = text[match.end() :].strip()
    return text


class _Listeners:
    """Slack's entry points. Each ``ack_*`` answers Slack at once; the rest run as lazy listeners."""

    def __init__(
        self,
        portbot: Portbot,
        shares: Shares,
        session: aiohttp.ClientSession | None,
        store: WorkspaceStore,
        rechecks: Rechecks,
        watches: SlackWatches,
        delivered: StoredEvents,
    ) -> None:
        self.portbot = portbot
        self.watches = watches
        self.shares = shares
        self.rechecks = rechecks
        self.session = session
        self.store = store  # each workspace's privacy choice, made by its admins in the Home tab
        self.home = Home(store, self._shared)
        self._events: OrderedDict[str, None] = OrderedDict()
        self.delivered = delivered  # across processes and hosts on the database, behind this process's memory

    async def preferences(self, context: AsyncBoltContext) -> visibility.Preferences:
        """The workspace's choice, for visibility.decide (which lets it only make answers more private)."""
        return await self.store.get(workspace_of(context))

    def register(self, app: AsyncApp) -> None:
        app.command("/port")(ack=self.ack_command, lazy=[self.answer_command])
        app.event("app_mention")(ack=self.ack, lazy=[self.answer_mention])
        app.event("message")(ack=self.ack, lazy=[self.answer_dm])
        app.action(re.compile(ACTION_PATTERN.format(ACTION_CHECK)))(
            ack=self.ack, lazy=[self.open_check_modal]
        )
        app.action(re.compile(ACTION_PATTERN.format(ACTION_ASK)))(ack=self.ack, lazy=[self.answer_ask])
        app.action(re.compile(ACTION_PATTERN.format(ACTION_SHARE)))(ack=self.ack, lazy=[self.share])
        app.action(re.compile(ACTION_PATTERN.format(ACTION_RECHECK)))(ack=self.ack, lazy=[self.recheck])
        app.action(re.compile(ACTION_PATTERN.format(ACTION_SELF_CHECK)))(ack=self.ack, lazy=[self.self_check])
        app.action(modals.SELF_CHECK_ACTION)(ack=self.ack, lazy=[self.self_check_from_modal])
        app.view(modals.CALLBACK_ID)(ack=self.ack_check_submission, lazy=[self.run_check_submission])
        self.home.register(app)
        app.error(self.on_error)

    # -- acks ----------------------------------------------------------------------------------------------

    async def ack(self, ack: AsyncAck) -> None:
        await ack()

    async def ack_command(self, ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
        # An empty in_channel ack makes Slack show the asker's "/port …" above the public answer: only for a
        # knowledge question that holds no address or host name, since Slack repeats the text as typed.
        text = command.get("text") or ""
        if is_watch_command(text):
            await ack()  # answered privately: the command names a host, and only admins may run it
        elif not visibility.decide(text, None, await self.preferences(context)):
            await ack(response_type="in_channel")
        elif self.portbot.self_check_intent(text) is not None:
            await ack(text=MAKING_LINK, response_type="ephemeral")
        elif self.portbot.is_probe(text):
            await ack(text=CHECKING, response_type="ephemeral")
        else:
            await ack()

    async def ack_check_submission(self, ack: AsyncAck, view: dict[str, Any]) -> None:
        trouble = modals.host_problem(modals.submitted_host(view))
        if trouble:
            await ack(response_action="errors", errors={modals.HOST_BLOCK: trouble})
        else:
            check = modals.CheckContext.from_metadata(view.get("private_metadata") or "")
            await ack(response_action="update", view=modals.checking_modal(check))

    # -- lazy listeners -------------------------------------------------------------------------------------

    async def answer_command(
        self, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        text = command.get("text") or ""
        if is_watch_command(text):
            async with self._reporting(context, client, "watch") as client:
                reply = await self.watches.handle(
                    text, client, workspace_of(context), context.user_id, context.channel_id
                )
                await self._respond(context, client, reply, public=False)
            return
        async with self._reporting(context, client, "command") as client:
            if (mine := self.portbot.self_check_intent(text)) is not None:
                # The ack said "Making your link…": the link takes its place, then the verdict takes the link's.
                await self._self_check(context, client, mine, replace=True)
                return
            reply = await self.portbot.handle(text, _requester(context))
            public = not visibility.decide(text, reply, await self.preferences(context))
            # A probe's ack said "Checking…": the result takes its place.
            await self._respond(context, client, reply, public=public, replace=self.portbot.is_probe(text))

    async def answer_mention(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if not await self._first_delivery(body):
            return
        async with self._reporting(context, client, "mention") as client:
            text = strip_mentions(event.get("text") or "", context.bot_user_id)
            thread_ts = event.get("thread_ts") or event.get("ts")
            channel = event["channel"]
            if (mine := self.portbot.self_check_intent(text)) is not None:
                # An ephemeral message can't be edited: the verdict is a second one, to the asker only.
                started = await self.portbot.start_self_check(mine, _requester(context))
                where = {"channel": channel, "user": event["user"], "thread_ts": thread_ts}
                await client.chat_postEphemeral(**where, **await self._message(started.reply))
                verdict = await self.portbot.finish_self_check(started)
                if verdict is not None:
                    await client.chat_postEphemeral(**where, **await self._message(verdict))
                return
            if self.portbot.is_probe(text):
                # An ephemeral message can be neither edited nor deleted: the result follows it.
                await client.chat_postEphemeral(
                    channel=channel, user=event["user"], thread_ts=thread_ts, text=CHECKING
                )
            reply = await self.portbot.handle(text, _requester(context))
            if visibility.decide(text, reply, await self.preferences(context)):
                await client.chat_postEphemeral(
                    channel=channel,
                    user=event["user"],
                    thread_ts=thread_ts,
                    **await self._message(reply, owner=event["user"]),
                )
            else:
                await client.chat_postMessage(
                    channel=channel, thread_ts=thread_ts, **await self._message(reply), **_QUIET
                )

    async def answer_dm(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        # Only what a person typed into a DM with Portbot; edits, joins, bots and channel messages are skipped.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        if not await self._first_delivery(body):
            return
        async with self._reporting(context, client, "dm") as client:
            if event.get("user"):
                await self.home.welcome(client, workspace_of(context), event["user"], event["channel"])
            text = strip_mentions(event.get("text") or "", context.bot_user_id)
            if (mine := self.portbot.self_check_intent(text)) is not None:
                await self._self_check_in_dm(context, client, event, mine)
                return
            checking = None
            if self.portbot.is_probe(text):
                checking = await client.chat_postMessage(
                    channel=event["channel"], thread_ts=event.get("thread_ts"), text=CHECKING, **_QUIET
                )
            reply = await self.portbot.handle(text, _requester(context))
            # A DM is already private: nothing to share, nowhere to share it to; checking again still helps.
            message = await self._message(reply, owner=event.get("user"), shareable=False)
            if checking is not None and checking.get("ts"):
                await client.chat_update(
                    channel=event["channel"], ts=checking["ts"], parse="none", link_names=False, **message
                )
                return
            await client.chat_postMessage(
                channel=event["channel"],
                thread_ts=event.get("thread_ts"),
                **message,
                **_QUIET,
            )

    async def answer_ask(
        self, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        # Answered to the one who pressed, so a public answer's buttons can't be used to flood a channel.
        async with self._reporting(context, client, "button:ask") as client:
            query = decode_query(body["actions"][0]["value"])
            reply = await self.portbot.handle(query, _requester(context))
            await self._respond(context, client, reply, public=False, follow_up=True)

    async def open_check_modal(
        self, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        async with self._reporting(context, client, "button:check") as client:
            value = body["actions"][0]["value"]
            port, protocol = modals.parse_check_value(value)
            container = body.get("container") or {}
            check = modals.CheckContext(
                port=port,
                protocol=protocol,
                hint=modals.parse_check_hint(value),
                channel_id=context.channel_id or container.get("channel_id"),
                thread_ts=container.get("thread_ts") or (body.get("message") or {}).get("thread_ts"),
                response_url=body.get("response_url"),
            )
            await client.views_open(trigger_id=body["trigger_id"], view=modals.check_modal(check))

    async def run_check_submission(
        self, view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        host = modals.submitted_host(view)
        if modals.host_problem(host):
            return  # the ack already showed the problem in the modal
        async with self._reporting(context, client, "modal:check") as client:
            check = modals.CheckContext.from_metadata(view.get("private_metadata") or "")
            requester = _requester(context, channel_id=check.channel_id)
            reply = await self.portbot.check(host, (check.port,), check.protocol, requester, check.hint)
            await self._post_private(
                client, check, requester.user_id, await self._message(reply, owner=requester.user_id)
            )
            await self._modal_done(client, view, check)

    async def share(self, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
        async with self._reporting(context, client, "button:share") as client:
            masked = await self.shares.take(str(body["actions"][0]["value"]), context.user_id or "")
            if masked is None:
                await self._respond(context, client, SHARE_EXPIRED, public=False, follow_up=True)
                return
            await self._respond(context, client, masked, public=True, follow_up=True)

    async def recheck(self, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
        """ "Check again": the same check for whoever ran it, as privately, through the same rate limits."""
        async with self._reporting(context, client, "button:again") as client:
            check = await self.rechecks.get(str(body["actions"][0]["value"]), context.user_id or "")
            if check is None:
                await self._respond(context, client, RECHECK_EXPIRED, public=False, follow_up=True)
                return
            reply = await self.portbot.check(
                check.target, check.ports, check.protocol, _requester(context), check.hint
            )
            await self._respond(context, client, reply, public=False, follow_up=True)

    async def self_check(
        self, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        """ "Check my own server": a private one-time link, then the verdict, both only to whoever pressed."""
        async with self._reporting(context, client, "button:self") as client:
            value = body["actions"][0]["value"]
            port, protocol = modals.parse_check_value(value)
            request = SelfCheck(
                (port,), "auto" if protocol == "both" else protocol, hint=modals.parse_check_hint(value)
            )
            # The button may sit on a public answer, which replace_original would overwrite for everyone: the
            # link and the verdict are each a new ephemeral message instead.
            await self._self_check(context, client, request, replace=False)

    async def self_check_from_modal(
        self, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        """ "Check my own server" inside the Check modal: the link and then the verdict go where the modal's
        result would (the channel the Check button was in, only to whoever pressed), and the modal says so."""
        async with self._reporting(context, client, "modal:self") as client:
            view = body.get("view") or {}
            check = modals.CheckContext.from_metadata(view.get("private_metadata") or "")
            requester = _requester(context, channel_id=check.channel_id)
            protocol: ProtocolChoice = "auto" if check.protocol == "both" else check.protocol
            started = await self.portbot.start_self_check(
                SelfCheck((check.port,), protocol, hint=check.hint), requester
            )
            # An ephemeral message can't be edited: the verdict is a second one, to the same person.
            await self._post_private(client, check, requester.user_id, await self._message(started.reply))
            # Without a link (no workers, a limit reached) the message sent says why: the plain "Done" fits.
            sent = modals.link_sent_modal(check) if started.link is not None else None
            await self._modal_done(client, view, check, sent)
            verdict = await self.portbot.finish_self_check(started)
            if verdict is not None:
                await self._post_private(client, check, requester.user_id, await self._message(verdict))

    async def _self_check(
        self, context: AsyncBoltContext, client: AsyncWebClient, request: SelfCheck, *, replace: bool
    ) -> None:
        started = await self.portbot.start_self_check(request, _requester(context))
        await self._respond(
            context, client, started.reply, public=False, replace=replace, follow_up=not replace
        )
        verdict = await self.portbot.finish_self_check(started)
        if verdict is not None:
            await self._respond(
                context, client, verdict, public=False, replace=replace, follow_up=not replace
            )

    async def _self_check_in_dm(
        self, context: AsyncBoltContext, client: AsyncWebClient, event: dict[str, Any], request: SelfCheck
    ) -> None:
        """In a DM (already private) the link message itself becomes the verdict, through chat.update."""
        started = await self.portbot.start_self_check(request, _requester(context))
        channel = event["channel"]
        posted = await client.chat_postMessage(
            channel=channel, thread_ts=event.get("thread_ts"), **await self._message(started.reply), **_QUIET
        )
        verdict = await self.portbot.finish_self_check(started)
        if verdict is None:
            return
        if posted.get("ts"):
            await client.chat_update(
                channel=channel,
                ts=posted["ts"],
                parse="none",
                link_names=False,
                **await self._message(verdict),
            )
        else:
            await client.chat_postMessage(channel=channel, **await self._message(verdict), **_QUIET)

    async def _first_delivery(self, body: dict[str, Any]) -> bool:
        """False for an event Slack delivers again (it retries when an ack was late, e.g. during a restart),
        so a question is answered once, whichever process or host the retry reaches."""
        event_id = body.get("event_id")
        if not isinstance(event_id, str):
            return True
        if event_id in self._events:
            return False
        self._events[event_id] = None
        while len(self._events) > _EVENTS_REMEMBERED:
            self._events.popitem(last=False)
        try:
            return await self.delivered.first(event_id)
        except Exception as err:  # any driver's failure: answering twice beats not answering at all
            log.warning(
                "could not record Slack event %s as answered (%s); answering it", event_id, reason(err)
            )
            return True

    # -- errors ---------------------------------------------------------------------------------------------

    async def on_error(
        self, error: Exception, body: dict[str, Any], context: AsyncBoltContext
    ) -> BoltResponse | None:
        """Anything unexpected in an ack becomes an apology; Bolt would otherwise answer Slack with a 500."""
        log.error("Slack listener failed: %r", error, exc_info=error)
        if body.get("type") == "view_submission":
            return BoltResponse(
                status=200, body={"response_action": "errors", "errors": {modals.HOST_BLOCK: MODAL_FAILED}}
            )
        if body.get("command"):
            return BoltResponse(status=200, body={"response_type": "ephemeral", **render(FAILURE)})
        if context.response_url or (context.user_id and context.channel_id):
            await self._tell_failure(context, context.client)
            return BoltResponse(status=200, body="")
        return None

    @contextlib.asynccontextmanager
    async def _reporting(
        self, context: AsyncBoltContext, client: AsyncWebClient, command: str
    ) -> AsyncIterator[AsyncWebClient]:
        """Run a lazy listener's body with the client to use (on the shared session when there is one), and
        log one line for it when it ends (bot/core/interaction_log.py).

        Lazy listeners' errors never reach app.error (Bolt only logs them), so apologise to the user here."""
        client = self._shared(client)
        line = LogLine("slack", command, context.team_id or context.enterprise_id)
        token = _LINE.set(line)
        failed = False
        try:
            yield client
        except Exception:
            failed = True
            log.exception("Slack lazy listener failed")
            await self._tell_failure(context, client)
        finally:
            _LINE.reset(token)
            line.done(failed=failed)

    def _shared(self, client: AsyncWebClient) -> AsyncWebClient:
        """``client`` on the shared HTTP session when there is one, with the rate-limit retry handler."""
        return _clients.on_session(client, self.session)

    async def _tell_failure(self, context: AsyncBoltContext, client: AsyncWebClient | None) -> None:
        message = render(FAILURE)
        try:
            if context.response_url and await self._post_to_response_url(
                context.response_url, {"response_type": "ephemeral", "replace_original": False, **message}
            ):
                return
            if client is not None and context.user_id and context.channel_id:
                await client.chat_postEphemeral(channel=context.channel_id, user=context.user_id, **message)
        except Exception:  # Slack itself is failing us; the log has the story
            log.exception("could not tell the user about a failure")

    # -- delivery -------------------------------------------------------------------------------------------

    async def _message(self, reply: Reply, *, owner: str | None = None, shareable: bool = True) -> Message:
        """Render ``reply``; with an ``owner``, a private result gets a Share button backed by a masked copy."""
        line = _LINE.get()
        if line is not None:
            line.answered(reply)
        has_share = any(a.kind is ActionKind.SHARE for a in reply.actions)
        again = next((a.check for a in reply.actions if a.kind is ActionKind.RECHECK and a.check), None)
        token, recheck = await button_keys(
            self.shares.put(reply, owner) if owner and shareable and reply.private and has_share else None,
            self.rechecks.put(again, owner) if owner and reply.private and again else None,
        )
        return render(reply, share_token=token, recheck_token=recheck)

    async def _respond(
        self,
        context: AsyncBoltContext,
        client: AsyncWebClient,
        reply: Reply,
        *,
        public: bool,
        follow_up: bool = False,
        replace: bool = False,
    ) -> None:
        """Answer through the request's response_url; a button press adds a message instead of replacing, and
        ``replace`` takes the place of the "Checking…" ack. When the response_url fails (expired after 30
        minutes, used 5 times, Slack having a bad moment), the same message goes through the Web API."""
        message = await self._message(reply, owner=None if public else context.user_id)
        if context.response_url:
            body: dict[str, Any] = {
                "response_type": "in_channel" if public else "ephemeral",
                "unfurl_links": False,
                "unfurl_media": False,
                **message,
            }
            if follow_up:
                body["replace_original"] = False
            elif replace:
                body["replace_original"] = True
            if await self._post_to_response_url(context.response_url, body):
                return
            log.info("the response_url failed; answering through the Web API instead")
        if not context.channel_id:
            raise RuntimeError("no response_url and no channel to answer in")
        if public:
            try:
                await client.chat_postMessage(channel=context.channel_id, **message, **_QUIET)
                return
            except SlackApiError as err:
                if not context.user_id:
                    raise
                # Slash commands work in channels Portbot is not in; more private is always allowed.
                log.info("chat.postMessage failed (%s); answering the asker only", err)
        elif not context.user_id:
            raise RuntimeError("no one to answer privately")
        assert context.user_id is not None
        try:
            await client.chat_postEphemeral(channel=context.channel_id, user=context.user_id, **message)
        except SlackApiError as err:
            # Not a channel Portbot can post in either: the member's DM with Portbot.
            log.info("chat.postEphemeral failed (%s); sending a DM instead", err)
            await client.chat_postMessage(channel=context.user_id, **message, **_QUIET)

    async def _post_private(
        self, client: AsyncWebClient, check: modals.CheckContext, user_id: str, message: Message
    ) -> None:
        """A modal's result, to the submitter only: ephemeral in the channel the button was in, else through
        that button's response_url (channels Portbot is not a member of), else a DM."""
        if check.channel_id:
            try:
                await client.chat_postEphemeral(
                    channel=check.channel_id, user=user_id, thread_ts=check.thread_ts, **message
                )
                return
            except SlackApiError as err:
                log.info("chat.postEphemeral failed (%s); trying the next way", err.response.get("error"))
        if check.response_url:
            body = {"response_type": "ephemeral", "replace_original": False, "unfurl_links": False, **message}
            if await self._post_to_response_url(check.response_url, body):
                return
            log.info("the button's response_url is no longer usable; sending a DM instead")
        await client.chat_postMessage(channel=user_id, **message, **_QUIET)

    async def _modal_done(
        self,
        client: AsyncWebClient,
        view: dict[str, Any],
        check: modals.CheckContext,
        done: dict[str, Any] | None = None,
    ) -> None:
        """Turn the modal's "Checking…" into "Done" (or ``done``); the member may have closed it already,
        which is fine."""
        view_id = view.get("id")
        if not isinstance(view_id, str):
            return
        try:
            await client.views_update(view_id=view_id, view=done or modals.done_modal(check))
        except SlackApiError as err:
            log.info("views.update after a check failed (%s); the modal was probably closed", err)

    async def _post_to_response_url(self, url: str, body: dict[str, Any]) -> bool:
        """POST a message to a response_url (on the shared session: Bolt's own respond() opens a new session,
        so a new TLS connection, for every message). True when Slack took it; False when it refused (an
        expired URL answers 404), timed out or could not be reached."""
        timeout = _clients.RESPONSE_URL_TIMEOUT
        try:
            # A session passed in keeps its own (long) timeout, so the limit is kept here.
            async with asyncio.timeout(timeout):
                response = await _clients.webhook(url, self.session, timeout).send_dict(body)
        except (aiohttp.ClientError, TimeoutError) as err:
            log.warning("response_url could not be reached: %r", err)
            return False
        if response.status_code != 200:
            log.warning("response_url refused the message: %s %s", response.status_code, response.body[:200])
            return False
        return True
