"""The GB/T 26875.3 door: an asyncio TCP server for fire alarm transmission devices.

One connection per transmission device, thousands at once on one event loop. For each frame:

- not conforming (checksum, length, markers, unknown command or layout) -> deny, log;
- send data (2) -> decode, map to readings, hand them to the sink, confirm (3) once the sink
  has returned, i.e. once they are committed: a device whose frame is confirmed may forget
  it, so a confirm before the commit could lose a fire alarm;
- an empty data unit or a normal type-21 status is a heartbeat -> `seen`, confirm.

The sink and `seen` are blocking Django code. They run on one worker thread, and the frames
of every connection that arrive while the previous commit runs, or within `window` seconds,
go to the sink as one call: a thousand devices make a few transactions a second, not a
thousand.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from frontline.monitoring.readings import Reading

from . import mapping, vendors
from .frames import CHINA, Command, Frame, FrameReader, Rejected, encode_frame, encode_time
from .units import UnitError

log = logging.getLogger("frontline.monitoring.gb26875")

SOURCE = "gb26875"
READ_SIZE = 4096
# No device sends this many broken frames in one read; a peer that does is hung up on.
MAX_REJECTS_PER_READ = 32
Sink = Callable[..., Any]  # sink(readings, source=...) -> IngestResult
Seen = Callable[..., Any]  # seen(device_codes, at=None) -> int


def default_sink(readings: list[Reading], *, source: str) -> Any:
    from frontline.monitoring.services.ingest import ingest_readings

    return ingest_readings(readings, source=source)


def default_seen(device_codes: Iterable[str], at=None) -> Any:
    from frontline.monitoring.services.ingest import mark_seen

    return mark_seen(device_codes, at=at)


# --- replies -----------------------------------------------------------------------------


def reply(request: Frame, command: Command) -> bytes:
    """Confirm or deny `request`: same serial and version, addresses swapped, time now."""
    answer = Frame(
        serial=request.serial,
        command=command,
        source=request.destination,
        destination=request.source,
        version=request.version,
        time=encode_time(),
    )
    return encode_frame(answer)


def deny_rejected(event: Rejected) -> bytes | None:
    """A deny for bytes that were not a good frame; None when not even the serial is known."""
    if event.serial is None:
        return None
    raw = event.raw
    header_known = len(raw) >= 24
    request = Frame(
        serial=event.serial,
        command=Command.DENY,
        source=raw[12:18] if header_known else b"\x00" * 6,
        destination=raw[18:24] if header_known else b"\x00" * 6,
        version=(raw[4], raw[5]) if len(raw) >= 6 else (1, 0),
    )
    return reply(request, Command.DENY)


# --- batching ----------------------------------------------------------------------------


@dataclass
class _Job:
    readings: list[Reading]
    seen: list[str]
    future: asyncio.Future


class Batcher:
    """Collects the work of many connections and commits it in few sink calls."""

    def __init__(self, sink: Sink, seen: Seen, *, window: float, max_jobs: int = 200):
        # max_jobs bounds one transaction: when a thousand devices go into fire at once,
        # each new alarm costs ingest milliseconds, and the first frames should not wait
        # for the last ones to be confirmed.
        self.sink = sink
        self.seen = seen
        self.window = window
        self.max_jobs = max_jobs
        self.calls = 0  # sink / seen calls made, for tests and the benchmark
        self._jobs: list[_Job] = []
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gb26875-sink")
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for job in self._jobs:
            job.future.cancel()
        self._executor.shutdown(wait=True)

    def submit(self, readings: list[Reading], seen: list[str]) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._jobs.append(_Job(readings, seen, future))
        self._wake.set()
        return future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.window)
            jobs, self._jobs = self._jobs[: self.max_jobs], self._jobs[self.max_jobs :]
            if not self._jobs:
                self._wake.clear()
            try:
                outcomes = await loop.run_in_executor(self._executor, self._commit, jobs)
            except Exception as error:
                # Never let the committing loop die: every later frame would wait forever.
                log.exception("gb26875 commit of %d frames failed", len(jobs))
                outcomes = [error] * len(jobs)
            for job, outcome in zip(jobs, outcomes, strict=True):
                if job.future.done():
                    continue  # the connection went away meanwhile
                if isinstance(outcome, BaseException):
                    job.future.set_exception(outcome)
                else:
                    job.future.set_result(outcome)

    def _commit(self, jobs: list[_Job]) -> list[Any]:
        """On the worker thread: one sink call for every job, one `seen` call."""
        close_old_connections()
        try:
            outcomes = self._sink_all(jobs)
            devices = sorted({code for job in jobs for code in job.seen})
            if devices:
                try:
                    self.calls += 1
                    self.seen(devices, at=None)
                except Exception as error:
                    log.exception("gb26875 seen failed for %d devices", len(devices))
                    outcomes = [
                        error if job.seen else out for job, out in zip(jobs, outcomes, strict=True)
                    ]
            return outcomes
        finally:
            close_old_connections()

    def _sink_all(self, jobs: list[_Job]) -> list[Any]:
        readings = [reading for job in jobs for reading in job.readings]
        if not readings:
            return [None] * len(jobs)
        try:
            self.calls += 1
            result = self.sink(readings, source=SOURCE)
        except Exception:
            # One frame that breaks the sink must not cost every other device its confirm:
            # retry frame by frame so that only the culprit goes unconfirmed.
            log.exception("gb26875 sink failed for a batch of %d frames; retrying", len(jobs))
            return [self._sink_one(job) for job in jobs]
        _log_refusals(result)
        return [result] * len(jobs)

    def _sink_one(self, job: _Job) -> Any:
        if not job.readings:
            return None
        try:
            self.calls += 1
            result = self.sink(job.readings, source=SOURCE)
        except Exception as error:
            log.exception("gb26875 sink failed for device %s", job.readings[0].device)
            return error
        _log_refusals(result)
        return result


def _log_refusals(result: Any) -> None:
    errors = getattr(result, "errors", None) or []
    for error in errors[:20]:
        log.warning(
            "gb26875 reading refused: device=%s metric=%s %s %s",
            error.device,
            error.metric,
            error.code,
            error.message,
        )
    if len(errors) > 20:
        log.warning("gb26875 %d more readings refused", len(errors) - 20)


# --- connections -------------------------------------------------------------------------


@dataclass
class _Peer:
    address: str
    device_abnormal: bool = False  # last type-21 status had a condition
    device: str = ""


class Gateway:
    def __init__(
        self,
        *,
        sink: Sink | None = None,
        seen: Seen | None = None,
        idle_seconds: float = 180,
        window: float = 0.005,
    ):
        self.sink = sink or default_sink
        self.seen = seen or default_seen
        self.idle_seconds = idle_seconds
        self.window = window
        self.server: asyncio.Server | None = None
        self.batcher: Batcher | None = None
        self.denied = 0
        self.confirmed = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def start(self, host: str, port: int) -> None:
        self.batcher = Batcher(self.sink, self.seen, window=self.window)
        self.batcher.start()
        self.server = await asyncio.start_server(
            self._serve, host, port, backlog=4096, reuse_address=True
        )

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self._writers):
            writer.close()
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=5)
            for task in late:
                task.cancel()
        if self.batcher is not None:
            await self.batcher.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _Peer(_address(writer))
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        log.info("gb26875 connect %s", peer.address)
        try:
            await self._converse(reader, writer, peer)
        except (ConnectionError, OSError) as error:
            log.info("gb26875 %s connection error: %s", peer.address, error)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug met by one device's bytes must not stop the server for the others.
            log.exception("gb26875 %s unexpected error; connection closed", peer.address)
        finally:
            self._writers.discard(writer)
            self._tasks.discard(asyncio.current_task())  # type: ignore[arg-type]
            writer.close()
            log.info("gb26875 disconnect %s device=%s", peer.address, peer.device or "-")

    async def _converse(self, reader, writer, peer: _Peer) -> None:
        frames = FrameReader(max_rejects=MAX_REJECTS_PER_READ)
        while True:
            try:
                data = await asyncio.wait_for(reader.read(READ_SIZE), self.idle_seconds)
            except TimeoutError:
                log.info("gb26875 %s idle for %ss, closing", peer.address, self.idle_seconds)
                break
            if not data:
                break
            answers = await self._answer(frames.feed(data), peer)
            if answers:
                writer.write(b"".join(answers))
                await writer.drain()
            if frames.flooded:
                log.warning("gb26875 %s sent a flood of broken frames, closing", peer.address)
                return
        for event in frames.close():
            self._log_deny(event, peer, sent=False)
        if frames.discarded:
            log.info("gb26875 %s skipped %d garbage bytes", peer.address, frames.discarded)

    async def _answer(self, events: list[Frame | Rejected], peer: _Peer) -> list[bytes]:
        """Replies to the frames of one read, in order; commits happen concurrently."""
        pending = [self._handle(event, peer) for event in events]
        answers = []
        for item in pending:
            answer = await item if asyncio.isfuture(item) else item
            if answer:
                answers.append(answer)
        return answers

    def _handle(self, event: Frame | Rejected, peer: _Peer):
        if isinstance(event, Rejected):
            self._log_deny(event, peer, sent=event.serial is not None)
            return self._count_deny(deny_rejected(event))
        peer.device = event.device_code
        if event.command == Command.SEND_DATA:
            return self._send_data(event, peer)
        if event.command in (Command.CONFIRM, Command.RESPONSE):
            # Answers to a control or request the centre never sends: nothing to do, and
            # replying to a confirm could start an endless exchange.
            log.info("gb26875 %s ignored command %d", peer.address, event.command)
            return None
        reason = "unsupported" if event.command in (Command.CONTROL, Command.REQUEST) else "command"
        return self._deny(event, peer, reason, f"command {event.command}")

    def _send_data(self, frame: Frame, peer: _Peer):
        device = frame.device_code
        if not frame.data:
            return self._commit(frame, [], [device])
        try:
            unit = vendors.decode(frame.version, frame.data)
        except UnitError as error:
            return self._deny(frame, peer, error.reason, str(error))
        mapped = mapping.map_unit(device, unit, frame.at, device_was_abnormal=peer.device_abnormal)
        peer.device_abnormal = mapping.device_abnormal(unit, peer.device_abnormal)
        mapping.distrust_clock(
            mapped.readings, datetime.now(CHINA), max_skew=_max_skew(), max_age=_max_age()
        )
        for note in mapped.skipped:
            log.info("gb26875 %s device=%s not mapped: %s", peer.address, device, note)
        seen = [device] if mapped.heartbeat or not mapped.readings else []
        return self._commit(frame, mapped.readings, seen)

    def _commit(self, frame: Frame, readings: list[Reading], seen: list[str]):
        assert self.batcher is not None
        committed = self.batcher.submit(readings, seen)
        return asyncio.ensure_future(self._confirm_after(frame, committed))

    async def _confirm_after(self, frame: Frame, committed: asyncio.Future) -> bytes | None:
        try:
            await committed
        except Exception:
            # Not committed: no answer, so the device sends the frame again (GB/T 26875.3
            # retries after its timeout). A deny would tell it the frame itself was bad.
            log.warning(
                "gb26875 device=%s serial=%d not committed", frame.device_code, frame.serial
            )
            return None
        self.confirmed += 1
        return reply(frame, Command.CONFIRM)

    def _deny(self, frame: Frame, peer: _Peer, reason: str, message: str) -> bytes:
        log.warning(
            "gb26875 deny %s device=%s serial=%d reason=%s: %s",
            peer.address,
            frame.device_code,
            frame.serial,
            reason,
            message,
        )
        return self._count_deny(reply(frame, Command.DENY))

    def _count_deny(self, answer: bytes | None) -> bytes | None:
        if answer:
            self.denied += 1
        return answer

    def _log_deny(self, event: Rejected, peer: _Peer, *, sent: bool) -> None:
        log.warning(
            "gb26875 %s %s serial=%s reason=%s bytes=%s",
            "deny" if sent else "drop",
            peer.address,
            event.serial if event.serial is not None else "-",
            event.reason,
            event.raw[:64].hex(),
        )


def _max_skew() -> timedelta:
    # The same bounds as ingest's, read the same way, so no reading is refused for its time.
    return timedelta(seconds=getattr(settings, "MONITORING_MAX_SKEW_SECONDS", 300) - 5)


def _max_age() -> timedelta:
    return timedelta(days=getattr(settings, "MONITORING_MAX_AGE_DAYS", 30)) - timedelta(minutes=1)


def _address(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


# --- running -----------------------------------------------------------------------------


async def serve(gateway: Gateway, host: str, port: int, stop: asyncio.Event) -> None:
    await gateway.start(host, port)
    log.info("gb26875 gateway listening on %s:%d", host, gateway.port)
    try:
        await stop.wait()
    finally:
        await gateway.close()


class BackgroundGateway:
    """A gateway on its own event loop in a thread: for tests and benchmarks.

    with BackgroundGateway(Gateway(sink=fake)) as running:
        socket.create_connection(("127.0.0.1", running.port))
    """

    def __init__(self, gateway: Gateway, host: str = "127.0.0.1", port: int = 0):
        self.gateway = gateway
        self.host = host
        self.requested_port = port
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.gateway.port

    def __enter__(self) -> BackgroundGateway:
        self._thread.start()
        started = self.gateway.start(self.host, self.requested_port)
        asyncio.run_coroutine_threadsafe(started, self.loop).result(timeout=10)
        return self

    def __exit__(self, *exc_info) -> None:
        asyncio.run_coroutine_threadsafe(self.gateway.close(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
