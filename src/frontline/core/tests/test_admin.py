"""The admin: scoped querysets, role-based permissions, saves through the services."""

from django.urls import reverse

from frontline.core.models import (
    AccountEvent,
    ApiToken,
    Person,
    Region,
    RegionLevel,
    RoleAssignment,
    SensitiveAccess,
)
from frontline.core.roles import Role
from frontline.core.testing import make_organization, make_person, make_user

VALID_ID = "11010519491231002X"


def changelist(model) -> str:
    return reverse(f"admin:core_{model._meta.model_name}_changelist")


def add_url(model) -> str:
    return reverse(f"admin:core_{model._meta.model_name}_add")


def change_url(obj) -> str:
    return reverse(f"admin:core_{obj._meta.model_name}_change", args=[obj.pk])


def test_county_admin_is_staff_and_sees_the_admin(world):
    assert world.parent.is_staff
    client = world.client_for(world.parent)
    index = client.get("/admin/")
    assert index.status_code == 200
    text = index.content.decode()
    assert "基层应急管理智慧平台 · 管理后台" in text and "行政区划" in text
    for model in (Region, Person, RoleAssignment, ApiToken, SensitiveAccess, AccountEvent):
        assert client.get(changelist(model)).status_code == 200, model


def test_staff_without_a_capability_gets_no_core_models(world):
    leader = make_user(Role.LEADER, world.county, "leader")
    leader.is_staff = True
    leader.save()
    client = world.client_for(leader)
    assert "行政区划" not in client.get("/admin/").content.decode()
    assert client.get(changelist(Person)).status_code == 403


def test_changelists_are_scoped(world):
    inside = make_person(world.village, name="柯岩人员")
    outside = make_person(world.other_county, name="越城人员")
    client = world.client_for(world.outsider)
    page = client.get(changelist(Person)).content.decode()
    assert "越城人员" in page and "柯岩人员" not in page
    # Out of scope is "does not exist": the admin sends the user back to its index.
    response = client.get(change_url(inside))
    assert response.status_code == 302
    assert client.get(change_url(outside)).status_code == 200
    regions = client.get(changelist(Region)).context["cl"].result_list
    assert {r.code for r in regions} == {world.other_county.code}


def test_list_shows_masked_phones_only(world):
    make_person(world.village, name="王小明", mobile="13812345678", id_number=VALID_ID)
    page = world.client_for(world.parent).get(changelist(Person)).content.decode()
    assert "138****5678" in page and "13812345678" not in page


def test_region_added_through_the_service(world):
    client = world.client_for(world.parent)
    data = {
        "code": "330603001002",
        "name": "新村",
        "level": RegionLevel.VILLAGE,
        "parent": world.township.pk,
        "population": "1200",
        "boundary": "",
    }
    response = client.post(add_url(Region), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    region = Region.objects.get(code="330603001002")
    assert region.path == world.township.path + "330603001002/"  # the service keeps paths
    assert region.depth == world.township.depth + 1


def test_region_rule_of_the_service_becomes_a_form_error(world):
    client = world.client_for(world.parent)
    data = {
        "code": "330604001002",
        "name": "错村",
        "level": RegionLevel.VILLAGE,
        "parent": world.township.pk,
        "boundary": "",
    }
    response = client.post(add_url(Region), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "代码应以上级代码 330603001 开头" in errors["code"][0]
    assert not Region.objects.filter(code="330604001002").exists()


def test_region_change_renames_and_keeps_the_code(world):
    client = world.client_for(world.parent)
    response = client.post(change_url(world.village), {"name": "州山新村", "boundary": ""})
    assert response.status_code == 302
    world.village.refresh_from_db()
    assert (world.village.name, world.village.code) == ("州山新村", "330603001001")


def test_person_added_and_changed_through_the_service(world):
    client = world.client_for(world.parent)
    organization = make_organization(world.village)
    data = {
        "name": "孙八",
        "region": world.village.pk,
        "organization": organization.pk,
        "position": "队长",
        "new_mobile": "13812345678",
        "office_phone": "",
        "new_id_number": VALID_ID,
    }
    response = client.post(add_url(Person), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    person = Person.objects.get(name="孙八")
    assert (person.mobile_tail, person.id_number) == ("5678", VALID_ID)

    form_page = client.get(change_url(person)).content.decode()
    assert "13812345678" not in form_page and VALID_ID not in form_page
    data.update(name="孙八八", new_mobile="", new_id_number="")
    assert client.post(change_url(person), data).status_code == 302
    person.refresh_from_db()
    assert (person.name, person.mobile, person.id_number) == ("孙八八", "13812345678", VALID_ID)


def test_person_validation_of_the_service_lands_on_the_field(world):
    client = world.client_for(world.parent)
    data = {"name": "周九", "region": world.village.pk, "new_id_number": "330603199001011234"}
    response = client.post(add_url(Person), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["new_id_number"] == ["应为 18 位身份证号码且校验位正确"]
    assert not Person.objects.filter(name="周九").exists()


def test_foreign_keys_offer_only_the_scope(world):
    client = world.client_for(world.outsider)
    form = client.get(add_url(Person)).context["adminform"].form
    assert set(form.fields["region"].queryset) == {world.other_county}
    response = client.post(add_url(Person), {"name": "越界", "region": world.village.pk})
    assert "region" in response.context["adminform"].form.errors


def test_role_granted_and_revoked_through_the_services(world):
    client = world.client_for(world.parent)
    user = make_user(None, world.village, "newchief")
    data = {"user": user.pk, "role": Role.STATION_CHIEF, "region": world.township.pk}
    response = client.post(add_url(RoleAssignment), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assignment = RoleAssignment.objects.get(user=user)
    assert AccountEvent.objects.filter(user=user, kind="role_granted").exists()

    response = client.post(
        changelist(RoleAssignment),
        {"action": "revoke_assignments", "_selected_action": [assignment.pk]},
    )
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.revoked_at is not None
    assert AccountEvent.objects.filter(user=user, kind="role_revoked").exists()


def test_tokens_are_read_only_and_revoked_by_action(world):
    from frontline.core import services

    token, _clear = services.issue_token(
        actor=world.same, assignment=world.same.role_assignments.get(), name="平台"
    )
    client = world.client_for(world.parent)
    assert client.get(add_url(ApiToken)).status_code == 403
    page = client.get(change_url(token)).content.decode()
    assert token.token_hash not in page
    response = client.post(
        changelist(ApiToken), {"action": "revoke_tokens", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_logs_are_read_only_and_scoped(world):
    from frontline.core import services

    person = make_person(world.village, mobile="13812345678")
    services.reveal_personal_field(actor=world.parent, obj=person, field="mobile")
    other = make_person(world.other_county, mobile="13900001111")
    services.reveal_personal_field(actor=world.outsider, obj=other, field="mobile")

    client = world.client_for(world.parent)
    assert client.get(add_url(SensitiveAccess)).status_code == 403
    rows = client.get(changelist(SensitiveAccess)).context["cl"].result_list
    assert [row.user for row in rows] == [world.parent]
    access = SensitiveAccess.objects.get(user=world.parent)
    assert client.post(change_url(access), {"field": "id_number"}).status_code == 403


def test_nothing_is_deleted_from_the_admin(world):
    client = world.client_for(world.parent)
    url = reverse("admin:core_region_delete", args=[world.village.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Region.objects.filter(pk=world.village.pk).exists()
