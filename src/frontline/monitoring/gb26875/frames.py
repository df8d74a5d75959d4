"""GB/T 26875.3-2011 framing: one frame in bytes, and a reader that cuts a TCP stream into frames.

    @@ | serial u16 | version 2 | time 6 | source 6 | destination 6 | length u16 | command 1
       | data unit (length bytes, at most 1024) | checksum 1 | ##

Integers are little-endian. The checksum is the sum, mod 256, of the 25 header bytes after
`@@` and of the data unit.

`decode_frame` is strict and raises `FrameError`. `FrameReader` never raises: a device that
sends garbage must not be able to crash the gateway, so everything that is not a good frame
comes out as a `Rejected` event the gateway can deny and log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from zoneinfo import ZoneInfo

START = b"@@"
END = b"##"
HEADER_SIZE = 25  # serial .. command, the bytes after START that the checksum covers
OVERHEAD = len(START) + HEADER_SIZE + 1 + len(END)  # 30: a frame with an empty data unit
MAX_DATA = 1024
MAX_FRAME = OVERHEAD + MAX_DATA
_LENGTH_AT = 24  # offset of the data length from the start of the frame
_COMMAND_AT = 26

CHINA = ZoneInfo("Asia/Shanghai")


class Command(IntEnum):
    CONTROL = 1
    SEND_DATA = 2
    CONFIRM = 3
    REQUEST = 4
    RESPONSE = 5
    DENY = 6


class FrameError(ValueError):
    """A frame that does not conform. `reason` is a short code for logs and tests."""

    def __init__(self, reason: str, message: str, serial: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.serial = serial


@dataclass(frozen=True, slots=True)
class Frame:
    serial: int
    command: int
    source: bytes = b"\x00" * 6
    destination: bytes = b"\x00" * 6
    data: bytes = b""
    version: tuple[int, int] = (1, 0)  # (major, user)
    time: bytes = b"\x00" * 6  # sec, min, hour, day, month, year - 2000 (China local time)

    @property
    def device_code(self) -> str:
        return address_code(self.source)

    @property
    def at(self) -> datetime | None:
        return decode_time(self.time)


@dataclass(frozen=True, slots=True)
class Rejected:
    """Bytes that looked like a frame but did not conform; `serial` is known if the header was."""

    reason: str  # "checksum", "length", "end", "start", "truncated"
    serial: int | None = None
    raw: bytes = field(default=b"", repr=False)


def address_code(address: bytes) -> str:
    """The device code of a 6-byte GB/T 26875.3 address, as devices are registered."""
    return str(int.from_bytes(address, "little"))


def code_address(code: str | int) -> bytes:
    return int(code).to_bytes(6, "little")


def decode_time(raw: bytes) -> datetime | None:
    """Six bytes (sec, min, hour, day, month, year - 2000) as an aware datetime, or None if
    the device sent an impossible date (devices without a clock send zeros)."""
    if len(raw) != 6:
        return None
    sec, minute, hour, day, month, year = raw
    try:
        return datetime(2000 + year, month, day, hour, minute, sec, tzinfo=CHINA)
    except ValueError:
        return None


def encode_time(moment: datetime | None = None) -> bytes:
    local = (moment or datetime.now(CHINA)).astimezone(CHINA)
    if not 2000 <= local.year <= 2255:
        raise ValueError("GB/T 26875.3 time covers the years 2000-2255")
    return bytes(
        (local.second, local.minute, local.hour, local.day, local.month, local.year - 2000)
    )


def checksum(header: bytes, data: bytes) -> int:
    return (sum(header) + sum(data)) & 0xFF


def _header(frame: Frame) -> bytes:
    return b"".join(
        (
            frame.serial.to_bytes(2, "little"),
            bytes(frame.version),
            frame.time,
            frame.source,
            frame.destination,
            len(frame.data).to_bytes(2, "little"),
            bytes((frame.command,)),
        )
    )


def encode_frame(frame: Frame) -> bytes:
    if not 0 <= frame.serial <= 0xFFFF:
        raise ValueError("serial must fit in two bytes")
    if len(frame.data) > MAX_DATA:
        raise ValueError(f"data unit longer than {MAX_DATA} bytes")
    if not (len(frame.source) == len(frame.destination) == len(frame.time) == 6):
        raise ValueError("source, destination and time are six bytes each")
    header = _header(frame)
    return START + header + frame.data + bytes((checksum(header, frame.data),)) + END


def _serial(raw: bytes) -> int:
    return int.from_bytes(raw[2:4], "little")


def _parse(raw: bytes) -> Frame:
    """A frame from exactly the bytes `@@ … ##` whose length field agrees with len(raw)."""
    header = raw[2 : 2 + HEADER_SIZE]
    data = raw[2 + HEADER_SIZE : -3]
    serial = _serial(raw)
    if raw[-3] != checksum(header, data):
        raise FrameError("checksum", f"checksum {raw[-3]} != {checksum(header, data)}", serial)
    return Frame(
        serial=serial,
        version=(raw[4], raw[5]),
        time=bytes(raw[6:12]),
        source=bytes(raw[12:18]),
        destination=bytes(raw[18:24]),
        command=raw[_COMMAND_AT],
        data=bytes(data),
    )


def decode_frame(raw: bytes) -> Frame:
    """One complete frame; raises FrameError (and nothing else) on any defect."""
    raw = bytes(raw)
    if len(raw) < OVERHEAD:
        raise FrameError("truncated", f"{len(raw)} bytes, a frame has at least {OVERHEAD}")
    serial = _serial(raw)
    if raw[:2] != START:
        raise FrameError("start", "frame does not start with @@", serial)
    length = int.from_bytes(raw[_LENGTH_AT : _LENGTH_AT + 2], "little")
    if length > MAX_DATA:
        raise FrameError("length", f"data length {length} > {MAX_DATA}", serial)
    if len(raw) != OVERHEAD + length:
        reason = "truncated" if len(raw) < OVERHEAD + length else "end"
        raise FrameError(reason, f"{len(raw)} bytes, length field says {OVERHEAD + length}", serial)
    if raw[-2:] != END:
        raise FrameError("end", "frame does not end with ##", serial)
    return _parse(raw)


def _misstarted(chunk: bytes) -> Rejected | None:
    """A frame at the tail of discarded bytes whose start marker was damaged.

    The header and checksum still agree with each other, so the frame (and its serial) is
    real and the device deserves a deny rather than silence. The checksum requirement keeps
    random garbage that happens to end in `##` from producing denies.
    """
    size = len(chunk)
    if size < OVERHEAD or chunk[-2:] != END:
        return None
    for length in range(min(MAX_DATA, size - OVERHEAD) + 1):
        begin = size - OVERHEAD - length
        declared = int.from_bytes(chunk[begin + _LENGTH_AT : begin + _LENGTH_AT + 2], "little")
        if declared != length:
            continue
        frame = chunk[begin:]
        header, data = frame[2 : 2 + HEADER_SIZE], frame[2 + HEADER_SIZE : -3]
        if frame[-3] == checksum(header, data):
            return Rejected("start", _serial(frame), bytes(frame))
    return None


def _complete_frame_at(buffer: bytearray, begin: int) -> bool:
    if len(buffer) - begin < OVERHEAD:
        return False
    length = int.from_bytes(buffer[begin + _LENGTH_AT : begin + _LENGTH_AT + 2], "little")
    end = begin + OVERHEAD + length
    if length > MAX_DATA or end > len(buffer) or buffer[end - 2 : end] != END:
        return False
    header = buffer[begin + 2 : begin + 2 + HEADER_SIZE]
    return buffer[end - 3] == checksum(header, buffer[begin + 2 + HEADER_SIZE : end - 3])


def _complete_frame_after(buffer: bytearray, offset: int, last: int | None = None) -> int | None:
    """Where the first complete, good frame at or after `offset` (and not after `last`)
    begins."""
    begin = buffer.find(START, offset)
    while begin >= 0 and (last is None or begin <= last):
        if _complete_frame_at(buffer, begin):
            return begin
        begin = buffer.find(START, begin + 1)
    return None


class _Again:
    """The reader moved on without an event: look again."""


AGAIN = _Again()


class FrameReader:
    """Cuts a byte stream into frames: split and concatenated frames, garbage in between.

    `feed` returns the events completed by the new bytes, in stream order: `Frame`s and
    `Rejected`s. On a defect the reader drops one byte and searches for the next `@@`, so a
    good frame that follows garbage or a broken frame is always found. Memory is bounded:
    at most one maximal frame is buffered.
    """

    def __init__(self, *, max_rejects: int | None = None) -> None:
        self._buffer = bytearray()
        self.discarded = 0  # garbage bytes skipped, for logs
        # Bytes crafted to look like thousands of broken frames (a stream of `@`) cost
        # tens of microseconds each; past `max_rejects` in one feed the reader stops
        # and sets `flooded`, and the caller should hang up.
        self.max_rejects = max_rejects
        self.flooded = False

    def feed(self, data: bytes) -> list[Frame | Rejected]:
        self._buffer += data
        events: list[Frame | Rejected] = []
        rejects = 0
        while True:
            event = self._next()
            if event is None:
                return events
            events.append(event)
            if isinstance(event, Rejected):
                rejects += 1
                if self.max_rejects is not None and rejects >= self.max_rejects:
                    self.flooded = True
                    return events

    def close(self) -> list[Frame | Rejected]:
        """End of stream: whatever is left is a truncated frame or garbage."""
        buffer, self._buffer = bytes(self._buffer), bytearray()
        if buffer.startswith(START):
            serial = _serial(buffer) if len(buffer) >= 4 else None
            return [Rejected("truncated", serial, buffer)]
        misstarted = _misstarted(buffer)
        self.discarded += len(buffer)
        return [misstarted] if misstarted else []

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def _discard(self, count: int) -> Rejected | None:
        chunk = bytes(self._buffer[:count])
        del self._buffer[:count]
        self.discarded += count
        return _misstarted(chunk)

    def _next(self) -> Frame | Rejected | None:
        while True:
            start = self._buffer.find(START)
            if start < 0:
                return self._skip_garbage()
            if start > 0:
                misstarted = self._discard(start)
                if misstarted:
                    return misstarted
            event = self._candidate()
            if event is not AGAIN:
                return event  # type: ignore[return-value]

    def _skip_garbage(self) -> Rejected | None:
        # Without a start marker, bytes up to the last `##` can never begin a frame; the rest
        # may be the front of a frame whose start marker was damaged, so keep it (bounded).
        end = self._buffer.rfind(END)
        cut = end + len(END) if end >= 0 else 0
        cut = max(cut, len(self._buffer) - MAX_FRAME)
        if self._buffer.endswith(b"@"):
            cut = min(cut, len(self._buffer) - 1)
        return self._discard(cut) if cut > 0 else None

    def _candidate(self) -> Frame | Rejected | _Again | None:
        buffer = self._buffer
        if len(buffer) < _LENGTH_AT + 2:
            return None
        serial = _serial(buffer)
        length = int.from_bytes(buffer[_LENGTH_AT : _LENGTH_AT + 2], "little")
        if length > MAX_DATA:
            return self._reject("length", serial, OVERHEAD)
        size = OVERHEAD + length
        if len(buffer) < size:
            return self._abandon_if_overtaken(serial)
        if buffer[size - 2 : size] != END:
            return self._reject("end", serial, size)
        raw = bytes(buffer[:size])
        try:
            frame = _parse(raw)
        except FrameError as error:
            # Markers and length agree: the boundaries are right, only the content is damaged.
            del buffer[:size]
            return Rejected(error.reason, serial, raw)
        del buffer[:size]
        return frame

    def _abandon_if_overtaken(self, serial: int) -> Rejected | _Again | None:
        """Waiting for the rest of a frame, unless a complete good frame already follows.

        A stray `@` before a frame, or a frame cut short by a device that then sent the next
        one, would otherwise hold every later frame until enough bytes arrive to disprove
        it; meanwhile the device waits for a confirm that never comes.
        """
        later = _complete_frame_after(self._buffer, 1)
        if later is None:
            return None
        if later < _COMMAND_AT + 1 or self._buffer.find(START, 1) < later:
            # A misaligned start (the good frame overlaps this header), or other candidates
            # come first: step past this start marker and let them be examined in order.
            self._discard(1)
            return AGAIN
        raw = bytes(self._buffer[:later])
        del self._buffer[:later]
        return Rejected("truncated", serial, raw)

    def _reject(self, reason: str, serial: int, size: int) -> Rejected | _Again:
        later = _complete_frame_after(self._buffer, 1, last=_COMMAND_AT)
        if later is not None:
            # A stray `@` before a good frame: no frame of its own, so nothing to deny.
            self._discard(1)
            return AGAIN
        raw = bytes(self._buffer[: min(size, len(self._buffer))])
        # Drop only the start marker's first byte: the real next frame may begin inside
        # the bytes this bad header claimed.
        del self._buffer[:1]
        self.discarded += 1
        return Rejected(reason, serial, raw)
