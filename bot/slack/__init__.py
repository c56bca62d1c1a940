"""The Slack adapter (slack-bolt, asyncio). Imported only by ``portbot slack``: never on the ``ask`` path.

build_app(settings, portbot, http=..., client=None) -> AsyncApp   the Bolt app, listeners registered
run(settings, portbot, http=False)                                serve until cancelled
"""

from bot.slack.app import BOT_SCOPES, EVENTS_PATH, build_app, lazy_runner
from bot.slack.processes import PROCESS_HEADER
from bot.slack.server import HEALTH_PATH, run, start_http

__all__ = [
    "BOT_SCOPES",
    "EVENTS_PATH",
    "HEALTH_PATH",
    "PROCESS_HEADER",
    "build_app",
    "lazy_runner",
    "run",
    "start_http",
]
