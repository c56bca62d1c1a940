"""Watches: a server checked on a schedule, with its status kept in one chat message and an alert on each change.

``models`` holds the plain records, ``repository`` the statements on :class:`bot.store.Store`. The scheduler that
claims due watches, probes them and confirms changes builds on these.
"""
