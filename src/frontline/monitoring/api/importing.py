"""Bulk device registration over the API: the same service and report as the page.

The report carries the new devices' tokens in clear, once (`tokens`); they are not stored.
"""

from __future__ import annotations

from ninja import File, Form, Router, Schema, UploadedFile

from frontline.monitoring.services.importing import import_devices

router = Router(tags=["monitoring"])


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class TokenOut(Schema):
    code: str
    token: str


class DeviceImportOut(Schema):
    total: int
    created: int
    error_rows: int
    valid_rows: int
    imported: bool
    valid_rows_only: bool
    errors: list[RowErrorOut]
    tokens: list[TokenOut]


@router.post(
    "/monitoring/devices/import",
    response=DeviceImportOut,
    summary="批量登记监测设备（XLSX），返回逐行校验报告和新设备的令牌（仅此一次）",
)
def import_device_file(request, file: File[UploadedFile], valid_rows_only: Form[bool] = False):
    report = import_devices(actor=request.user, file=file, valid_rows_only=valid_rows_only)
    return report.as_dict()
