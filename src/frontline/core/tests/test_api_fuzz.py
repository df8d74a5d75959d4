"""Property-based run of the whole API from its OpenAPI schema: whatever a client sends,
the answer is never a server error and always has the documented error shape."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from frontline.core import services
from frontline.core.models import RoleAssignment
from frontline.core.testing import make_person

# The schema document itself needs no database: it is read once, at collection.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def keep_test_connection():
    # Requests go through the real WSGI handler, which closes the database connection when
    # a request ends; that would end the test's transaction (PostgreSQL). Django's test
    # client unhooks the same signal for the same reason.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_token(world, keep_test_connection):
    make_person(world.village, mobile="13812345678")
    assignment = RoleAssignment.objects.get(user=world.parent)
    _, token = services.issue_token(actor=None, assignment=assignment, name="fuzz")
    return token


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_never_fails_with_a_server_error(case, api_token):
    response = case.call(headers={"Authorization": f"Bearer {api_token}"})
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"code", "message", "details"}, body
