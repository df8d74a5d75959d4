"""Grid staffing: who works a grid (网格长, 专职/兼职网格员, 十户长) and which households a
group leader (十户一长) looks after.

    post = appoint_post(actor=chief, region=grid, person=wang, role=GridRole.GRID_WORKER)
    end_post(actor=chief, post=post, ended_on=date(2026, 12, 31))
    set_group_leader(actor=grid_worker, households=[h1, h2], person=li)
    grid_staff(grid)  # the active posts with their people, for the grid page

Posts are appointed and ended by those who manage people (`manage_people`: station chief and
staff, county administrator). Ended posts stay, so past patrols keep their context. A group
leader is set on households by anyone who may edit them (the grid worker too), and must
hold an active 十户长 post in the households' grid.
"""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.community.models import GridPost, GridRole, Household
from frontline.core.errors import DomainError, InvalidInput
from frontline.core.models import Person, Region, RegionLevel
from frontline.core.roles import Capability
from frontline.core.services.validation import Cleaner, require


def _same_branch(a: Region, b: Region) -> bool:
    return a.path.startswith(b.path) or b.path.startswith(a.path)


@transaction.atomic
def appoint_post(
    *,
    actor,
    region: Region,
    person: Person,
    role: str,
    started_on: date | None = None,
) -> GridPost:
    """任命: the person takes a post in the grid (from `started_on`, today by default)."""
    require(actor, Capability.MANAGE_PEOPLE, region)
    cleaner = Cleaner()
    role = cleaner.choice(role, "role", GridRole)
    today = timezone.localdate()
    started_on = started_on or today
    if region.level != RegionLevel.GRID:
        cleaner.fail("region", _("岗位只能设在网格"))
    if person is None:
        cleaner.fail("person", _("请选择人员"))
    elif not _same_branch(person.region, region):
        cleaner.fail("person", _("人员不在该网格的上下级区划内"))
    if started_on > today:
        cleaner.fail("started_on", _("任职日期不能晚于今天"))
    cleaner.done()
    if GridPost.objects.filter(
        region=region, person=person, role=role, ended_on__isnull=True
    ).exists():
        raise DomainError(_("该人员已在本网格担任此岗位"), code="post_exists")
    try:
        with transaction.atomic():
            return GridPost.objects.create(
                region=region, person=person, role=role, started_on=started_on
            )
    except IntegrityError:  # a concurrent appointment won the race
        raise DomainError(_("该人员已在本网格担任此岗位"), code="post_exists") from None


@transaction.atomic
def end_post(*, actor, post: GridPost, ended_on: date | None = None) -> GridPost:
    """离任: the post ends (today by default). The row stays."""
    require(actor, Capability.MANAGE_PEOPLE, post.region)
    post = GridPost.objects.select_for_update().select_related("region").get(pk=post.pk)
    if post.ended_on is not None:
        raise DomainError(_("该岗位已离任"), code="post_ended")
    ended_on = ended_on or timezone.localdate()
    if ended_on < post.started_on:
        raise InvalidInput(
            _("离任日期不能早于任职日期"), details={"ended_on": _("离任日期不能早于任职日期")}
        )
    if ended_on > timezone.localdate():
        raise InvalidInput(
            _("离任日期不能晚于今天"), details={"ended_on": _("离任日期不能晚于今天")}
        )
    post.ended_on = ended_on
    post.save(update_fields=["ended_on"])
    return post


def grid_posts(user, region: Region, *, active_only: bool = False):
    """Posts of a grid visible to the user, grid leader first."""
    posts = (
        GridPost.objects.visible_to(user)
        .filter(region=region)
        .select_related("person__organization", "region")
    )
    if active_only:
        posts = posts.filter(ended_on__isnull=True)
    return posts.order_by("ended_on", "role", "person__name", "id")


ROLE_ORDER = {
    GridRole.GRID_LEADER: 0,
    GridRole.GRID_WORKER: 1,
    GridRole.PART_TIME: 2,
    GridRole.GROUP_LEADER: 3,
}


def grid_staff(region: Region) -> list[GridPost]:
    """The active posts of a grid with their people (`post.person`), 网格长 first, then
    网格员, 兼职网格员 and 十户长; each group leader carries `household_count`. Two queries."""
    from django.db.models import Count, Q

    posts = list(
        GridPost.objects.filter(region=region, ended_on__isnull=True)
        .select_related("person__organization")
        .annotate(
            household_count=Count(
                "person__led_households",
                filter=Q(person__led_households__region=region),
                distinct=True,
            )
        )
    )
    return sorted(posts, key=lambda p: (ROLE_ORDER.get(p.role, 9), p.person.name, p.pk))


@transaction.atomic
def set_group_leader(*, actor, households, person: Person | None) -> int:
    """十户一长: make `person` the group leader of these households (None clears it). The
    person must hold an active 十户长 post in each household's grid. Returns the number of
    households changed."""
    households = list(households)
    if not households:
        raise InvalidInput(_("请选择住户"), details={"households": _("请选择住户")})
    ids = [h.pk for h in households]
    rows = list(Household.objects.select_for_update().select_related("region").filter(pk__in=ids))
    for household in rows:
        require(actor, Capability.EDIT, household.region)
    if person is not None:
        grids = {h.region_id for h in rows}
        posted = set(
            GridPost.objects.filter(
                person=person,
                role=GridRole.GROUP_LEADER,
                ended_on__isnull=True,
                region_id__in=grids,
            ).values_list("region_id", flat=True)
        )
        if grids - posted:
            raise InvalidInput(
                _("该人员不是这些住户所在网格的十户长"),
                details={"person": _("请先在网格中任命其为十户长")},
            )
    changed = 0
    target = person.pk if person is not None else None
    for household in rows:
        if household.group_leader_id != target:
            household.group_leader = person
            household.save(update_fields=["group_leader", "updated_at"])
            changed += 1
    return changed
