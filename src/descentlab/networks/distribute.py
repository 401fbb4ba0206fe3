r"""Evaluate chunks of work on Dask: worker processes on this machine, or a cluster you already run.

The loss surface of a network on a G×G grid is G² independent forward passes. The grid's points are
cut into chunks :math:`c_1, \dots, c_m` and

.. math::
    \texttt{map\_chunks}(f, [c_1, \dots, c_m], \text{shared}) = [\,f(c_1, **\text{shared}), \dots,
    f(c_m, **\text{shared})\,]

is computed on Dask, one task per chunk, the results returned in the chunks' order. The objects
every chunk needs (the model, the data, the plane) are sent to each worker **once**
(``client.scatter(..., broadcast=True)``), not once per chunk.

Where the work runs:

* ``workers=N``: a :class:`dask.distributed.LocalCluster` of N worker *processes* with one thread
  each, listening on the loopback interface only (127.0.0.1; no dashboard), started for this call
  and closed afterwards.
* ``scheduler="tcp://host:port"``: join a Dask cluster that is already running; it is left running.
  The connection must succeed within :data:`CONNECT_TIMEOUT` seconds, or the call fails with one
  line naming the address. Any Dask deployment gives such an address, for example

  - a university cluster through `dask-jobqueue <https://jobqueue.dask.org>`_::

        from dask_jobqueue import SLURMCluster          # or PBSCluster, SGECluster, LSFCluster, …
        cluster = SLURMCluster(cores=1, processes=1, memory="4GB", walltime="01:00:00")
        cluster.scale(jobs=8)
        print(cluster.scheduler_address)                # tcp://10.1.2.3:8786

    then ``descentlab landscape ... --scheduler tcp://10.1.2.3:8786`` (or
    ``landscape(..., scheduler=cluster.scheduler_address)``) from a machine that can reach it;
  - Kubernetes through `dask-kubernetes <https://kubernetes.dask.org>`_ (``KubeCluster(name=...,
    n_workers=8)``, its ``scheduler_address``, or ``kubectl port-forward`` to the scheduler
    service's port 8786 and ``--scheduler tcp://127.0.0.1:8786``);
  - by hand: ``dask scheduler`` on one machine, ``dask worker tcp://host:8786 --nthreads 1`` on
    the others.

  The workers need the same Python packages (descentlab, the same torch) as the client, and the
  module that defines your model (the model is pickled with its class by reference: install the
  module on the workers or ``client.upload_file`` it). Dask's ``tcp://`` is neither encrypted nor
  authenticated: use it inside a trusted network, or ``tls://`` with Dask's TLS settings.
  Workers that join later (an adaptive cluster) are used as they come; with none at all the
  chunks wait for one.

**The same numbers as one process.** Each task runs with torch's default dtype set to the
client's (float64 in descentlab) and ``torch.set_num_threads(1)`` (one worker process per core),
and puts both back when it ends, so a worker shared with other work is left as it was. It computes
on its own deep copy of the chunk and the shared objects: Dask hands arrays over from inside its
network buffers at any byte offset, and MKL rounds products of float64 data that is not 8-byte
aligned differently (measured: one ulp at 14 of 64 grid points of a digits MLP, in about half the
worker processes); the copy is aligned, and it also keeps ``functional_call``'s temporary swap of
a module's parameters away from a peer pickling the same object. So a worker computes exactly the
bits this process would; the tests check the 2-worker grid against one process bit for bit (on
one machine: a cluster of other CPUs or another BLAS build may round differently in the last
place). The copy costs one pass over the shared data per chunk, small beside the chunk's work.

**Quiet.** While a call runs, Dask's log messages below ERROR (worker start-up and shutdown, the
scheduler's comings and goings) are silenced in this process and in the local workers; errors
still show, and a chunk that raises re-raises its exception here.

A script that uses ``workers=N`` must guard its top level with ``if __name__ == "__main__":``:
the worker processes are started with ``spawn``, which imports the main script again.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import torch

from descentlab.errors import InputError, InputTypeError, one_line
from descentlab.progress import progress_bar

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for an existing scheduler to answer (the TCP connection and Dask's handshake)."""

