from datetime import datetime

import pytest
from django.utils import timezone

from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.roles import Role
from frontline.core.testing import assert_queryset_matrix, make_user
from frontline.hazards.codes import is_valid_credit_code
from frontline.hazards.models import Hazard, HazardState
from frontline.hazards.testing import credit_code, make_enterprise, make_hazard


def test_reported_hazard_is_found_numbered_by_township_and_scoped(world):
    hazard = make_hazard(world.village, actor=world.same)
    year = timezone.localtime().year
    assert hazard.number == f"YH-{world.township.code}-{year}-00001"
    assert hazard.state == HazardState.FOUND
    assert [e.kind for e in hazard.events.all()] == ["reported"]
    assert make_hazard(world.grid).number.endswith("-00002")
    assert_queryset_matrix(Hazard.objects, hazard, world)


def test_number_sequence_restarts_each_year(world):
    make_hazard(world.village)
    next_year = timezone.make_aware(datetime(timezone.localtime().year + 1, 1, 2))
    assert make_hazard(world.village, now=next_year).number.endswith("-00001")


def test_bad_reports_are_refused_and_nothing_is_written(world):
    other = make_enterprise(world.sibling_township)
    with pytest.raises(InvalidInput) as error:
        make_hazard(world.village, title=" ", enterprise=other, lon=120.4)
    assert set(error.value.details) == {"title", "enterprise", "lat"}
    leader = make_user(Role.LEADER, world.county, "leader")
    with pytest.raises(PermissionDenied):
        make_hazard(world.village, actor=leader)
    assert not Hazard.objects.exists()


def test_credit_code_check_character():
    assert is_valid_credit_code(credit_code(1))
    # A published example code with a valid check character.
    assert is_valid_credit_code("91350100M000100Y43")
    assert not is_valid_credit_code("91350100M000100Y44")
    assert not is_valid_credit_code("91350100M000100Y4")
    assert not is_valid_credit_code("91350100M000100I43")


def test_report_rate_limit_is_shared_by_processes_through_redis(redis_url, tmp_path):
    # Two web processes must count against one limit: with REDIS_URL set the cache is Redis,
    # and a second process sees the attempts of the first.
    import os
    import subprocess
    import sys
    import uuid
    from types import SimpleNamespace

    from django.core.cache import caches
    from django.test import override_settings

    from frontline.hazards.services.field_reports import TooManyReports, check_report_rate

    user = SimpleNamespace(pk=f"shared-{uuid.uuid4().hex}")
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "frontline",
        }
    }
    with override_settings(CACHES=redis_cache):
        try:
            for _attempt in range(9):
                check_report_rate(user)
            other_process = (
                "import django; django.setup()\n"
                "from django.conf import settings\n"
                "from types import SimpleNamespace\n"
                "from frontline.hazards.services.field_reports import TooManyReports, "
                "check_report_rate\n"
                f"user = SimpleNamespace(pk={user.pk!r})\n"
                "print(settings.CACHES['default']['BACKEND'])\n"
                "check_report_rate(user)\n"
                "try:\n    check_report_rate(user)\nexcept TooManyReports:\n    print('refused')\n"
            )
            env = {
                **os.environ,
                "REDIS_URL": redis_url,
                "FRONTLINE_VAR": str(tmp_path),
                "DJANGO_SETTINGS_MODULE": "frontline.settings",
            }
            env.pop("DATABASE_URL", None)
            done = subprocess.run(
                [sys.executable, "-c", other_process],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            assert done.stdout.split() == ["django.core.cache.backends.redis.RedisCache", "refused"]
            with pytest.raises(TooManyReports):
                check_report_rate(user)
        finally:
            caches["default"].clear()
