"""The shell around every page: navigation by role, the demo banner, the jurisdiction switcher."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontline.core.models import DemoDataset, Region, RegionLevel
from frontline.core.models.regions import LEVEL_ORDER
from frontline.core.roles import Role, roles_of
from frontline.core.scoping import active_assignments, full_scope_paths, scope_paths, subtree_q

DEMO_FLAG_KEY = "frontline:demo-dataset-present"
# Seeding the demo happens before the server starts and removing it is rare, so a minute of
# staleness is harmless and saves a query on every page.
DEMO_FLAG_SECONDS = 60


def demo_data_present() -> bool:
    present = cache.get(DEMO_FLAG_KEY)
    if present is None:
        present = DemoDataset.objects.exists()
        cache.set(DEMO_FLAG_KEY, present, DEMO_FLAG_SECONDS)
    return present


def forget_demo_flag() -> None:
    """Call after creating or deleting a DemoDataset so the banner follows at once."""
    cache.delete(DEMO_FLAG_KEY)


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool
    badge: int = 0


@dataclass(frozen=True)
class SwitcherOption:
    code: str
    label: str
    selected: bool


@dataclass
class Shell:
    demo: bool
    nav: list[NavItem] = field(default_factory=list)
    display_name: str = ""
    roles: list[str] = field(default_factory=list)
    jurisdiction: str = ""
    focus_code: str = ""
    switcher: list[SwitcherOption] = field(default_factory=list)
    section_url: str = "/"


def shell(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"shell": Shell(demo=demo_data_present())}
    focus = focus_region(user)
    return {
        "shell": Shell(
            demo=demo_data_present(),
            nav=nav_items(request),
            display_name=display_name(user),
            roles=sorted(Role(role).label for role in roles_of(user) if role in Role.values),
            jurisdiction=focus.name if focus else scope_label(user),
            focus_code=focus.code if focus else "",
            switcher=switcher_options(user, focus),
            section_url=section_url(request.path),
        )
    }


def display_name(user) -> str:
    # The reverse one-to-one raises an AttributeError subclass when the account has no person.
    person = getattr(user, "person", None)
    return person.name if person else (user.get_full_name() or user.get_username())


# --- navigation ----------------------------------------------------------------------------

_SECTIONS = [
    (gettext_lazy("首页"), "home"),
    (gettext_lazy("我的一天"), "my_day"),
    (gettext_lazy("地图"), "map"),
    (gettext_lazy("任务"), "task_mine"),
    (gettext_lazy("隐患"), "hazard_list"),
    (gettext_lazy("监测预警"), "alarm_console"),
    (gettext_lazy("企业场所"), "enterprise_list"),
    (gettext_lazy("社区网格"), "grid_list"),
    (gettext_lazy("应急资源"), "resource_home"),
    (gettext_lazy("检查"), "inspection_list"),
    (gettext_lazy("台账统计"), "hazard_dashboard"),
    (gettext_lazy("区划"), "region_index"),
    (gettext_lazy("单位"), "organization_list"),
    (gettext_lazy("人员"), "person_list"),
    (gettext_lazy("消息"), "inbox"),
    (gettext_lazy("接口令牌"), "token_list"),
]


def nav_items(request) -> list[NavItem]:
    user = request.user
    items = []
    for label, url_name in _SECTIONS:
        # Tokens are bound to a role assignment, so an account without one has nothing there.
        if url_name == "token_list" and not active_assignments(user):
            continue
        # The grid worker's day is the grid worker's home; nobody else has one.
        if url_name == "my_day" and Role.GRID_WORKER not in roles_of(user):
            continue
        url = reverse(url_name)
        active = request.path == url if url == "/" else request.path.startswith(url)
        badge = 0
        if url_name == "inbox":
            badge = unread_count(user)
        elif url_name == "alarm_console":
            badge = open_alarm_count(user)
        items.append(NavItem(str(label), url, active, badge))
    if user.is_staff:
        url = reverse("admin:index")
        items.append(NavItem(_("管理后台"), url, request.path.startswith(url)))
    return items


def unread_count(user) -> int:
    from frontline.core.models import Channel, Notification

    return Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, read_at__isnull=True
    ).count()


OPEN_ALARMS_KEY = "frontline:open-alarms:"
# The badge only points the way to the console, which itself refreshes every 3 s: a few
# seconds of staleness spare a count on every page.
OPEN_ALARMS_SECONDS = 10


def open_alarm_count(user) -> int:
    """Open (not cleared) monitoring alarms in the user's scope, cached per scope."""
    from frontline.monitoring.models import OPEN_ALARM_STATES, Alarm

    paths = scope_paths(user)
    scope = "*" if paths is None else ",".join(sorted(paths))
    key = OPEN_ALARMS_KEY + hashlib.sha256(scope.encode()).hexdigest()[:32]
    count = cache.get(key)
    if count is None:
        count = Alarm.objects.visible_to(user).filter(state__in=OPEN_ALARM_STATES).count()
        cache.set(key, count, OPEN_ALARMS_SECONDS)
    return count


def section_url(path: str) -> str:
    """The list page of the current section: after switching jurisdiction the object on the
    current detail page may lie outside the new focus, its list never does."""
    first = path.strip("/").split("/", 1)[0]
    return f"/{first}/" if first else "/"


# --- jurisdiction --------------------------------------------------------------------------


def full_scope_regions(user):
    """Regions of the whole scope, ignoring the switcher (None paths: superuser, everything)."""
    paths = full_scope_paths(user)
    regions = Region.objects.all()
    return regions if paths is None else regions.filter(subtree_q("path", paths))


def focus_region(user) -> Region | None:
    """The region the switcher narrowed the scope to, if it still lies inside the scope."""
    path = getattr(user, "_frontline_focus_path", None)
    if not path:
        return None
    paths = full_scope_paths(user)
    if paths is not None and not any(path.startswith(p) for p in paths):
        return None
    return Region.objects.filter(path=path).only("code", "name", "path").first()


def scope_label(user) -> str:
    if full_scope_paths(user) is None:
        return _("全部辖区")
    names = []
    for assignment in active_assignments(user):
        if assignment.region.name not in names:
            names.append(assignment.region.name)
    return "、".join(names)


_TOWNSHIP = LEVEL_ORDER.index(RegionLevel.TOWNSHIP)


def switcher_depth(user) -> int | None:
    """Index in LEVEL_ORDER of the finest level the switcher offers; None: no switcher.

    Down to townships for a county (or wider) scope, down to villages for a township scope;
    a village or grid scope is already as narrow as a page needs.
    """
    paths = full_scope_paths(user)
    if paths is None:
        return _TOWNSHIP
    levels = [LEVEL_ORDER.index(RegionLevel(a.region.level)) for a in active_assignments(user)]
    if not levels:
        return None
    widest = min(levels)
    if widest < _TOWNSHIP:
        return _TOWNSHIP
    if widest == _TOWNSHIP:
        return _TOWNSHIP + 1
    return None


def switcher_options(user, focus: Region | None) -> list[SwitcherOption]:
    finest = switcher_depth(user)
    if finest is None:
        return []
    levels = [level.value for level in LEVEL_ORDER[: finest + 1]]
    rows = list(
        full_scope_regions(user)
        .filter(level__in=levels)
        .order_by("path")
        .values_list("code", "name", "depth")
    )
    if not rows:
        return []
    top = min(depth for _code, _name, depth in rows)
    focus_code = focus.code if focus else ""
    return [
        SwitcherOption(code, "\u3000" * (depth - top) + name, code == focus_code)
        for code, name, depth in rows
    ]
