"""The admin: scoped querysets, role-based permissions, saves through the services."""

import re

from django.urls import reverse

from frontline.core.models import (
    AccountEvent,
    ApiToken,
    Organization,
    Person,
    Region,
    RegionLevel,
    RoleAssignment,
    SensitiveAccess,
)
from frontline.core.roles import Role
from frontline.core.testing import PASSWORD, make_organization, make_person, make_user

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


# --- accounts, the change log and readable logs ----------------------------------------------

USERS = reverse("admin:auth_user_changelist")


def user_change_url(user) -> str:
    return reverse("admin:auth_user_change", args=[user.pk])


def test_county_admin_manages_the_accounts_of_the_scope(world):
    client = world.client_for(world.parent)
    response = client.get(USERS)
    assert response.status_code == 200
    shown = {user.username for user in response.context["cl"].result_list}
    assert {"same", "parent", "sibling", "gridworker"} <= shown and "outsider" not in shown
    text = response.content.decode()
    for header in ("姓名", "关联人员", "角色"):
        assert header in text
    assert "站内工作人员/值班员@柯岩街道" in text

    form = client.get(user_change_url(world.same)).context["adminform"].form
    assert set(form.fields) == {"password", "is_active"}, "no flags, groups or permissions"
    response = client.post(user_change_url(world.same), {"is_active": ""})
    assert response.status_code == 302
    world.same.refresh_from_db()
    assert not world.same.is_active
    assert client.get(user_change_url(world.outsider)).status_code == 302  # "does not exist"
    assert client.post(reverse("admin:auth_user_delete", args=[world.same.pk])).status_code == 403


def test_station_chief_sets_a_password_but_cannot_take_over_a_wider_account(world):
    chief = make_user(Role.STATION_CHIEF, world.township, "chief")
    chief.is_staff = True
    chief.save()
    # A county administrator whose person record sits in the chief's township.
    county_admin = make_user(Role.COUNTY_ADMIN, world.county, "countyadmin")
    county_admin.person.region = world.township
    county_admin.person.save()
    client = world.client_for(chief)
    shown = {user.username for user in client.get(USERS).context["cl"].result_list}
    assert {"same", "gridworker", "countyadmin"} <= shown and "sibling" not in shown

    password_url = reverse("admin:auth_user_password_change", args=[world.grid_worker.pk])
    assert client.get(password_url).status_code == 200
    new = "Plain-Copper-Lantern-7"
    response = client.post(password_url, {"password1": new, "password2": new})
    assert response.status_code == 302, response.context["form"].errors
    world.grid_worker.refresh_from_db()
    assert world.grid_worker.check_password(new)

    wider = reverse("admin:auth_user_password_change", args=[county_admin.pk])
    assert client.get(wider).status_code == 403
    assert client.post(user_change_url(county_admin), {"is_active": ""}).status_code == 403
    county_admin.refresh_from_db()
    assert county_admin.is_active


