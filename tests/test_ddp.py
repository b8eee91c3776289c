"""`python -m snnlib.train` under torchrun: 2 CPU processes with the gloo backend."""
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "ddp_check.yaml"

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(out: Path, *launcher: str, batch_size: int) -> None:
    cmd = [sys.executable, *launcher, "-m", "snnlib.train", "--config", str(CONFIG), "--out", str(out),
           "--batch-size", str(batch_size), "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("ddp")
    train(base / "two", "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
          f"--master_port={free_port()}", batch_size=16)
    train(base / "one", batch_size=32)  # one process, the two shards' first batches together
    return base


def test_processes_see_disjoint_shards():
    from snnlib.train.__main__ import build_loaders

    data = torch.utils.data.TensorDataset(torch.arange(70.0), torch.zeros(70, dtype=torch.long))
    settings = {"batch_size": 16, "shuffle": False, "seed": 0}
    loaders = [build_loaders(data, data, settings, rank, world=2) for rank in (0, 1)]
    shards = [torch.cat([x for x, _ in train]).long().tolist() for train, _ in loaders]
    assert len(shards[0]) == len(shards[1]) == 35
    assert not set(shards[0]) & set(shards[1])
    # without shuffling, the first batches of both processes are together the first 32 samples
    assert sorted(shards[0][:16] + shards[1][:16]) == list(range(32))
    tests = [torch.cat([x for x, _ in test]).long().tolist() for _, test in loaders]
    assert sorted(tests[0] + tests[1]) == list(range(70))  # every test sample exactly once


def test_one_ddp_step_equals_one_step_on_the_combined_batch(runs):
    two = torch.load(runs / "two" / "model.pt")
    one = torch.load(runs / "one" / "model.pt")
    assert two.keys() == one.keys()
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=1e-5, atol=1e-6, msg=name)
    history = json.loads((runs / "two" / "history.json").read_text())
    assert history["world_size"] == 2