ADDRESS_LIMIT = 300
"""The longest scheduler address accepted (characters)."""

_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
"""Dask's network protocols (``inproc://`` only reaches this process's own threads)."""


def max_workers() -> int:
    """The most local worker processes allowed: four per CPU this process may use, so a typo
    (``--workers 2000``) cannot start thousands of processes."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    return 4 * max(cpus, 1)


def map_chunks(fn: Callable[..., Any], chunks: list, *, shared: dict[str, Any] | None = None,
               workers: int | None = None, scheduler: str | None = None,
               progress: bool = True, timeout: float = CONNECT_TIMEOUT) -> list:
    """``[fn(chunk, **shared) for chunk in chunks]``, computed on Dask, in the chunks' order.

    Args:
        fn: a pure function of one chunk and the shared objects as keyword arguments; it must be
            picklable (a module-level function, or anything cloudpickle takes).
        chunks: the pieces of work (small: each is sent with its task).
        shared: name -> object every chunk needs (model, data, plane); sent to each worker once.
        workers: start a local cluster of this many worker processes (1 to :func:`max_workers`),
            one thread each, on 127.0.0.1, closed when the call returns.
        scheduler: the address of a running Dask scheduler (``tcp://host:port``; ``host:port``
            means ``tcp://``) to join instead; the cluster is left running.
        progress: draw a progress bar over the finished chunks (only on a terminal).
        timeout: seconds to wait for ``scheduler`` to answer.

    With neither ``workers`` nor ``scheduler`` the chunks are computed here, one after the other.
    Options are checked before anything starts: both given, ``workers`` out of range or not an
    integer, or a malformed or unreachable address raise :class:`~descentlab.errors.InputError`
    with one line naming the value. An exception inside ``fn`` is re-raised here as it was raised.
    """
    if not callable(fn):
        raise InputTypeError(f"fn must be callable, got {type(fn).__name__}")
    shared = _check_shared(shared)
    count = _check_workers(workers)
    address = None if scheduler is None else parse_address(scheduler)
    if count is not None and address is not None:
        raise InputError(f"give workers or scheduler, not both (workers={count}, "
                         f"scheduler={one_line(address, 120)})")
    chunks = list(chunks)
    if count is None and address is None:
        return _here(fn, chunks, shared, progress)
    if not chunks:  # nothing to do: no cluster to start or join
        if address is not None:
            probe(address, timeout)
        return []
    from distributed import Client, LocalCluster  # imported only when Dask is asked for

    with _quiet():
        if address is not None:
            probe(address, timeout)
            client = _connect(Client, address, timeout)
            with client:
                return _on_dask(client, fn, chunks, shared, progress, f"chunks on {one_line(address, 60)}")
        with LocalCluster(n_workers=count, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=logging.ERROR,
                          # no dashboard; its health/metrics routes on a free loopback port
                          scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cluster, \
                Client(cluster) as client:
            label = f"chunks on {count} Dask worker{'s' if count > 1 else ''}"
            return _on_dask(client, fn, chunks, shared, progress, label)


# ---- checks ------------------------------------------------------------------------------------

def _check_shared(shared: object) -> dict[str, Any]:
    if shared is None:
        return {}
    if not isinstance(shared, dict) or not all(isinstance(k, str) for k in shared):
        raise InputTypeError(f"shared must be a dict of name -> object, got {type(shared).__name__}")
    return dict(shared)


def _check_workers(workers: object) -> int | None:
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise InputTypeError(f"workers must be a whole number of processes, "
                             f"got {one_line(repr(workers), 80)}")
    most = max_workers()
    if not 1 <= workers <= most:
        raise InputError(f"workers {workers} is out of range: give 1 to {most} worker processes "
                         f"(four per CPU here)")
    return int(workers)


def parse_address(text: object) -> str:
    """The scheduler address ``text`` in Dask's form ``scheme://host:port`` (``host:port`` is
    taken as ``tcp://``); :class:`~descentlab.errors.InputError` naming it when it is not one."""
    if not isinstance(text, str):
        raise InputTypeError(f"scheduler must be an address such as tcp://127.0.0.1:8786, "
                             f"got {type(text).__name__}")
    shown = one_line(repr(text), 120)
    if not text.strip() or len(text) > ADDRESS_LIMIT or not text.isprintable() or text != text.strip():
        raise InputError(f"scheduler {shown} is not an address such as tcp://127.0.0.1:8786")
    scheme, _, rest = text.rpartition("://")
    scheme = scheme or "tcp"
    if scheme not in _SCHEMES:
        raise InputError(f"scheduler {shown}: unknown protocol {scheme!r}; use one of "
                         f"{', '.join(s + '://' for s in _SCHEMES)}")
    host, port = _host_port(rest, shown)
    return f"{scheme}://{'[' + host + ']' if ':' in host else host}:{port}"


def _host_port(location: str, shown: str) -> tuple[str, int]:
    if location.startswith("["):  # [IPv6]:port
        host, _, tail = location[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    elif ":" not in location:
        raise InputError(f"scheduler {shown} has no port; write it as tcp://HOST:PORT")
    else:
        host, _, port_text = location.rpartition(":")
    if not host or any(c in host for c in "/@?#[] "):
        raise InputError(f"scheduler {shown} has no host; write it as tcp://HOST:PORT")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"scheduler {shown} has no valid port (1 to 65535); write it as tcp://HOST:PORT")
    return host, int(port_text)


def probe(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Fail fast, with one line naming ``address``, unless a Dask scheduler answers there within
    ``timeout`` seconds: the host does not resolve, its port refuses (answered at once: Dask's own
    connect would retry until its timeout), or ignores the connection, or what answers is not Dask.

    The second check opens one Dask connection, bounded as a whole: Dask bounds the TCP connect
    but not the handshake that follows it, so a port that accepts and then stays silent (another
    service) would otherwise hang ``Client(address)`` for ever."""
    scheme, _, location = address.partition("://")
    if scheme in ("tcp", "tls", "ws", "wss"):
        host, port = _host_port(location, address)
        try:
            with socket.create_connection((host, port), timeout=timeout):
                pass
        except socket.gaierror as exc:
            _unreachable(address, f"host {one_line(host, 80)} does not resolve "
                                  f"({one_line(exc.strerror, 80)})")
        except TimeoutError:
            _unreachable(address, f"no answer within {timeout:g} s")
        except OSError as exc:
            _unreachable(address, "nothing is listening there (connection refused)"
                         if isinstance(exc, ConnectionRefusedError) else one_line(exc.strerror or exc, 80))
    outcome: list[BaseException | None] = []
    thread = threading.Thread(target=lambda: outcome.append(_handshake(address, timeout)), daemon=True,
                              name="descentlab-dask-probe")  # its own event loop: works in Jupyter too
    thread.start()
    thread.join(timeout + 5)
    error = outcome[0] if outcome else TimeoutError()
    if isinstance(error, TimeoutError):  # asyncio's too
        _unreachable(address, f"no Dask scheduler answered within {timeout:g} s")
    if error is not None:
        _unreachable(address, f"what answers there is not a Dask scheduler ({type(error).__name__}: "
                     f"{one_line(error, 120)})")


def _handshake(address: str, timeout: float) -> BaseException | None:
    """Open and close one Dask connection to ``address`` within ``timeout`` s; the error, if any."""
    from distributed.comm import connect
    from distributed.security import Security

    async def attempt() -> None:
        comm = await connect(address, timeout=timeout,
                             **Security().get_connection_args("client"))  # TLS from Dask's config
        await comm.close()

    try:
        asyncio.run(asyncio.wait_for(attempt(), timeout))
    except Exception as exc:
        return exc
    return None


def _unreachable(address: str, why: str) -> NoReturn:
    raise InputError(f"cannot reach the Dask scheduler at {one_line(address, 120)}: {why}") from None


def _connect(client_class: type, address: str, timeout: float):
    try:
        return client_class(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise InputError(f"cannot connect to the Dask scheduler at {one_line(address, 120)} within "
                         f"{timeout:g} s: {one_line(exc, 160)}") from None


# ---- the work ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _TorchSettings:
    """torch's process-wide settings a chunk must compute under, as the client has them."""

    dtype: torch.dtype

    @classmethod
    def here(cls) -> _TorchSettings:
        return cls(torch.get_default_dtype())

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        old_dtype, old_threads = torch.get_default_dtype(), torch.get_num_threads()
        torch.set_default_dtype(self.dtype)
        torch.set_num_threads(1)  # one process per core: no oversubscription
        try:
            yield
        finally:
            torch.set_default_dtype(old_dtype)
            torch.set_num_threads(old_threads)


def _run_chunk(fn: Callable[..., Any], chunk: Any, shared: dict[str, Any], settings: _TorchSettings) -> Any:
    """One task on a worker: ``fn(chunk, **shared)`` under the client's torch settings."""
    # Each task computes on its own copy of the shared objects (a deep copy: new, 64-byte aligned
    # memory for every tensor and array), for two reasons measured here:
    # * Dask hands over arrays that live inside its network buffers, at any byte offset; MKL's
    #   matrix products round differently for data not aligned to 8 bytes (a digits MLP's loss
    #   moved by one ulp at 14 of 64 points), so the worker would not reproduce this process.
    # * torch.func.functional_call swaps the parameters of the module it is given while it runs,
    #   and the worker may be pickling that very object for a peer from another thread.
    chunk, own = copy.deepcopy(chunk), copy.deepcopy(shared)
    with settings.applied():
        return fn(chunk, **own)


def _here(fn: Callable[..., Any], chunks: list, shared: dict[str, Any], progress: bool) -> list:
    update = progress_bar(len(chunks), "chunks") if progress and chunks else None
    results = []
    for done, chunk in enumerate(chunks, 1):
        results.append(fn(chunk, **shared))
        if update:
            update(done)
    return results


def _on_dask(client, fn: Callable[..., Any], chunks: list, shared: dict[str, Any], progress: bool,
             label: str) -> list:
    from distributed import as_completed

    # a list, not the dict: scatter would make the dict's keys ("x", "net", …) the Dask keys, which
    # another call on a shared cluster could still hold, with other data
    names = list(shared)
    remote = dict(zip(names, client.scatter([shared[n] for n in names], broadcast=True, hash=False),
                      strict=True)) if shared else {}
    settings = _TorchSettings.here()
    futures = [client.submit(_run_chunk, fn, chunk, remote, settings, pure=False) for chunk in chunks]
    try:
        update = progress_bar(len(futures), label) if progress else None
        for done, future in enumerate(as_completed(futures), 1):
            if future.status == "error":
                future.result()  # re-raises the chunk's exception here
            if update:
                update(done)
        return client.gather(futures)
    finally:
        client.cancel(futures + list(remote.values()))  # frees a shared cluster's memory at once


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Dask's loggers at ERROR while a call runs (its INFO and WARNING lines are start-up and
    shutdown chatter for a user of descentlab), put back afterwards."""
    names = ["distributed", "tornado", "bokeh"]
    names += [n for n in logging.root.manager.loggerDict if n.startswith(("distributed.", "tornado."))]
    with contextlib.ExitStack() as stack:
        for name in names:
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() < logging.ERROR:
                stack.callback(logger.setLevel, logger.level)
                logger.setLevel(logging.ERROR)
        yield
