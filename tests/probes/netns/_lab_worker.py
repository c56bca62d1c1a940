"""The real probe worker for the self-check labs, run inside the lab's worker namespace.

    python -m tests.probes.netns._lab_worker SECRET HOST PORT [ENGINE_JSON]

Its safety policy allows the documentation ranges, which play the internet in the labs. ENGINE_JSON holds
EngineConfig fields (default: FAST below). Prints ``ready``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from probes.engine import EngineConfig, ProbeEngine
from probes.policy import SafetyPolicy
from probes.worker import WorkerConfig, start
from tests.probes.netns.topology import INTERNET_ALLOW

FAST = EngineConfig(timeout=1.5, identify=False, icmp_rtt=False, ttl_rtt=False, rtt_memory=False)


async def main(secret: str, host: str, port: int, engine: EngineConfig = FAST) -> None:
    policy = SafetyPolicy.from_strings(allow=list(INTERNET_ALLOW))
    config = WorkerConfig(
        secret=secret, host=host, port=port, region="Lab", audit=False, engine=engine, policy=policy
    )
    worker = await start(config, ProbeEngine(policy, engine))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await worker.stop()


if __name__ == "__main__":
    chosen = EngineConfig(**json.loads(sys.argv[4])) if len(sys.argv) > 4 else FAST
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), chosen))
