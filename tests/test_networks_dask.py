"""Dask scale-out (descentlab.networks.distribute): same numbers as one process, bit for bit.

One 2-worker LocalCluster (loopback only) is started for the module and joined by address; the
``workers=2`` tests start and close their own, as the library does.
"""

from __future__ import annotations

import logging
import os
import socket
import time

import numpy as np
import pytest
import torch
from dask.distributed import Client, LocalCluster

from descentlab.errors import InputError, InputTypeError
from descentlab.networks import directions, params, surface
from descentlab.networks.distribute import _run_chunk, _TorchSettings, map_chunks, max_workers, parse_address


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as running:
        yield running


# ---- functions the workers run (module level: pickled by reference) -----------------------------

def tanh_rows(chunk: np.ndarray, matrix: np.ndarray, offset: float) -> tuple[np.ndarray, int]:
    return np.tanh(chunk @ matrix) + offset, os.getpid()


def torch_settings(chunk: int) -> tuple[int, torch.dtype, int]:
    return chunk, torch.get_default_dtype(), torch.get_num_threads()


def fails_on_three(chunk: int) -> int:
    if chunk == 3:
        raise InputError(f"chunk {chunk} is bad")
    return chunk


PICKLED = [0]


class CountsPickles:
    """A shared object that counts how often this process pickles it."""

    def __init__(self, value: float):
        self.value = value

    def __reduce__(self):
        PICKLED[0] += 1
        return CountsPickles, (self.value,)


def scaled(chunk: float, thing: CountsPickles) -> float:
    return chunk * thing.value


def chunks_and_shared(seed: int = 0) -> tuple[list[np.ndarray], dict]:
    rng = np.random.default_rng(seed)
    chunks = [rng.standard_normal((rows, 5)) for rows in (3, 1, 4, 1, 5, 9, 2, 6)]  # uneven: order shows
    return chunks, {"matrix": rng.standard_normal((5, 3)), "offset": 0.25}


def expected(chunks, shared) -> list[np.ndarray]:
    return [np.tanh(c @ shared["matrix"]) + shared["offset"] for c in chunks]


# ---- map_chunks ----------------------------------------------------------------------------------

def test_two_local_workers_equal_a_plain_loop_bit_for_bit(capfd):
    chunks, shared = chunks_and_shared()
    out = map_chunks(tanh_rows, chunks, shared=shared, workers=2, progress=False)
    assert len(out) == len(chunks)
    for (values, pid), want in zip(out, expected(chunks, shared), strict=True):
        assert np.array_equal(values, want)
        assert pid != os.getpid()  # computed in a worker process
    err = capfd.readouterr().err
    assert "distributed." not in err and "WARNING" not in err, err  # Dask's chatter silenced


def test_without_workers_or_scheduler_it_runs_here():
    chunks, shared = chunks_and_shared(1)
    out = map_chunks(tanh_rows, chunks, shared=shared, progress=False)
    assert [pid for _, pid in out] == [os.getpid()] * len(chunks)
    assert all(np.array_equal(v, w) for (v, _), w in zip(out, expected(chunks, shared), strict=True))


def test_joins_an_existing_cluster_by_address_and_leaves_it_running(cluster):
    chunks, shared = chunks_and_shared(2)
    for address in (cluster.scheduler_address, cluster.scheduler_address.removeprefix("tcp://")):
        out = map_chunks(tanh_rows, chunks, shared=shared, scheduler=address, progress=False)
        assert all(np.array_equal(v, w) for (v, _), w in zip(out, expected(chunks, shared), strict=True))
        assert {pid for _, pid in out} <= _worker_pids(cluster)
    with Client(cluster.scheduler_address, timeout=10) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0  # freed


def _worker_pids(cluster) -> set[int]:
    with Client(cluster.scheduler_address, timeout=10) as client:
        return set(client.run(os.getpid).values())


