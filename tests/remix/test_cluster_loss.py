"""Losing the Dask cluster mid-command: the work ends within a bounded time with one line."""

from __future__ import annotations

import os
import signal
import time

import pytest

from remix.cluster import cluster_client
from remix.errors import RemixError
from tests.cluster_helpers import loopback_cluster

pytest.importorskip("distributed")


def _slow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pytest.mark.parametrize("lose", ["worker", "scheduler"])
def test_a_lost_cluster_ends_the_work_with_one_line(tmp_path, lose):
    with loopback_cluster(tmp_path / "dask", workers=1) as cluster:
        start = time.monotonic()
        with pytest.raises(RemixError) as caught:
            with cluster_client(cluster.address, lost_after_s=2.0) as client:
                executor = client.get_executor(pure=False)
                future = executor.submit(_slow, 120.0)
                time.sleep(1.0)
                victim = cluster.workers[0] if lose == "worker" else cluster.scheduler
                os.killpg(victim.pid, signal.SIGKILL)
                future.result()  # would wait for the 120 s task (or forever without a worker)
        elapsed = time.monotonic() - start
    message = str(caught.value)
    assert "run the same command to resume" in message and "\n" not in message
    assert ("no Dask worker" in message) if lose == "worker" else ("scheduler" in message)
    assert elapsed < 60, elapsed
