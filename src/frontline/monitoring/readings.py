"""What every door hands to the ingest service: readings, and what it hands back.

HTTP, MQTT and the GB/T 26875.3 gateway turn their own formats into `Reading`s and call
`frontline.monitoring.services.ingest.ingest_readings`. Values and times arrive as the door
received them; the ingest service validates them in one place, so every door refuses the
same bad input with the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class Reading:
    device: str  # the device's code: the id in the MQTT topic, the GB/T 26875.3 address
    metric: str  # a metric of the device's kind, e.g. "residual_current"
    value: Any  # a number (bool counts as 0/1); anything else is refused
    # When it was measured: an aware datetime, epoch milliseconds, or an ISO 8601 string;
    # None means "now" (the time of receipt).
    at: datetime | int | float | str | None = None
    # Context kept on the alarm it may raise, e.g. the GB/T 26875.3 component address and
    # description, or the video platform's event id.
    detail: dict | None = None


@dataclass(slots=True)
class ReadingError:
    index: int  # position of the reading in the batch
    code: str  # for machines, e.g. "not_a_number", "unknown_device"
    message: str  # for people, in Chinese
    device: str = ""
    metric: str = ""


@dataclass
class IngestResult:
    stored: int = 0  # new observations written
    duplicates: int = 0  # already stored: same device, metric and time
    errors: list[ReadingError] = field(default_factory=list)
    alarms_raised: int = 0
    alarms_repeated: int = 0
    alarms_cleared: int = 0

    @property
    def accepted(self) -> int:
        return self.stored + self.duplicates
