"""How `serve` runs the server process(es), so that what it prints is true:

- the port is bound (and listening) before anything is printed: a port in use ends `serve` with
  one line and exit code 3, before any banner or curl could reach whatever owns the port;
- the ready banner, with the port actually bound (`--port 0` picks one), is printed once a server
  accepts connections: with `--workers N`, once every worker has started on the parent's socket;
- workers exit when their parent dies, even by `kill -9` (Linux's parent-death signal, or a
  watchdog thread elsewhere), so none is left serving on the port;
- SIGTERM stops gracefully and exits with the signal (143 in a shell), SIGINT (Ctrl+C) with 130,
  with one worker or N.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from mock_server.exceptions import CannotListen

EXIT_CANNOT_LISTEN = 3  # also uvicorn's code for a server that fails to start
BACKLOG = 2048  # uvicorn's default
READY_TIMEOUT_S = 60.0  # a worker that has not started by then is reported as failed
PARENT_ENV = "DUMPLING_MOCK__PARENT_PID"  # how a worker learns which process it must outlive
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def bind(host: str, port: int) -> socket.socket:
    """A listening socket: connections queue from now on, even before a worker has started."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        reason = (exc.strerror or str(exc)).lower()
        hint = " (another server owns it: stop it or choose another --port)" if exc.errno == 98 else ""
        raise CannotListen(f"cannot listen on {host}:{port}: {reason}{hint}") from None
    sock.set_inheritable(True)
    return sock


def run_one(config: Any, sock: socket.socket, on_ready: Callable[[], None]) -> int:
    """One server in this process. uvicorn re-raises a stopping signal itself once it has shut
    down (SIGTERM ends the process with it; SIGINT becomes KeyboardInterrupt)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and not self.should_exit:
                on_ready()

    server = Server(config)
    server.run(sockets=[sock])
    return 0 if server.started else EXIT_CANNOT_LISTEN


def run_workers(config: Any, sock: socket.socket, on_ready: Callable[[], None]) -> tuple[int, int | None]:
    """N worker processes on one socket (uvicorn's supervisor). Returns (exit code, the signal
    that stopped them or None); the caller cleans up, then `reraise`s the signal."""
    from uvicorn.supervisors.multiprocess import Multiprocess

    class Supervisor(Multiprocess):
        stopped_by: int | None = None

        def init_processes(self) -> None:
            super().init_processes()
            for process in self.processes:
                if not process.wait_until_ready(READY_TIMEOUT_S, self.should_exit):
                    self.should_exit.set()  # a worker that cannot start: stop them all (exit 3)
                    return
            on_ready()

        def handle_term(self) -> None:
            self.stopped_by = signal.SIGTERM
            super().handle_term()

        def handle_int(self) -> None:
            self.stopped_by = signal.SIGINT
            super().handle_int()

    os.environ[PARENT_ENV] = str(os.getpid())
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    supervisor = Supervisor(config, sockets=[sock])
    try:
        supervisor.run()
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    if supervisor.stopped_by is not None:
        return 0, supervisor.stopped_by
    return EXIT_CANNOT_LISTEN, None  # the supervisor stops by itself only when a worker cannot start


def reraise(sig: int | None) -> None:
    """End as the stopping signal would have (143 for SIGTERM), as a single server does."""
    if sig is not None:
        sys.stderr.flush()
        signal.raise_signal(sig)


def exit_with_parent() -> None:
    """In a worker: stop (SIGTERM: gracefully) when the `serve` process that started it dies."""
    parent = int(os.environ.get(PARENT_ENV, "0") or 0)
    if not parent:
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        armed = sys.platform.startswith("linux") and libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
    except (OSError, AttributeError):
        armed = False
    if os.getppid() != parent:  # died before the signal was armed
        os.kill(os.getpid(), signal.SIGTERM)
        return
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), name="parent-watchdog", daemon=True).start()


def _watch_parent(parent: int) -> None:
    """Where no parent-death signal exists: poll once a second."""
    stop = threading.Event()
    while not stop.wait(1.0):
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
            return
