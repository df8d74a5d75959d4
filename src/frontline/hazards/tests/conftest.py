"""Fixtures of the hazards tests: the browser (from the core's conftest), a private media
root, a clean cache (the report rate limit counts in it) and photo builders."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from frontline.core.tests.conftest import browser, needs_chromium  # noqa: F401


@pytest.fixture
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def jpeg_bytes(colour: str = "green", size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


def upload(name: str = "after.jpg", colour: str = "green") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(colour), content_type="image/jpeg")


def after_photo(hazard, actor, colour: str = "green"):
    """An image attachment of the hazard, uploaded now (after confirmation)."""
    from frontline.core import services

    return services.attach_file(actor=actor, owner=hazard, uploaded_file=upload(colour=colour))
