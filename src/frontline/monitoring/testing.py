"""Builders for monitoring tests."""

from __future__ import annotations

import itertools

from frontline.monitoring.services.devices import register_device

_numbers = itertools.count(1)


def make_device(region, kind="residual_current", *, code=None, actor=None, **kw):
    """A registered device and its clear token."""
    number = next(_numbers)
    return register_device(
        actor=actor,
        region=region,
        code=code or f"dev-{kind}-{number}",
        name=kw.pop("name", f"测试设备{number}"),
        kind=kind,
        **kw,
    )
