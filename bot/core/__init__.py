"""The platform-neutral command core: parse ``/port`` text into an intent, answer it as a Reply."""

from bot.core.reply import Action, ActionKind, Field, Reply, ReplyKind, Status

__all__ = ["Action", "ActionKind", "Field", "Reply", "ReplyKind", "Status"]
