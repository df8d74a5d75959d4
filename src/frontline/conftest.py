import pytest

from frontline.core.testing import build_world


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is the production hasher (see test_security); tests create many accounts.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture(autouse=True, scope="session")
def _huey_in_memory():
    # Tests run tasks inline from memory; the queue tests swap in real SQLite / Redis storage.
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    yield
    HUEY.immediate = False


@pytest.fixture
def redis_url():
    """The Redis of the test machines; skipped with a reason where none runs, unless CI
    demands it (FRONTLINE_REQUIRE_REDIS=1)."""
    import os
    import socket
    from urllib.parse import urlparse

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1):
            return url
    except OSError:
        if os.environ.get("FRONTLINE_REQUIRE_REDIS") == "1":
            pytest.fail(
                "Redis is required (FRONTLINE_REQUIRE_REDIS=1) but 127.0.0.1:6379 is closed"
            )
        pytest.skip(f"Redis not reachable at {url} (start redis-server to run this test)")


@pytest.fixture(autouse=True)
def _default_language():
    # A request made in English by an earlier test leaves English active in this thread;
    # every test starts in the platform's language, as a new request does.
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_monitoring_caches():
    # Ingest keeps devices and rules in per-process caches; a test's rolled-back rows must
    # not be found by the next test.
    from frontline.monitoring.services.devices import forget_devices_now
    from frontline.monitoring.services.rules import forget_rules

    forget_devices_now()
    forget_rules()
    yield
    forget_devices_now()
    forget_rules()
