"""The jurisdiction tree: create, rename, re-draw and move regions."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.geo import boundary_summary, invalidate_locator
from frontline.core.models import Region, RegionLevel
from frontline.core.models.regions import CODE_LENGTH, LEVEL_ORDER
from frontline.core.roles import Capability
from frontline.core.services.validation import _clean_text, require

# How much of a parent's code its children repeat: GB/T 2260 province codes are "33" + "0000",
# city codes "3306" + "00"; from the county down the whole code is the prefix.
_SIGNIFICANT_PREFIX = {RegionLevel.PROVINCE: 2, RegionLevel.CITY: 4}


def _check_code(code: str, level: str, parent: Region | None, is_virtual: bool) -> None:
    if not code.isdigit() or len(code) != CODE_LENGTH[level]:
        raise InvalidInput(
            _("区划代码格式不正确"),
            details={
                "code": _("%(level)s代码应为 %(n)d 位数字")
                % {"level": RegionLevel(level).label, "n": CODE_LENGTH[level]}
            },
        )
    if parent is None:
        return
    if LEVEL_ORDER.index(RegionLevel(level)) <= LEVEL_ORDER.index(RegionLevel(parent.level)):
        raise InvalidInput(_("层级不正确"), details={"level": _("下级区划的层级必须低于上级")})
    prefix = parent.code[: _SIGNIFICANT_PREFIX.get(parent.level, len(parent.code))]
    # Development zones (功能区) carry codes of their own; their parent stays explicit.
    if not is_virtual and not parent.is_virtual and not code.startswith(prefix):
        raise InvalidInput(
            _("区划代码与上级不符"),
            details={
                "code": _("代码应以上级代码 %(p)s 开头；功能区请勾选“功能区/开发区”")
                % {"p": prefix}
            },
        )


@transaction.atomic
def create_region(
    *,
    actor,
    code: str,
    name: str,
    level: str,
    parent: Region | None = None,
    boundary: dict | None = None,
    is_virtual: bool = False,
    population: int | None = None,
) -> Region:
    require(actor, Capability.MANAGE_REGIONS, parent)
    code = _clean_text(code, "code", required=True, max_length=15)
    name = _clean_text(name, "name", required=True, max_length=100)
    if level not in RegionLevel.values:
        raise InvalidInput(_("层级不正确"), details={"level": _("未知的层级")})
    if parent is None and actor is not None and not actor.is_superuser:
        raise PermissionDenied(_("只有系统管理员可以创建顶级区划"))
    _check_code(code, level, parent, is_virtual)
    region = Region(
        code=code,
        name=name,
        level=level,
        parent=parent,
        is_virtual=is_virtual,
        population=population,
        path=(parent.path if parent else "") + code + "/",
        depth=(parent.depth + 1) if parent else 0,
    )
    _apply_boundary(region, boundary)
    try:
        with transaction.atomic():
            region.save()
    except IntegrityError:
        raise InvalidInput(_("区划代码已存在"), details={"code": _("代码重复")}) from None
    _regions_changed()
    return region


def _regions_changed() -> None:
    # Now for this connection, and again after commit for everyone else.
    invalidate_locator()
    transaction.on_commit(invalidate_locator)


def _apply_boundary(region: Region, boundary: dict | None) -> None:
    if boundary is None:
        region.boundary = None
        return
    try:
        summary = boundary_summary(boundary)
    except ValueError as exc:
        raise InvalidInput(_("边界数据无效"), details={"boundary": str(exc)}) from None
    region.boundary = boundary
    region.centroid_lon, region.centroid_lat = summary.centroid
    region.min_lon, region.min_lat, region.max_lon, region.max_lat = summary.bbox


@transaction.atomic
def update_region(
    *, actor, region: Region, name: str | None = None, boundary: dict | None = None
) -> Region:
    require(actor, Capability.MANAGE_REGIONS, region)
    if name is not None:
        region.name = _clean_text(name, "name", required=True, max_length=100)
    if boundary is not None:
        _apply_boundary(region, boundary)
    region.save()
    _regions_changed()
    return region


@transaction.atomic
def move_region(*, actor, region: Region, new_parent: Region) -> Region:
    """Re-parent a region and rewrite the paths of its whole subtree."""
    require(actor, Capability.MANAGE_REGIONS, region)
    require(actor, Capability.MANAGE_REGIONS, new_parent)
    if new_parent.path.startswith(region.path):
        raise DomainError(_("不能把区划移到它自己的下级之下"), code="region_cycle")
    old_path = region.path
    new_path = new_parent.path + region.code + "/"
    depth_change = new_parent.depth + 1 - region.depth
    for node in Region.objects.within(old_path).order_by("depth"):
        node.path = new_path + node.path[len(old_path) :]
        node.depth += depth_change
        if node.pk == region.pk:
            node.parent = new_parent
        node.save(update_fields=["path", "depth", "parent", "updated_at"])
    region.refresh_from_db()
    _regions_changed()
    return region
