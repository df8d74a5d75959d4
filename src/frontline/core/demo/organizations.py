"""Demo organizations: the county bureau and forces, each township's station, government,
squad and departments, village committees, micro fire stations and a few enterprises.

The people generator staffs them through `ctx.state["organizations"]` (an `OrgDirectory`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from frontline.core.demo.district import RegionPlan
from frontline.core.demo.framework import DemoContext, register
from frontline.core.demo.names import office_phone
from frontline.core.models import Organization, OrganizationKind, Region, RegionLevel

ORGANIZATIONS_STEP = "core.organizations"
MICRO_FIRE_STATIONS_PER_TOWNSHIP = 3
ENTERPRISES_PER_TOWNSHIP = 2
_COUNTY_DEPARTMENTS = ["水利局", "公安分局", "卫生健康局", "住房和城乡建设局", "自然资源和规划分局"]
_SOCIAL_TEAMS = ["蓝天救援队", "公羊救援队"]
_INDUSTRIES = ["印染", "纺织", "化纤", "机械", "化工", "建材", "包装", "五金", "家纺", "服饰"]
_BRANDS = "恒永华兴宏达远东盛新天正鑫裕丰泰隆昌海越"


@dataclass
class CountyOrgs:
    bureau: Organization
    fire_brigade: Organization
    expert_group: Organization
    departments: list[Organization]
    fire_stations: list[Organization]
    social_teams: list[Organization]


@dataclass
class TownshipOrgs:
    government: Organization
    station: Organization
    squad: Organization
    departments: list[Organization]
    fulltime_fire_team: Organization | None
    micro_fire_stations: list[Organization] = field(default_factory=list)
    enterprises: list[Organization] = field(default_factory=list)
    community_station: Organization | None = None


@dataclass
class OrgDirectory:
    counties: dict[str, CountyOrgs] = field(default_factory=dict)
    townships: dict[str, TownshipOrgs] = field(default_factory=dict)
    village_committees: dict[str, Organization] = field(default_factory=dict)
    # Rows in creation tiers: a tier only points at parents of earlier tiers, so each tier
    # can be bulk-inserted once the previous one has its ids.
    tiers: list[list[Organization]] = field(default_factory=lambda: [[], [], []])

    def add(self, tier: int, organization: Organization) -> Organization:
        self.tiers[tier].append(organization)
        return organization


def short_name(township_name: str) -> str:
    """柯岩街道 → 柯岩, 平水镇 → 平水: how units of a township are named."""
    for suffix in ("街道", "镇", "乡"):
        if township_name.endswith(suffix) and len(township_name) > len(suffix) + 1:
            return township_name[: -len(suffix)]
    return township_name


def _org(rng: random.Random, name: str, kind: str, region: Region, parent=None) -> Organization:
    # Units sit somewhere inside their region; the representative point keeps them inside
    # a concave one, the jitter keeps two units of a village from sharing a map pin.
    return Organization(
        name=name,
        kind=kind,
        region=region,
        parent=parent,
        duty_phone=office_phone(rng),
        lon=round(region.centroid_lon + rng.uniform(-0.0008, 0.0008), 6),
        lat=round(region.centroid_lat + rng.uniform(-0.0008, 0.0008), 6),
    )


def _county_orgs(
    directory: OrgDirectory, county: Region, city_name: str, rng: random.Random
) -> CountyOrgs:
    add = directory.add
    bureau = add(
        0, _org(rng, f"{city_name}{county.name}应急管理局", OrganizationKind.BUREAU, county)
    )
    brigade = add(0, _org(rng, f"{county.name}消防救援大队", OrganizationKind.FIRE_BRIGADE, county))
    departments = [
        add(0, _org(rng, f"{county.name}{name}", OrganizationKind.DEPARTMENT, county))
        for name in _COUNTY_DEPARTMENTS
    ]
    social = [
        add(0, _org(rng, f"{county.name}{name}", OrganizationKind.SOCIAL_RESCUE, county))
        for name in _SOCIAL_TEAMS
    ]
    experts = add(
        1,
        _org(rng, f"{county.name}应急管理专家组", OrganizationKind.EXPERT_GROUP, county, bureau),
    )
    return CountyOrgs(bureau, brigade, experts, departments, [], social)


def _township_orgs(
    directory: OrgDirectory,
    township: Region,
    plan: RegionPlan,
    county_orgs: CountyOrgs,
    villages: list[Region],
    rng: random.Random,
) -> TownshipOrgs:
    add = directory.add
    short = short_name(township.name)
    is_street = plan.kind == "street"
    government = add(
        0,
        _org(
            rng,
            f"{township.name}{'办事处' if is_street else '人民政府'}",
            OrganizationKind.GOVERNMENT,
            township,
        ),
    )
    station = add(
        1,
        _org(
            rng,
            f"{township.name}应急管理{'站' if is_street else '所'}",
            OrganizationKind.STATION,
            township,
            government,
        ),
    )
    squad = add(
        2,
        _org(
            rng, f"{township.name}综合应急救援队", OrganizationKind.RESCUE_SQUAD, township, station
        ),
    )
    health = "社区卫生服务中心" if is_street else "卫生院"
    departments = [
        add(0, _org(rng, f"{short}{name}", OrganizationKind.DEPARTMENT, township))
        for name in ("水利站", "派出所", health)
    ]
    # Towns far from the county fire stations keep a full-time team; so do some streets.
    fulltime = None
    if not is_street or rng.random() < 0.4:
        fulltime = add(
            1,
            _org(
                rng,
                f"{short}专职消防队",
                OrganizationKind.FULLTIME_FIRE_TEAM,
                township,
                county_orgs.fire_brigade,
            ),
        )
    orgs = TownshipOrgs(government, station, squad, departments, fulltime)
    _village_orgs(directory, orgs, villages, rng)
    _enterprises(directory, orgs, villages, rng)
    return orgs


def _village_orgs(
    directory: OrgDirectory, orgs: TownshipOrgs, villages: list[Region], rng: random.Random
) -> None:
    for village in villages:
        committee_name = "居民委员会" if village.name.endswith("社区") else "村民委员会"
        directory.village_committees[village.code] = directory.add(
            1,
            _org(
                rng,
                f"{village.name}{committee_name}",
                OrganizationKind.VILLAGE_COMMITTEE,
                village,
                orgs.government,
            ),
        )
    for village in rng.sample(villages, min(MICRO_FIRE_STATIONS_PER_TOWNSHIP, len(villages))):
        orgs.micro_fire_stations.append(
            directory.add(
                2,
                _org(
                    rng,
                    f"{village.name}微型消防站",
                    OrganizationKind.MICRO_FIRE_STATION,
                    village,
                    directory.village_committees[village.code],
                ),
            )
        )
    communities = [village for village in villages if village.name.endswith("社区")]
    if communities:
        first = communities[0]
        orgs.community_station = directory.add(
            2,
            _org(
                rng,
                f"{first.name}应急救援站",
                OrganizationKind.COMMUNITY_STATION,
                first,
                directory.village_committees[first.code],
            ),
        )


def _enterprises(
    directory: OrgDirectory, orgs: TownshipOrgs, villages: list[Region], rng: random.Random
) -> None:
    """A couple of firms per township, so enterprise safety officers have somewhere to work.
    Keqiao is a textile district: dyeing and chemical fibre firms come first."""
    used: set[str] = set()
    rural = [village for village in villages if not village.name.endswith("社区")] or villages
    while len(orgs.enterprises) < ENTERPRISES_PER_TOWNSHIP:
        brand = rng.choice(_BRANDS) + rng.choice(_BRANDS)
        name = f"绍兴{brand}{rng.choice(_INDUSTRIES)}有限公司"
        if name in used or brand[0] == brand[1]:
            continue
        used.add(name)
        orgs.enterprises.append(
            directory.add(0, _org(rng, name, OrganizationKind.ENTERPRISE, rng.choice(rural)))
        )


def build_directory(
    regions: dict[str, Region], plans: dict[str, RegionPlan], rng: random.Random
) -> OrgDirectory:
    directory = OrgDirectory()
    children: dict[str, list[Region]] = {}
    for region in regions.values():
        if region.parent is not None:
            children.setdefault(region.parent.code, []).append(region)
    counties = sorted(
        (region for region in regions.values() if region.level == RegionLevel.COUNTY),
        key=lambda region: region.code,
    )
    for county in counties:
        city_name = county.parent.name if county.parent is not None else "绍兴市"
        county_orgs = _county_orgs(directory, county, city_name, rng)
        directory.counties[county.code] = county_orgs
        for township in sorted(children.get(county.code, []), key=lambda region: region.code):
            villages = sorted(children.get(township.code, []), key=lambda region: region.code)
            directory.townships[township.code] = _township_orgs(
                directory, township, plans[township.code], county_orgs, villages, rng
            )
        # The brigade's stations sit in the first few streets, where the crowds are.
        for township in sorted(children.get(county.code, []), key=lambda r: r.code)[:3]:
            county_orgs.fire_stations.append(
                directory.add(
                    1,
                    _org(
                        rng,
                        f"{short_name(township.name)}消防救援站",
                        OrganizationKind.FIRE_BRIGADE,
                        township,
                        county_orgs.fire_brigade,
                    ),
                )
            )
    return directory


def generate_organizations(ctx: DemoContext) -> None:
    directory = build_directory(ctx.state["regions"], ctx.state["plans"], ctx.rng)
    total = sum(len(tier) for tier in directory.tiers)
    done = 0
    # Bulk insert as a system job, like the regions: no per-row service, no audit entry.
    for tier in directory.tiers:
        Organization.objects.bulk_create(tier, batch_size=500)
        done += len(tier)
        ctx.report(done, total)
    for tier in directory.tiers:
        for organization in tier:
            ctx.count(f"organizations.{organization.kind}")
    ctx.count("organizations", total)
    ctx.state["organizations"] = directory


register(ORGANIZATIONS_STEP, order=20, generate_fn=generate_organizations, label="单位与救援力量")
