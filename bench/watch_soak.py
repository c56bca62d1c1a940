"""Soak bench for watches (issue 10): the whole deployment, on PostgreSQL and Redis, for ten minutes.

    sudo .venv/bin/python bench/watch_soak.py [--watches 1000] [--minutes 10] [--every 60]

What runs, all on this machine:

- PostgreSQL (a throwaway cluster from Debian's binaries) holds the watches, their leases and the alert outbox;
  redis-server holds the rate limits and the workers' replay guard.
- 3 ``portbot worker`` processes probe; every check goes through one of them (``PORTBOT_WORKERS``), under the
  default rate limits (per user, per server and per target).
- 2 ``portbot watch run`` schedulers and 2 bot processes (``portbot slack`` over HTTP, which run the scheduler
  too, against a small fake Slack Web API) share the due checks.
- The targets live in a network namespace this bench builds: ``--watches / 5`` hosts in 198.51.100.0/24, each
  with 5 TCP ports open, reached from the host through a veth pair. The namespace is removed at the end.
- Every watch alerts a webhook served by this bench on loopback, which records each (watch, change) it is told.

The script:

1. adds the watches and waits for their first state (no alerts expected for it);
2. at 1/10 of the run, makes 10 % of the watches' ports refuse connections (iptables in the namespace);
3. at 3/10, SIGKILLs one worker, one scheduler and one bot, and restarts each 20 s later;
4. at 6/10, opens those ports again;
5. at the end stops everything, waits for the outbox to drain, and checks that every watch whose port was closed
   was alerted exactly once for going down and once for coming back, and no other watch at all.

It reports checks/s, the p99 lateness of checks (claim time minus due time), PostgreSQL's load
(pg_stat_database: transactions, rows, and the server processes' CPU) in bench/results/watch_soak.md.
"""
