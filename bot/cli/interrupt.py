"""Ctrl-C and a closed output pipe: one line, committed work kept."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from .console import EXIT_INTERRUPTED


class _Interrupt:
    """What Ctrl-C does while a command runs.

    The first Ctrl-C cancels the command, which rolls back its open
    transaction and closes the store; if that has not ended the process
    within ``GRACE`` seconds (a worker thread still busy, a long statement),
    the process exits anyway: SQLite keeps every committed transaction and
    drops the open one. Either way one line says how much was stored. A
    second Ctrl-C exits at once.
    """

    GRACE = 0.6

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget the last command (``main`` runs once per command, tests many times)."""
        self.stored: Callable[[], int] | None = None  # committed so far, set by a command
        self.noun = "stored"
        self.hit = 0
        self.result: int | None = None  # the exit code, once the command has ended
        self._said = False

    def message(self) -> str:
        if self.stored is None:
            return "interrupted"
        return f"interrupted: {self.stored()} {self.noun}; run again to continue"

    def say(self) -> None:
        with self._lock:
            if self._said:
                return
            self._said = True
        # Straight to the file descriptor: no lock a busy thread could hold.
        clear = "\r\x1b[2K\x1b[?25h" if os.isatty(2) else ""
        try:
            os.write(2, f"{clear}{self.message()}\n".encode())
        except OSError:
            pass

    def exit_now(self) -> None:
        if self.result is None:
            self.say()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(self.result if self.result is not None else EXIT_INTERRUPTED)


def _run(coro: Coroutine[Any, Any, int], interrupt: _Interrupt) -> int:
    """Run ``coro`` to its exit code; Ctrl-C as :class:`_Interrupt` describes."""
    if threading.current_thread() is not threading.main_thread():
        return asyncio.run(coro)  # no signals off the main thread (tests)
    runner = asyncio.Runner()
    loop = runner.get_loop()
    running: list[asyncio.Task[Any]] = []

    async def command() -> int:
        running.append(asyncio.current_task())  # type: ignore[arg-type]
        return await coro

    def cancel() -> None:
        for task in running:
            task.cancel()

    def on_signals(data: bytes) -> None:
        for signum in data:
            if signum != signal.SIGINT:
                continue
            interrupt.hit += 1
            if interrupt.hit > 1:
                interrupt.exit_now()
            loop.call_soon_threadsafe(cancel)
            timer = threading.Timer(interrupt.GRACE, interrupt.exit_now)
            timer.daemon = True
            timer.start()

    # The C-level handler writes each signal to this socket at once, whatever
    # the main thread is doing; a watcher thread acts on it.
    reader, writer = socket.socketpair()
    writer.setblocking(False)

    def watch() -> None:
        with reader:
            while data := reader.recv(64):  # b"" once the writer is closed
                on_signals(data)

    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous_handler = signal.signal(signal.SIGINT, lambda *_: None)
    threading.Thread(target=watch, name="newsdesk-sigint", daemon=True).start()
    try:
        interrupt.result = runner.run(command())
        return interrupt.result
    except asyncio.CancelledError:
        if not interrupt.hit:
            raise
        interrupt.result = EXIT_INTERRUPTED
        _flush_quietly()
        interrupt.say()
        return interrupt.result
    finally:
        # Interrupted, the runner is left open: closing it would wait for
        # worker threads still busy (they report to its loop); the process
        # ends now or when the timer fires.
        if not interrupt.hit:
            try:
                runner.close()
            finally:
                signal.set_wakeup_fd(previous_fd)
                signal.signal(signal.SIGINT, previous_handler)
                writer.close()  # the watcher reads the end and stops


def _flush_quietly() -> None:
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


_INTERRUPT = _Interrupt()  # the running command's; main() resets it
