"""The jurisdiction tree: county → township/street → village/community → grid."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.scoping import ScopedQuerySet


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    COUNTY = "county", _("区县")
    TOWNSHIP = "township", _("乡镇街道")
    VILLAGE = "village", _("村社区")
    GRID = "grid", _("网格")


# Code length per level (GB/T 2260 for province to county, statistical codes below,
# and our own 15-digit grid codes).
CODE_LENGTH = {
    RegionLevel.PROVINCE: 6,
    RegionLevel.CITY: 6,
    RegionLevel.COUNTY: 6,
    RegionLevel.TOWNSHIP: 9,
    RegionLevel.VILLAGE: 12,
    RegionLevel.GRID: 15,
}
LEVEL_ORDER = list(RegionLevel)


class RegionQuerySet(ScopedQuerySet):
    scope_path_field = "path"


class Region(models.Model):
    code = models.CharField(_("区划代码"), max_length=15, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=16, choices=RegionLevel.choices)
    # Explicit parent: development zones carry codes that do not follow their parent's prefix.
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path of ancestor codes ("330603/330603001/"), kept by the services; scope
    # checks compare it as a range so every database can use the index.
    path = models.CharField(_("路径"), max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("深度"), default=0, editable=False)
    is_virtual = models.BooleanField(_("功能区/开发区"), default=False)
    boundary = models.JSONField(_("边界 (GeoJSON)"), null=True, blank=True)
    centroid_lon = models.FloatField(_("中心经度"), null=True, blank=True)
    centroid_lat = models.FloatField(_("中心纬度"), null=True, blank=True)
    min_lon = models.FloatField(null=True, blank=True, editable=False)
    min_lat = models.FloatField(null=True, blank=True, editable=False)
    max_lon = models.FloatField(null=True, blank=True, editable=False)
    max_lat = models.FloatField(null=True, blank=True, editable=False)
    population = models.PositiveIntegerField(_("常住人口"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "行政区划")
        verbose_name_plural = pgettext_lazy("plural", "行政区划")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"])]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def region(self) -> Region:
        """A region is its own scope anchor, so generic scope checks can treat it like any
        other regional object."""
        return self

    def is_within(self, other: Region) -> bool:
        return self.path.startswith(other.path)

    def ancestors(self) -> models.QuerySet[Region]:
        codes = [code for code in self.path.split("/") if code][:-1]
        return Region.objects.filter(code__in=codes).order_by("depth")


class DemoDataset(models.Model):
    """Marks that the database holds generated demo data, so every page can say so."""

    scale = models.CharField(_("规模"), max_length=16)
    seed = models.IntegerField(_("随机种子"))
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    summary = models.JSONField(_("数量"), default=dict)

    class Meta:
        verbose_name = pgettext_lazy("singular", "演示数据集")
        verbose_name_plural = pgettext_lazy("plural", "演示数据集")

    def __str__(self) -> str:
        return f"{self.scale} / {self.seed}"
