"""Property-based run of the whole API from its OpenAPI schema: whatever a client sends,
the answer is never a server error and always has the documented error shape."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from frontline.core import services
from frontline.core.models import RoleAssignment
from frontline.core.testing import make_person

# The schema document itself needs no database: it is read once, at collection.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def api_token(world):
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