def test_accounts_created_for_people_with_the_password_shown_once(world):
    with_account = make_user(None, world.village, "taken").person
    first = make_person(world.village, name="吴一")
    second = make_person(world.village, name="郑二")
    client = world.client_for(world.parent)
    response = client.post(
        changelist(Person),
        {
            "action": "create_accounts",
            "_selected_action": [first.pk, second.pk, with_account.pk],
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    for person in (first, second):
        person.refresh_from_db()
        assert person.user.username == f"u{person.pk}"
        password = re.search(
            rf"已为“{person.name}”创建登录账号：用户名 u{person.pk}，初始密码 (\S{{12}})", text
        )[1]
        assert person.user.check_password(password)
        assert AccountEvent.objects.filter(user=person.user, kind="account_created").exists()
    assert "已有登录账号 taken，已跳过" in text
    # Shown in this answer only: nothing is left for the next page.
    assert "初始密码" not in client.get(changelist(Person)).content.decode()


def test_account_action_needs_the_accounts_capability(world):
    staff = make_user(Role.STATION_STAFF, world.township, "staffer")
    staff.is_staff = True
    staff.save()
    response = world.client_for(staff).get(changelist(Person))
    assert "create_accounts" not in response.content.decode()


def test_locked_out_account_is_unlocked_from_the_admin(world):
    from django.test import Client

    client = Client()
    for attempt in range(5):
        client.post("/login/", {"username": "same", "password": f"wrong-{attempt}"})
    assert client.post("/login/", {"username": "same", "password": PASSWORD}).status_code == 429

    admin_client = world.client_for(world.parent)
    response = admin_client.post(
        USERS, {"action": "unlock_accounts", "_selected_action": [world.same.pk]}
    )
    assert response.status_code == 302
    assert client.post("/login/", {"username": "same", "password": PASSWORD}).status_code == 302


def test_change_log_is_read_only_and_scoped(world):
    from auditlog.context import set_actor
    from auditlog.models import LogEntry

    with set_actor(world.parent):
        inside = make_person(world.village, name="柯岩新人")
    with set_actor(world.outsider):
        make_person(world.other_county, name="越城新人")
    url = reverse("admin:auditlog_logentry_changelist")
    client = world.client_for(world.parent)
    response = client.get(url)
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert {row.actor for row in rows} == {world.parent}
    text = response.content.decode()
    for header in ("时间", "操作人", "操作", "对象", "变更内容", "请求编号"):
        assert header in text
    assert "人员 · " in text and "柯岩新人" in text and "越城新人" not in text
    entry = LogEntry.objects.get_for_object(inside).first()
    assert client.get(reverse("admin:auditlog_logentry_add")).status_code == 403
    change = reverse("admin:auditlog_logentry_change", args=[entry.pk])
    assert client.post(change, {}).status_code == 403

    staff = make_user(Role.STATION_STAFF, world.township, "staffer")
    staff.is_staff = True
    staff.save()
    assert world.client_for(staff).get(url).status_code == 403


def test_logs_show_chinese_headers_and_labels(world):
    from frontline.core import services

    person = make_person(world.village, mobile="13812345678")
    services.reveal_personal_field(actor=world.parent, obj=person, field="mobile")
    client = world.client_for(world.parent)
    text = client.get(changelist(SensitiveAccess)).content.decode()
    for english in ("CONTENT TYPE", "OBJECT ID", ">USER<", "Content type", "Object id"):
        assert english not in text
    assert "对象类型" in text and "对象编号" in text and "查看人" in text
    assert '<td class="field-field_label">手机号</td>' in text

    text = client.get(changelist(AccountEvent)).content.decode()
    assert '<td class="field-kind_label">授予角色</td>' in text
    assert '<td class="field-kind_label">创建账号</td>' in text
    assert ">role_granted<" not in text and ">account_created<" not in text


def test_empty_cells_show_one_mark(world):
    make_organization(world.village)
    text = world.client_for(world.parent).get(changelist(Organization)).content.decode()
    assert '<td class="field-parent nowrap">—</td>' in text or (
        '<td class="field-parent">—</td>' in text
    )


def test_admin_edit_keeps_a_parent_outside_the_scope(world):
    from frontline.core import services

    brigade = make_organization(world.county, name="柯桥区消防救援大队")
    station = services.create_organization(
        actor=None,
        name="柯岩消防救援站",
        kind="fire_brigade",
        region=world.township,
        parent=brigade,
    )
    chief = make_user(Role.STATION_CHIEF, world.township, "chief")
    chief.is_staff = True
    chief.save()
    client = world.client_for(chief)
    data = {"name": "柯岩消防救援站", "kind": "fire_brigade", "duty_phone": "0575-84123456"}
    response = client.post(change_url(station), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    station.refresh_from_db()
    assert station.parent == brigade and station.duty_phone == "0575-84123456"


def test_account_changes_leave_account_events(world):
    from frontline.core.models import AccountEvent

    client = world.client_for(world.parent)
    client.post(user_change_url(world.same), {"is_active": ""})
    password_url = reverse("admin:auth_user_password_change", args=[world.same.pk])
    new = "Plain-Copper-Lantern-7"
    client.post(password_url, {"password1": new, "password2": new})
    kinds = set(AccountEvent.objects.filter(user=world.same).values_list("kind", flat=True))
    assert {"account_disabled", "password_set"} <= kinds
