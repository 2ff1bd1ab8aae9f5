"""The process layout torchrun gives through its environment (one reader for every command)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Mapping

__all__ = ["ProcessLayout", "process_layout"]


@dataclass(frozen=True)
class ProcessLayout:
    """Where this process stands in a (torchrun) job; a plain run is rank 0 of 1."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    torchrun: bool = False  # started by torchrun (even with one process)
    job: str | None = None  # shared by the processes of one torchrun job (and no other running job)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def num_nodes(self) -> int:
        return max(1, self.world_size // max(1, self.local_world_size))


def process_layout() -> ProcessLayout:
    """Read RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE (torchrun's variables) from the environment; the job
    is TORCHELASTIC_RUN_ID/MASTER_ADDR/MASTER_PORT under torchrun, else None."""
    env = os.environ
    torchrun = "TORCHELASTIC_RUN_ID" in env
    return ProcessLayout(
        rank=int(env.get("RANK", "0")),
        world_size=int(env.get("WORLD_SIZE", "1")),
        local_rank=int(env.get("LOCAL_RANK", "0")),
        local_world_size=int(env.get("LOCAL_WORLD_SIZE", "1")),
        torchrun=torchrun,
        job=_job_id(env) if torchrun else None,
    )


def _job_id(env: Mapping[str, str]) -> str:
    """Rendezvous id, master address and port; with a loopback master (a single-node job) also this host's name,
    so that single-node jobs on two hosts of a shared file system are told apart."""
    addr = env.get("MASTER_ADDR", "")
    parts = [env.get("TORCHELASTIC_RUN_ID", ""), addr, env.get("MASTER_PORT", "")]
    if addr in ("", "localhost", "::1") or addr.startswith("127."):
        parts.append(socket.gethostname())
    return "/".join(parts)
