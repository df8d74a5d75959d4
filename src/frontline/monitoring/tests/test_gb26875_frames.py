"""GB/T 26875.3 framing, data units, vendor layouts and the mapping to readings.

Frames and units are written out byte by byte from the standard where it matters, so the
encoder is not the only judge of the decoder.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontline.monitoring.gb26875 import mapping, units, vendors
from frontline.monitoring.gb26875.frames import (
    CHINA,
    MAX_DATA,
    Frame,
    FrameError,
    FrameReader,
    Rejected,
    checksum,
    decode_frame,
    decode_time,
    encode_frame,
    encode_time,
)
from frontline.monitoring.gb26875.units import UnitError

# 2026-11-28 16:30:45 China time: sec, min, hour, day, month, year - 2000.
TIME = bytes([45, 30, 16, 28, 11, 26])
AT = datetime(2026, 11, 28, 16, 30, 45, tzinfo=CHINA)
SOURCE = bytes([0x40, 0xE2, 0x01, 0, 0, 0])  # 123456, little-endian
DEVICE = "123456"

# A heartbeat of device 1, serial 1, written out by hand. Checksum: 01+01+01+02 = 05.
HEARTBEAT = (
    b"@@"
    + b"\x01\x00"  # serial 1
    + b"\x01\x00"  # version 1.0
    + b"\x00" * 6  # time
    + b"\x01\x00\x00\x00\x00\x00"  # source 1
    + b"\x00" * 6  # destination
    + b"\x00\x00"  # data length 0
    + b"\x02"  # command 2: send data
    + b"\x05"  # checksum
    + b"##"
)


def frame_bytes(serial: int, data: bytes, command: int = 2, version=b"\x01\x00") -> bytes:
    """A frame assembled field by field, with the checksum summed here, not by the encoder."""
    header = (
        serial.to_bytes(2, "little")
        + version
        + TIME
        + SOURCE
        + b"\x00" * 6
        + len(data).to_bytes(2, "little")
        + bytes([command])
    )
    return b"@@" + header + data + bytes([sum(header + data) % 256]) + b"##"


def good(serial: int = 1, data: bytes = b"") -> bytes:
    return encode_frame(Frame(serial=serial, command=2, source=SOURCE, time=TIME, data=data))


# --- frames ------------------------------------------------------------------------------


def test_a_hand_written_heartbeat_decodes_and_encodes_to_the_same_bytes():
    frame = decode_frame(HEARTBEAT)
    assert (frame.serial, frame.command, frame.version, frame.data) == (1, 2, (1, 0), b"")
    assert frame.device_code == "1"
    assert frame.at is None  # zeros: a device without a clock
    assert encode_frame(frame) == HEARTBEAT
    assert checksum(HEARTBEAT[2:27], b"") == 5


def test_round_trip_keeps_every_field():
    frame = Frame(
        serial=0xBEEF,
        command=2,
        source=SOURCE,
        destination=bytes(range(6)),
        data=bytes(range(200)) * 5,
        version=(1, 0x80),
        time=TIME,
    )
    raw = encode_frame(frame)
    assert len(raw) == 30 + 1000
    assert decode_frame(raw) == frame
    assert frame.at == AT and frame.device_code == DEVICE


def test_time_is_china_local_time():
    assert decode_time(TIME) == AT
    assert decode_time(TIME).utcoffset() == timedelta(hours=8)
    assert encode_time(AT.astimezone(CHINA)) == TIME
    assert decode_time(bytes([0, 0, 0, 31, 2, 26])) is None  # 31 February


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (HEARTBEAT[:-3] + b"\x06##", "checksum"),
        (b"@A" + HEARTBEAT[2:], "start"),
        (HEARTBEAT[:-2] + b"#$", "end"),
        (HEARTBEAT[:24] + (MAX_DATA + 1).to_bytes(2, "little") + HEARTBEAT[26:], "length"),
        (HEARTBEAT[:20], "truncated"),
        (HEARTBEAT + b"x", "end"),
    ],
)
def test_decode_frame_names_the_defect(raw, reason):
    with pytest.raises(FrameError) as caught:
        decode_frame(raw)
    assert caught.value.reason == reason


def test_reader_handles_split_and_concatenated_frames():
    stream = good(1) + good(2, b"\x15\x01\x01" + TIME) + good(3)
    reader = FrameReader()
    events = []
    for byte in stream:  # one byte at a time: the worst split there is
        events += reader.feed(bytes([byte]))
    assert [e.serial for e in events] == [1, 2, 3]
    assert FrameReader().feed(stream) == events


def test_reader_skips_garbage_and_reports_broken_frames_with_their_serial():
    bad_sum = bytearray(good(7))
    bad_sum[-3] ^= 0xFF
    too_long = bytearray(good(8))
    too_long[24:26] = (MAX_DATA + 1).to_bytes(2, "little")
    bad_end = good(9)[:-2] + b"$$"
    bad_start = b"#@" + good(10)[2:]
    stream = (
        b"\x00noise\xff"
        + good(1)
        + bytes(bad_sum)
        + b"@"
        + bytes(too_long)
        + bad_end
        + good(2)
        + bad_start
        + good(3)
    )
    events = FrameReader().feed(stream)
    summary = [(type(e).__name__, e.serial, getattr(e, "reason", "")) for e in events]
    assert ("Frame", 1, "") in summary
    assert ("Rejected", 7, "checksum") in summary
    assert ("Rejected", 8, "length") in summary
    assert ("Rejected", 9, "end") in summary
    assert ("Rejected", 10, "start") in summary
    assert [e.serial for e in events if isinstance(e, Frame)] == [1, 2, 3]


def test_truncated_frame_is_reported_at_the_end_of_the_stream():
    reader = FrameReader()
    assert reader.feed(good(5)[:20]) == []
    [event] = reader.close()
    assert event == Rejected("truncated", 5, good(5)[:20])


def test_garbage_alone_is_dropped_and_memory_stays_bounded():
    reader = FrameReader()
    for _ in range(100):
        assert reader.feed(b"no frame here, only bytes ## and more" * 10) == []
    assert reader.pending <= 30 + MAX_DATA
    assert reader.close() == []


frames_strategy = st.builds(
    lambda serial, data: good(serial, data),
    st.integers(0, 0xFFFF),
    st.binary(max_size=64),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000), st.lists(st.integers(1, 50), max_size=20))
def test_random_bytes_never_raise(data, cuts):
    reader = FrameReader()
    position = 0
    for cut in cuts:
        for event in reader.feed(data[position : position + cut]):
            assert isinstance(event, Frame | Rejected)
        position += cut
    reader.feed(data[position:])
    reader.close()
    assert reader.pending == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500).map(lambda b: b.replace(b"@", b"")), frames_strategy)
def test_garbage_before_a_frame_never_hides_it(garbage, frame):
    events = FrameReader().feed(garbage + frame)
    assert events and events[-1] == decode_frame(frame)


@settings(max_examples=300, deadline=None)
@given(
    frames_strategy,
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=4),
    st.data(),
)
def test_reader_resynchronises_after_a_mutated_frame(frame, mutations, data):
    broken = bytearray(frame)
    for position, value in mutations:
        broken[position % len(broken)] = value
    # Enough good frames after it that even a length field bent to 1024 is passed.
    followers = [good(serial) for serial in range(40)]
    cut = data.draw(st.integers(0, len(broken) + 100))
    stream = bytes(broken) + b"".join(followers)
    reader = FrameReader()
    events = reader.feed(stream[:cut]) + reader.feed(stream[cut:])
    decoded = [e for e in events if isinstance(e, Frame)]
    assert decoded[-1] == decode_frame(followers[-1])
    # Everything beyond the reach of the broken frame's header is decoded.
    assert [f.serial for f in decoded][-5:] == [35, 36, 37, 38, 39]


# --- data units, from bytes written out by hand ----------------------------------------


def test_type_1_system_status():
    data = b"\x01\x01" + b"\x01\x02" + b"\x03\x03" + TIME  # sys 1 @ 2, normal|fire|bit8|bit9
    unit = units.decode_unit(data)
    [obj] = unit.objects
    assert (obj.system_type, obj.system_address, obj.status, obj.at) == (1, 2, 0x0303, AT)
    assert obj.flags == {"normal", "fire", "main_power_fault", "backup_power_fault"}


def test_type_2_component_status_with_gb18030_description():
    description = "3号楼2层烟感".encode("gb18030").ljust(31, b"\x00")
    obj_bytes = (
        b"\x01\x01\x28"  # system type 1, system address 1, component type 40
        + b"\x03\x00"  # zone 3
        + b"\x11\x00"  # position 17
        + b"\x03\x00"  # status: normal | fire
        + description
        + TIME
    )
    assert len(obj_bytes) == 46
    unit = units.decode_unit(b"\x02\x01" + obj_bytes)
    [obj] = unit.objects
    assert (obj.component_type, obj.zone, obj.position, obj.status) == (40, 3, 17, 3)
    assert obj.description == "3号楼2层烟感"
    assert obj.at == AT and obj.flags == {"normal", "fire"}


def test_type_2_description_that_is_not_gb18030_is_replaced_not_fatal():
    obj_bytes = b"\x01\x01\x28\x03\x00\x11\x00\x05\x00" + b"\x81\x20ok".ljust(31, b"\x00") + TIME
    [obj] = units.decode_unit(b"\x02\x01" + obj_bytes).objects
    assert "\ufffd" in obj.description and obj.description.endswith("ok")
    assert obj.flags == {"normal", "fault"}


def test_type_3_analog_values_and_scales():
    temperature = (
        b"\x01\x01\x28\x01\x00\x02\x00" + b"\x03" + (-125).to_bytes(2, "little", signed=True) + TIME
    )
    pressure = b"\x01\x01\x55\x01\x00\x03\x00" + b"\x04" + b"\x03\x00" + TIME
    vendor = b"\x01\x01\x55\x01\x00\x04\x00" + b"\xc8" + b"\xe8\x03" + TIME
    unit = units.decode_unit(b"\x03\x03" + temperature + pressure + vendor)
    t, p, v = unit.objects
    assert (t.analog_type, t.raw, t.value, t.kind.unit) == (3, -125, -12.5, "℃")
    assert (p.value, p.kind.unit) == (0.3, "MPa")
    assert (v.analog_type, v.raw, v.value) == (200, 1000, None)  # vendor-defined: kept raw


def test_type_4_and_24_operations():
    [op] = units.decode_unit(b"\x04\x01" + b"\x01\x02\x05\x07" + TIME).objects
    assert (op.system_type, op.system_address, op.operator, op.flags) == (
        1,
        2,
        7,
        {"reset", "manual_alarm"},
    )
    [dev_op] = units.decode_unit(b"\x18\x01" + b"\x20\x03" + TIME).objects
    assert (dev_op.operation, dev_op.operator, dev_op.flags) == (0x20, 3, {"duty_check_answered"})


def test_type_21_device_status():
    [normal] = units.decode_unit(b"\x15\x01\x01" + TIME).objects
    [alarm] = units.decode_unit(b"\x15\x01\x0b" + TIME).objects  # normal|fire|main power
    assert normal.is_normal and normal.at == AT
    assert not alarm.is_normal and alarm.flags == {"normal", "fire", "main_power_fault"}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x02", "short"),
        (b"\x63\x01" + b"\x00" * 10, "unknown_type"),
        (b"\x01\x02" + b"\x00" * 10, "size"),  # says two objects, holds one
        (b"\x01\x01" + b"\x00" * 11, "size"),
        (b"\x15\x00", "size"),
    ],
)
def test_units_that_do_not_fit_are_refused(data, reason):
    with pytest.raises(UnitError) as caught:
        units.decode_unit(data)
    assert caught.value.reason == reason


def test_standard_types_without_use_are_accepted_empty():
    assert units.decode_unit(b"\x1a\x01\x00\x00").objects == ()  # 26: device configuration


def test_encoder_and_decoder_agree_for_every_type():
    objects = [
        units.SystemStatus(1, 2, 0x0102, AT),
        units.ComponentStatus(1, 2, 40, 3, 17, 0x0006, "配电室感温", AT),
        units.ComponentAnalog(1, 2, 40, 3, 17, 4, 12, AT),
        units.SystemOperation(1, 2, 0x09, 1, AT),
        units.DeviceStatus(0x05, AT),
        units.DeviceOperation(0x01, 2, AT),
    ]
    for obj in objects:
        assert units.decode_unit(units.encode_unit([obj, obj])).objects == (obj, obj)


# --- vendor layouts ----------------------------------------------------------------------


def test_compact_vendor_variant_is_chosen_by_the_user_version_byte():
    compact = b"\x02\x01" + b"\x01\x01\x28\x03\x00\x11\x00\x03\x00" + TIME  # 15 bytes
    [obj] = vendors.decode((1, vendors.COMPACT_USER_VERSION), compact).objects
    assert (obj.zone, obj.position, obj.status, obj.description, obj.at) == (3, 17, 3, "", AT)
    with pytest.raises(UnitError):  # the same bytes are not a standard unit
        vendors.decode((1, 0), compact)


def test_unknown_user_bytes_read_as_standard_and_unknown_majors_are_refused():
    data = b"\x15\x01\x01" + TIME
    assert vendors.decode((1, 0x42), data).objects[0].is_normal
    with pytest.raises(UnitError) as caught:
        vendors.decode((2, 0), data)
    assert caught.value.reason == "version"


# --- mapping -----------------------------------------------------------------------------


def by_metric(readings):
    return {r.metric: r for r in readings}


def test_component_fire_becomes_a_fire_reading_with_where_it_is():
    obj = units.ComponentStatus(1, 2, 40, 3, 17, 0x0003, "3号楼2层烟感", AT)
    mapped = mapping.map_unit(DEVICE, units.DataUnit(2, (obj,)), None)
    readings = by_metric(mapped.readings)
    assert {m: r.value for m, r in readings.items()} == {"fire": 1, "fault": 0, "power_fault": 0}
    fire = readings["fire"]
    assert (fire.device, fire.at) == (DEVICE, AT)
    assert {k: fire.detail[k] for k in ("system_type", "system_address", "component_type")} == {
        "system_type": 1,
        "system_address": 2,
        "component_type": 40,
    }
    assert (fire.detail["zone"], fire.detail["position"]) == (3, 17)
    assert fire.detail["description"] == "3号楼2层烟感"


def test_power_bits_and_faults_of_systems():
    for status, expected in ((0x0101, 1), (0x0201, 1), (0x0005, 0)):
        obj = units.SystemStatus(1, 1, status, None)
        readings = by_metric(mapping.map_unit(DEVICE, units.DataUnit(1, (obj,)), AT).readings)
        assert readings["power_fault"].value == expected
        assert readings["fault"].value == int(status == 0x0005)
        assert readings["fire"].at == AT  # no object time: the frame time


def test_the_component_in_fire_wins_over_a_quiet_one_in_the_same_second():
    quiet = units.ComponentStatus(1, 1, 40, 1, 1, 0x0001, "A", AT)
    burning = units.ComponentStatus(1, 1, 40, 1, 2, 0x0003, "B", AT)
    readings = by_metric(
        mapping.map_unit(DEVICE, units.DataUnit(2, (quiet, burning)), None).readings
    )
    assert readings["fire"].value == 1 and readings["fire"].detail["description"] == "B"


def test_analog_temperature_and_pressure_are_readings_and_the_rest_is_skipped():
    objs = (
        units.ComponentAnalog(1, 1, 40, 1, 1, 3, 655, AT),
        units.ComponentAnalog(1, 1, 85, 1, 2, 4, 3, AT),
        units.ComponentAnalog(1, 1, 85, 1, 3, 6, 120, AT),
        units.ComponentAnalog(1, 1, 85, 1, 4, 200, 7, AT),
    )
    mapped = mapping.map_unit(DEVICE, units.DataUnit(3, objs), None)
    assert {(r.metric, r.value) for r in mapped.readings} == {
        ("temperature", 65.5),
        ("pressure", 0.3),
    }
    assert len(mapped.skipped) == 2


def test_device_status_normal_is_a_heartbeat_unless_it_ends_a_condition():
    normal = units.DataUnit(21, (units.DeviceStatus(0x01, AT),))
    fire = units.DataUnit(21, (units.DeviceStatus(0x03, AT),))
    assert mapping.map_unit(DEVICE, normal, None).heartbeat
    assert mapping.map_unit(DEVICE, normal, None).readings == []
    assert by_metric(mapping.map_unit(DEVICE, fire, None).readings)["fire"].value == 1
    assert mapping.device_abnormal(fire, False) and not mapping.device_abnormal(normal, True)
    cleared = mapping.map_unit(DEVICE, normal, None, device_was_abnormal=True)
    assert not cleared.heartbeat
    assert {r.metric: r.value for r in cleared.readings} == {
        "fire": 0,
        "fault": 0,
        "power_fault": 0,
    }


def test_operations_map_only_where_there_is_a_metric():
    def fire_of(operation):
        unit = units.DataUnit(4, (units.SystemOperation(1, 1, operation, 9, AT),))
        return [(r.metric, r.value) for r in mapping.map_unit(DEVICE, unit, None).readings]

    assert fire_of(0x04) == [("fire", 1)]  # manual alarm
    assert fire_of(0x01) == [("fire", 0)]  # reset
    assert fire_of(0x08) == [("fire", 0)]  # alarm cleared
    assert fire_of(0x02) == []  # silence: logged only
    unit = units.DataUnit(24, (units.DeviceOperation(0x10, 1, AT),))
    assert mapping.map_unit(DEVICE, unit, None).skipped  # self test


def test_a_wrong_device_clock_gives_way_to_the_time_of_receipt():
    now = datetime(2026, 11, 28, 17, 0, tzinfo=CHINA)
    old = datetime(2000, 1, 1, tzinfo=CHINA)
    readings = [
        mapping.Reading(DEVICE, "fire", 1, old, {"zone": 1}),
        mapping.Reading(DEVICE, "fire", 1, None),
        mapping.Reading(DEVICE, "fire", 1, now - timedelta(minutes=1)),
    ]
    changed = mapping.distrust_clock(
        readings, now, max_skew=timedelta(minutes=5), max_age=timedelta(days=30)
    )
    assert changed == 2
    assert readings[0].at == now and readings[0].detail == {
        "zone": 1,
        "device_time": old.isoformat(),
    }
    assert readings[1].at == now and readings[2].at == now - timedelta(minutes=1)


def test_frame_bytes_helper_matches_the_encoder():
    # The hand assembly used in the gateway tests and the encoder agree.
    assert frame_bytes(3, b"\x15\x01\x01" + TIME) == good(3, b"\x15\x01\x01" + TIME)


def test_a_frame_cut_short_does_not_hold_back_the_next_one():
    # Without looking ahead the reader would wait for the 200 bytes the cut frame claims,
    # and the device would wait for a confirm of the next frame until its timeout.
    cut_short = good(4, b"\x00" * 200)[:60]
    reader = FrameReader()
    events = reader.feed(cut_short) + reader.feed(good(5))
    assert [(type(e).__name__, e.serial) for e in events] == [("Rejected", 4), ("Frame", 5)]
    assert events[0].reason == "truncated"
    assert FrameReader().feed(b"@" + good(6)) == [decode_frame(good(6))]


@settings(max_examples=300, deadline=None)
@given(frames_strategy, st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=3))
def test_decode_frame_raises_only_frame_error(frame, mutations):
    broken = bytearray(frame)
    for position, value in mutations:
        broken[position % len(broken)] = value
    with contextlib.suppress(FrameError):
        decode_frame(bytes(broken))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.tuples(st.integers(0, 255), st.integers(0, 255)))
def test_unit_decoders_raise_only_unit_error(data, version):
    with contextlib.suppress(UnitError):
        vendors.decode(version, data)


def test_a_flood_of_broken_frames_stops_the_reader_early():
    reader = FrameReader(max_rejects=32)
    started = time.perf_counter()
    events = reader.feed(b"@" * 65536)
    assert len(events) == 32 and reader.flooded
    assert time.perf_counter() - started < 0.5
