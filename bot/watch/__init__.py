"""Watches: a server checked on a schedule, with its status kept in one chat message and an alert on each change.

=================  ================================================================================================
module             what it holds
=================  ================================================================================================
``models``         the plain records (NewWatch, Watch, Health) and the WatchError tree
``repository``     add (with the quota) / get / list / remove, for the chat commands and ``portbot watch``
``notify``         the Notifier boundary: CheckSummary (one check), Change (one confirmed change)
``checker``        one check through the probe backend (policy, limits, audit, workers), read as a Health
``confirm``        the two-results-in-a-row rule, as pure data
``leases``         the scheduler's statements: claims under a fenced lease, results, the alert outbox
``scheduler``      the loop: :func:`~bot.watch.scheduler.run_scheduler` (``portbot watch run``, the bots)
``webhook``        the notifier of ``portbot watch add --notify URL`` (Discord, Slack or plain JSON)
=================  ================================================================================================

Nothing here imports a chat library at module level: the bots pass their own Notifiers in.
"""
