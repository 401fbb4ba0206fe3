"""BookNesterov and BookMomentum under torch.distributed data parallel (2 processes, gloo, loopback).

The test starts this file twice as a script (ranks 0 and 1, ``tcp://127.0.0.1:<free port>``,
``GLOO_SOCKET_IFNAME=lo``). Each rank trains the same small MLP with DistributedDataParallel on
its half of every global batch, loss summed over its shard, for each optimizer setting below, and
saves its final parameters. With :func:`allreduce_sum_hook` the all-reduced gradient is the sum over
the global batch, the book's g: both ranks must end with identical parameters, equal (to rounding:
the sum is taken in another order) to one process training on the full batches. Without the hook
DDP averages over the ranks, which is one process on the loss divided by the world size.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import torch

from descentlab.integrations.torch import BookMomentum, BookNesterov, allreduce_sum_hook

WORLD = 2
STEPS = 8
GLOBAL_BATCH = 16
CONFIGS = {
    "nesterov-lookahead": (lambda p: BookNesterov(p, lr=0.01, beta=0.9), True),
    "nesterov-phi": (lambda p: BookNesterov(p, lr=0.01, beta=0.9, parameters_are="phi",
                                            weight_decay=0.01), True),
    "momentum-decoupled": (lambda p: BookMomentum(p, lr=0.01, beta=0.8, weight_decay=0.05,
                                                  decoupled_weight_decay=True), True),
    "nesterov-mean": (lambda p: BookNesterov(p, lr=0.01, beta=0.9), False),   # DDP's default: average
}


def data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(STEPS * GLOBAL_BATCH, 6, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (STEPS * GLOBAL_BATCH,), generator=gen)
    return x, y


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).double()


def train(net: torch.nn.Module, make_opt, shard: slice | None, loss_scale: float = 1.0) -> list[torch.Tensor]:
    """STEPS steps on consecutive global batches (``shard`` of each: this rank's part)."""
    x, y = data()
    opt = make_opt(net.parameters())
    for t in range(STEPS):
        batch = slice(t * GLOBAL_BATCH, (t + 1) * GLOBAL_BATCH)
        xb, yb = x[batch], y[batch]
        if shard is not None:
            xb, yb = xb[shard], yb[shard]

        def closure(xb=xb, yb=yb, opt=opt):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xb), yb, reduction="sum") * loss_scale
            loss.backward()
            return loss

        opt.step(closure)
    return [p.detach().clone() for p in net.parameters()]


def worker(rank: int, port: int, out: Path) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD,
                            timeout=timedelta(seconds=60))
    try:
        half = GLOBAL_BATCH // WORLD
        results = {}
        for name, (make_opt, summed) in CONFIGS.items():
            ddp = DistributedDataParallel(model())
            if summed:
                ddp.register_comm_hook(None, allreduce_sum_hook)
            results[name] = train(ddp, make_opt, slice(rank * half, (rank + 1) * half))
        torch.save(results, out / f"rank{rank}.pt")
        dist.barrier()
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_ranks_agree_with_each_other_and_with_one_process(tmp_path):
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    port = free_port()
    procs = [subprocess.Popen([sys.executable, __file__, str(rank), str(port), str(tmp_path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for rank in range(WORLD)]
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=120)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [p.returncode for p in procs] == [0] * WORLD, "\n".join(outputs)

    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    for name, (make_opt, summed) in CONFIGS.items():
        a, b = ranks[0][name], ranks[1][name]
        assert all(torch.equal(pa, pb) for pa, pb in zip(a, b, strict=True)), name
        single = train(model(), make_opt, None, loss_scale=1.0 if summed else 1.0 / WORLD)
        start = [p.detach() for p in model().parameters()]
        for pa, ps, p0 in zip(a, single, start, strict=True):
            torch.testing.assert_close(pa, ps, rtol=1e-12, atol=1e-12, msg=name)
            assert not torch.allclose(pa, p0, rtol=0, atol=1e-6), name    # training moved them
        if not summed:   # the average is not the book's sum: it differs from the summed run
            summed_run = ranks[0]["nesterov-lookahead"]
            assert max(float((p - q).abs().max()) for p, q in zip(a, summed_run, strict=True)) > 1e-6


if __name__ == "__main__":
    worker(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