def test_shared_objects_are_sent_once_not_once_per_chunk(cluster):
    PICKLED[0] = 0
    thing = CountsPickles(3.0)
    out = map_chunks(scaled, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], shared={"thing": thing},
                     scheduler=cluster.scheduler_address, progress=False)
    assert out == [3.0, 6.0, 9.0, 12.0, 15.0, 18.0, 21.0, 24.0]
    assert 1 <= PICKLED[0] <= 2  # scattered (broadcast to 2 workers), never with each of 8 tasks


def test_workers_compute_in_float64_on_one_thread_and_restore_their_settings(cluster):
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        out = map_chunks(torch_settings, [0, 1, 2, 3], shared={}, scheduler=cluster.scheduler_address,
                         progress=False)
    finally:
        torch.set_default_dtype(old)
    assert out == [(i, torch.float64, 1) for i in range(4)]
    with Client(cluster.scheduler_address, timeout=10) as client:  # a shared worker is left as it was
        assert set(client.run(torch.get_default_dtype).values()) == {torch.float32}


def test_an_exception_in_a_chunk_is_raised_here(cluster):
    with pytest.raises(InputError, match="chunk 3 is bad"):
        map_chunks(fails_on_three, [1, 2, 3, 4], shared={}, scheduler=cluster.scheduler_address,
                   progress=False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_closed_port_fails_fast_with_one_line_naming_it():
    address = f"tcp://127.0.0.1:{closed_port()}"
    start = time.perf_counter()
    with pytest.raises(InputError) as caught:
        map_chunks(scaled, [1.0], shared={"thing": CountsPickles(1.0)}, scheduler=address)
    assert time.perf_counter() - start < 15
    message = str(caught.value)
    assert address in message and "\n" not in message and "refused" in message


def test_a_silent_listener_times_out_within_the_bound():
    with socket.socket() as server:  # accepts TCP (the kernel's backlog) but never speaks Dask
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        start = time.perf_counter()
        with pytest.raises(InputError) as caught:
            map_chunks(scaled, [1.0], shared={"thing": CountsPickles(1.0)}, scheduler=address, timeout=1.0)
        elapsed = time.perf_counter() - start
    assert elapsed < 10
    assert address in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(("address", "words"), [
    ("http://127.0.0.1:8786", "unknown protocol"),
    ("tcp://127.0.0.1", "no port"),
    ("tcp://:8786", "no host"),
    ("tcp://127.0.0.1:99999", "port"),
    ("tcp://127.0.0.1:8786\n", "not an address"),
    ("", "not an address"),
    ("tcp://no-such-host.invalid:8786", "does not resolve"),
])
def test_bad_addresses_are_refused_with_one_line(address, words):
    start = time.perf_counter()
    with pytest.raises(InputError) as caught:
        map_chunks(scaled, [1.0], shared={"thing": CountsPickles(1.0)}, scheduler=address)
    assert time.perf_counter() - start < 15
    message = str(caught.value)
    assert words in message and "\n" not in message
    assert "scheduler" in message


def test_addresses_are_normalised():
    assert parse_address("127.0.0.1:8786") == "tcp://127.0.0.1:8786"
    assert parse_address("tls://sched.example.org:8786") == "tls://sched.example.org:8786"
    assert parse_address("tcp://[::1]:8786") == "tcp://[::1]:8786"


@pytest.mark.parametrize("workers", [0, -1, max_workers() + 1])
def test_workers_out_of_range_are_refused_before_anything_starts(workers):
    start = time.perf_counter()
    with pytest.raises(InputError, match=rf"workers {workers} is out of range: give 1 to {max_workers()}"):
        map_chunks(tanh_rows, [np.ones((1, 5))], shared={"matrix": np.ones((5, 1)), "offset": 0.0},
                   workers=workers)
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize("workers", [True, 2.0, "2"])
def test_workers_of_the_wrong_type_are_refused(workers):
    with pytest.raises(InputTypeError, match="workers must be a whole number"):
        map_chunks(tanh_rows, [], shared={}, workers=workers)


def test_workers_and_scheduler_together_are_refused():
    with pytest.raises(InputError, match="not both"):
        map_chunks(tanh_rows, [], shared={}, workers=2, scheduler="tcp://127.0.0.1:8786")


# ---- the loss surface on Dask ------------------------------------------------------------------

def tiny_problem():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    x = torch.randn(40, 3, dtype=torch.float64)
    y = torch.randn(40, 2, dtype=torch.float64)
    origin = params.flat(model)
    rng = np.random.default_rng(0)
    plane = directions.given(origin, rng.standard_normal(origin.size), rng.standard_normal(origin.size))
    return model, torch.nn.functional.mse_loss, x, y, plane


def test_grid_on_two_workers_equals_one_process_bit_for_bit(cluster):
    model, loss_fn, x, y, plane = tiny_problem()
    a, b = np.linspace(-1.0, 1.0, 7), np.linspace(-0.5, 1.5, 6)
    here = surface.grid(model, loss_fn, x, y, plane, a, b, chunk=5, progress=False)
    on_two = surface.grid(model, loss_fn, x, y, plane, a, b, chunk=5, workers=2, progress=False)
    joined = surface.grid(model, loss_fn, x, y, plane, a, b, chunk=5, scheduler=cluster.scheduler_address,
                          progress=False)
    assert here.shape == (6, 7) and here.dtype == np.float64
    assert np.array_equal(on_two, here) and np.array_equal(joined, here)
    # …and they are the loss: one point by loading its parameters into the model
    i, j = 4, 1
    params.load(model, plane.origin + a[j] * plane.d1 + b[i] * plane.d2)
    with torch.no_grad():
        direct = loss_fn(model(x), y).item()
    assert abs(here[i, j] - direct) <= 1e-12 * max(1.0, abs(direct))


def misaligned(t: torch.Tensor, offset: int = 4) -> torch.Tensor:
    """A copy of ``t`` whose data starts ``offset`` bytes past an 8-byte boundary, as Dask may
    hand an array over from inside its network buffer."""
    buffer = np.zeros(t.numel() * t.element_size() + 16, dtype=np.uint8)
    start = (-buffer.ctypes.data) % 8 + offset
    array = np.frombuffer(buffer[start:start + t.numel() * t.element_size()].data,
                          dtype=np.float64).reshape(tuple(t.shape))
    array[...] = t.numpy()
    return torch.from_numpy(array)


def test_a_task_computes_on_aligned_private_copies_of_what_dask_hands_over():
    # MKL rounds a product of unaligned float64 data differently: on the 2-core test machine this
    # chunk's loss moved by one ulp at 8 of its 64 points when x came misaligned. The task copies.
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10)).double()
    x, y = torch.rand(500, 64, dtype=torch.float64), torch.randint(0, 10, (500,))
    origin, rng = params.flat(model), np.random.default_rng(0)
    d1, d2 = 0.1 * rng.standard_normal(origin.size), 0.1 * rng.standard_normal(origin.size)
    plane = directions.given(origin, d1, d2)
    net, xs, ys = surface.prepared(model, x, y)
    shared = surface._shared(net, torch.nn.functional.cross_entropy, xs, ys, plane)
    coords = np.stack(np.meshgrid(np.linspace(-1, 1, 8), np.linspace(-1, 1, 8)), -1).reshape(-1, 2)
    here = surface.evaluate_chunk(coords, **shared)
    handed_over = dict(shared, x=misaligned(xs))
    assert handed_over["x"].data_ptr() % 8 == 4 and torch.equal(handed_over["x"], xs)
    on_worker = _run_chunk(surface.evaluate_chunk, coords, handed_over, _TorchSettings.here())
    assert np.array_equal(on_worker, here)
    seen = _run_chunk(lambda chunk, **kw: {k: id(v) for k, v in kw.items()}, coords, shared,
                      _TorchSettings.here())
    assert all(seen[k] != id(shared[k]) for k in ("net", "x", "origin"))  # private copies
