"""What the demo's depots went through in the past year, posted through `demo_stock.Book`.

Every depot opens its book a year ago with the stock it held (期初库存录入). Then, by season:
forest fires in winter and at Qingming, the cold wave's handouts, drills in May and June
(防灾减灾日, 安全生产月), the plum rains and a typhoon in summer with transfers from the
county's depots, pumps and life jackets lent and brought back, shelters supplied, restocking
before and after the flood season; food and water rotated before they expire, extinguishers
and life jackets renewed at the end of their life; quarterly stocktakes with a few
differences and a few write-offs. A few rotations were missed, so some lots are near expiry
and a few expired; a few late issues leave some depots below their minimum.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from frontline.core.models import OrganizationKind, RegionLevel
from frontline.resources.demo_common import Units, any_time, is_town, local_at, working_time
from frontline.resources.demo_stock import Book
from frontline.resources.demo_stock_data import (
    ADJUST_REASONS,
    HEAVY_ITEMS,
    ITEM_PLAN,
    KEY_ITEMS,
    MISSED_ROTATION,
    QUARTER_ENDS,
    RESTOCK,
    ROTATE_TO_UNITS,
    SCENARIOS,
    SUPPLIERS,
    Scenario,
)
from frontline.resources.models import (
    Depot,
    DepotKind,
    IssuePurpose,
    Shelter,
    StockMinimum,
    StorageLocation,
    SupplyItem,
)
from frontline.resources.services.catalogue import seed_catalogue

K = DepotKind
P = IssuePurpose


@dataclass
class Stock:
    """One depot and what it keeps."""

    depot: Depot
    targets: dict[int, int]
    lent: set[int]
    actor: object
    locations: list[StorageLocation]
    township: object | None
    villages: list = field(default_factory=list)
    committees: list = field(default_factory=list)
    enterprises: list = field(default_factory=list)
    shelters: list = field(default_factory=list)


def generate_stock(ctx) -> None:
    seed_catalogue()  # idempotent: the migration seeded it; a county may have added more
    year = Year(ctx, timezone.now())
    year.plan()
    year.book.run()
    counts = year.book.write()
    for key, value in counts.items():
        ctx.count(f"stock_{key}", value)
    ctx.count(
        "stock_below_minimum", sum(m.low_since is not None for m in year.book.minimums.values())
    )


class Year:
    def __init__(self, ctx, now):
        self.ctx, self.rng, self.now = ctx, ctx.rng, now
        self.today = timezone.localdate(now)
        self.start = self.today - timedelta(days=365)
        self.book = Book(now, self.rng)
        self.items = {item.code: item for item in SupplyItem.objects.all()}
        self.by_id = {item.pk: item for item in self.items.values()}
        self.stocks: list[Stock] = []
        self.typhoon_day = self.on(8, 1, 40)
        self.typhoon = f"{(self.typhoon_day or self.today).year}年第{self.rng.randint(8, 14)}号台风"

    # --- dates ---------------------------------------------------------------------------

    def on(self, month: int, day: int, span: int = 0) -> date | None:
        """A day `span` days at most after the last (month, day) inside the demo year."""
        for year in (self.today.year, self.today.year - 1):
            base = date(year, month, day)
            if self.start < base <= self.today:
                chosen = base + timedelta(days=self.rng.randint(0, span))
                return chosen if chosen <= self.today else None
        return None

    # --- who keeps what -------------------------------------------------------------------

    def plan(self) -> None:
        depots = list(Depot.objects.select_related("region", "keeper__user").order_by("pk"))
        places = defaultdict(list)
        for location in StorageLocation.objects.order_by("depot_id", "code"):
            places[location.depot_id].append(location)
        regions = self.ctx.state["regions"]
        by_pk = {region.pk: region for region in regions.values()}
        region_ids = {d.region_id for d in depots}
        villages = defaultdict(list)
        for region in regions.values():
            if region.level == RegionLevel.VILLAGE and region.parent_id in region_ids:
                villages[region.parent_id].append(region)
        units = Units(
            sorted(region_ids | {v.pk for vs in villages.values() for v in vs}),
            people_of={OrganizationKind.STATION, OrganizationKind.BUREAU},
        )
        shelters = defaultdict(list)
        for shelter in Shelter.objects.order_by("pk"):
            region = by_pk.get(shelter.region_id)
            if region is not None:
                township = (
                    region if region.level == RegionLevel.TOWNSHIP else by_pk.get(region.parent_id)
                )
                shelters[township.pk if township else None].append(shelter)
        for depot in depots:
            self.stocks.append(self._stock(depot, places, villages, units, shelters))
        self._minimums()
        for stock in self.stocks:
            self._schedule(stock)
        self._transfers()
        self._below_minimum()
        self._open_shelters(self.ctx.state.get("open_shelters"))

    def _stock(self, depot, places, villages, units: Units, shelters) -> Stock:
        rng = self.rng
        region = depot.region
        county = region.level != RegionLevel.TOWNSHIP
        kinds = list(ITEM_PLAN) if depot.kind == K.COMPREHENSIVE else [depot.kind]
        scale = 3.0 if depot.kind == K.COMPREHENSIVE else 4.0 if county else 1.0
        if depot.kind == K.FOREST_FIRE and not county:
            scale = 1.5 if is_town(region) else 0.4
        targets, lent = {}, set()
        for kind in kinds:
            for code, low, high, comes_back in ITEM_PLAN[kind]:
                item = self.items.get(code)
                if item is None or item.pk in targets:
                    continue
                targets[item.pk] = max(1, round(rng.randint(low, high) * scale))
                if comes_back:
                    lent.add(item.pk)
        actor = depot.keeper.user if depot.keeper and depot.keeper.user_id else None
        if actor is None:
            staff_org = OrganizationKind.BUREAU if county else OrganizationKind.STATION
            org = units.first(staff_org, region)
            actor = (
                next((p.user for p in units.people.get(org.pk, []) if p.user_id), None)
                if org
                else None
            )
        village_list = sorted(villages.get(region.pk, []), key=lambda r: r.code)
        return Stock(
            depot=depot,
            targets=targets,
            lent=lent,
            actor=actor,
            locations=places.get(depot.pk, []),
            township=None if county else region,
            villages=village_list,
            committees=[
                o for v in village_list for o in units.of(OrganizationKind.VILLAGE_COMMITTEE, v)
            ],
            enterprises=[o for v in village_list for o in units.of(OrganizationKind.ENTERPRISE, v)],
            shelters=shelters.get(region.pk, []),
        )

    def _minimums(self) -> None:
        for stock in self.stocks:
            # Sorted: a set of strings iterates in a per-process order, the draws must not.
            for code in sorted(KEY_ITEMS.get(stock.depot.kind, ())):
                item = self.items.get(code)
                if item is None or item.pk not in stock.targets:
                    continue
                raw = stock.targets[item.pk] * self.rng.uniform(0.45, 0.6)
                step = 10 if raw >= 50 else 5 if raw >= 10 else 1
                self.book.minimums[(stock.depot.pk, item.pk)] = StockMinimum(
                    depot=stock.depot, item=item, minimum=max(1, round(raw / step) * step)
                )

    # --- the calendar of one depot ---------------------------------------------------------

    def _schedule(self, stock: Stock) -> None:
        rng, book = self.rng, self.book
        book.at(
            working_time(self.start + timedelta(days=rng.randint(0, 4)), rng), self._opening, stock
        )
        if stock.township is not None:
            for scenario in SCENARIOS:
                if scenario.kind != stock.depot.kind:
                    continue
                chance = scenario.chance
                if scenario.street_chance is not None and not is_town(stock.township):
                    chance = scenario.street_chance
                if rng.random() >= chance:
                    continue
                day = (
                    self.typhoon_day
                    if scenario.start is None
                    else self.on(*scenario.start, scenario.span)
                )
                if day is not None:
                    when = (
                        local_at(day, rng.randint(6, 20), rng.randrange(60))
                        if scenario.start is None
                        else any_time(day, rng)
                    )
                    book.at(when, self._incident, stock, scenario)
        for month, day, span in RESTOCK.get(stock.depot.kind, []):
            restock = self.on(month, day, span)
            if restock is not None:
                book.at(working_time(restock, rng), self._top_up, stock, "季节性补充储备", None)
        for month, day in QUARTER_ENDS:
            end = self.on(month, day)
            if end is not None:
                taken = end - timedelta(days=rng.randint(0, 3))
                book.at(working_time(taken, rng), self._stocktake, stock)
        for _ in range(rng.choice([0, 1, 1, 2])):
            book.at(
                working_time(self.start + timedelta(days=rng.randint(20, 350)), rng),
                self._adjust,
                stock,
            )

    def _opening(self, at, stock: Stock) -> None:
        lines = []
        for item_id, target in stock.targets.items():
            item = self.by_id[item_id]
            parts = [target] if target < 4 or self.rng.random() < 0.5 else _split(target, self.rng)
            for part in parts:
                made = None
                if item.shelf_life_days:
                    age = self.rng.randint(20, max(21, int(item.shelf_life_days * 0.8)))
                    made = self.start - timedelta(days=age)
                lines.append((self._lot(stock, item, at, made), part))
        self.book.receive(
            at,
            stock.depot,
            lines,
            actor=stock.actor,
            supplier="原有库存",
            reason="期初库存录入（系统启用）",
        )

    def _lot(self, stock: Stock, item, at, made: date | None):
        """A new lot in the book, with its rotation planned when it will expire."""
        expiry = (
            made + timedelta(days=item.shelf_life_days) if made and item.shelf_life_days else None
        )
        day = made or timezone.localdate(at)
        lot = self.book.new_lot(
            stock.depot,
            item,
            at,
            lot_no=f"{day:%Y%m%d}{self.rng.randrange(100):02d}",
            production=made,
            expiry=expiry,
            location=self.rng.choice(stock.locations) if stock.locations else None,
        )
        if expiry is not None:
            self._plan_rotation(stock, lot)
        return lot

    def _plan_rotation(self, stock: Stock, lot) -> None:
        rng = self.rng
        if rng.random() < MISSED_ROTATION:
            # Forgotten: the lot runs into its warning period or past its date; some expired
            # lots were scrapped later (with the override), others still wait for it.
            if rng.random() < 0.7:
                scrap_day = lot.expiry_date + timedelta(days=rng.randint(7, 30))
                self.book.at(working_time(scrap_day, rng), self._scrap, stock, lot)
            return
        due = lot.expiry_date - timedelta(days=rng.randint(15, 45))
        self.book.at(working_time(due, rng), self._rotate, stock, lot)

    # --- what happens ----------------------------------------------------------------------

    def _incident(self, at, stock: Stock, scenario: Scenario) -> None:
        rng, book, day = self.rng, self.book, timezone.localdate(at)
        picked = []
        for code, low, high in scenario.lines:
            item = self.items.get(code)
            if item is None or item.pk not in stock.targets:
                continue
            want = max(1, round(stock.targets[item.pk] * rng.uniform(low, high)))
            picked += book.take(stock.depot, item, want, day)
        text = self._text(scenario.ref, stock, day)
        fields = self._purpose(scenario.purpose, stock, text)
        movement = book.issue(at, stock.depot, picked, actor=stock.actor, **fields)
        if movement is None:
            return
        back = [(lot, n) for lot, n in picked if lot.item_id in stock.lent]
        if back:
            returned = at + timedelta(days=rng.randint(1, 4))
            book.at(
                working_time(timezone.localdate(returned), rng),
                self._return,
                stock,
                back,
                movement.number,
            )

    def _purpose(self, purpose: str, stock: Stock, text: str) -> dict:
        rng = self.rng
        if purpose == P.SHELTER and stock.shelters:
            return {"purpose": P.SHELTER, "shelter": rng.choice(stock.shelters), "reason": text}
        if purpose in (P.UNIT, P.SHELTER) and stock.committees:
            return {"purpose": P.UNIT, "recipient": rng.choice(stock.committees), "reason": text}
        if purpose == P.DRILL:
            return {"purpose": P.DRILL, "reason": text}
        return {"purpose": P.INCIDENT, "incident_ref": text[:120]}

    def _text(self, template: str, stock: Stock, day: date) -> str:
        rng = self.rng
        village = rng.choice(stock.villages).name if stock.villages else ""
        enterprise = rng.choice(stock.enterprises).name if stock.enterprises else f"{village}某企业"
        township = stock.township.name if stock.township else stock.depot.region.name
        return template.format(
            md=f"{day.month}月{day.day}日",
            year=day.year,
            village=village,
            enterprise=enterprise,
            township=township,
            typhoon=self.typhoon,
        )

    def _return(self, at, stock: Stock, back, number: str) -> None:
        # Now and then one unit comes back broken or not at all: it stays issued.
        lines = [(lot, n - (1 if n > 2 and self.rng.random() < 0.15 else 0)) for lot, n in back]
        self.book.receive(
            at,
            stock.depot,
            lines,
            actor=stock.actor,
            supplier="使用单位归还",
            reason=f"使用结束归还入库（原出库单 {number}）",
        )

    def _top_up(self, at, stock: Stock, reason: str, item_ids) -> None:
        day = timezone.localdate(at)
        lines = []
        for item_id in item_ids or stock.targets:
            item = self.by_id[item_id]
            need = stock.targets[item_id] - self.book.available(stock.depot, item, day)
            if need < max(1, stock.targets[item_id] * 0.08):
                continue
            made = day - timedelta(days=self.rng.randint(5, 60)) if item.shelf_life_days else None
            lines.append((self._lot(stock, item, at, made), need))
        if lines:
            supplier = self.rng.choice(SUPPLIERS[stock.depot.kind])
            self.book.receive(
                at, stock.depot, lines, actor=stock.actor, supplier=supplier, reason=reason
            )

    def _rotate(self, at, stock: Stock, lot) -> None:
        if lot.quantity > 0:
            item = lot.item
            if item.code in ROTATE_TO_UNITS and stock.committees:
                fields = {
                    "purpose": P.UNIT,
                    "recipient": self.rng.choice(stock.committees),
                    "reason": "临期物资轮换，调配至村（居）委会发放",
                }
            else:
                fields = {"purpose": P.SCRAP, "reason": "临近有效期，报废更新"}
            self.book.issue(at, stock.depot, [(lot, lot.quantity)], actor=stock.actor, **fields)
        later = at + timedelta(days=self.rng.randint(0, 3))
        self.book.at(
            working_time(timezone.localdate(later), self.rng),
            self._top_up,
            stock,
            "轮换补充",
            [lot.item_id],
        )

    def _scrap(self, at, stock: Stock, lot) -> None:
        if lot.quantity > 0:
            self.book.issue(
                at,
                stock.depot,
                [(lot, lot.quantity)],
                actor=stock.actor,
                purpose=P.SCRAP,
                expired=True,
                reason="过期物资报废（已登记销毁）",
            )

    def _stocktake(self, at, stock: Stock) -> None:
        local = timezone.localdate(at)
        quarter = (local.month - 1) // 3 + 1
        self.book.stocktake(
            at, stock.depot, actor=stock.actor, note=f"{local.year}年第{quarter}季度盘点"
        )

    def _adjust(self, at, stock: Stock) -> None:
        lots = [lot for lot in self.book.depot_lots(stock.depot) if lot.quantity >= 5]
        if not lots:
            return
        lot = self.rng.choice(sorted(lots, key=lambda lot: lot.seq))
        if self.rng.random() < 0.25:
            self.book.adjust(
                at,
                lot,
                self.rng.randint(1, 5),
                actor=stock.actor,
                reason="前次入库少登记，按送货单补录",
            )
        else:
            loss = -self.rng.randint(1, max(1, lot.quantity // 20))
            self.book.adjust(
                at, lot, loss, actor=stock.actor, reason=self.rng.choice(ADJUST_REASONS)
            )

    # --- between depots --------------------------------------------------------------------

    def _transfers(self) -> None:
        """The county's depots send stock down before the season; neighbours lend pumps."""
        rng = self.rng
        county = defaultdict(dict)
        township = defaultdict(list)
        for stock in self.stocks:
            if stock.township is None:
                county[stock.depot.region_id][stock.depot.kind] = stock
            else:
                township[(stock.depot.region.parent_id, stock.depot.kind)].append(stock)
        for county_id, depots in county.items():
            plans = [
                (
                    depots.get(K.FLOOD) or depots.get(K.COMPREHENSIVE),
                    K.FLOOD,
                    self.typhoon_day - timedelta(days=2) if self.typhoon_day else None,
                    [("3010101", 0.2), ("2010201", 0.2), ("3010102", 0.2)],
                    f"台风防御物资前置（{self.typhoon}）",
                ),
                (
                    depots.get(K.RELIEF) or depots.get(K.COMPREHENSIVE),
                    K.RELIEF,
                    self.on(10, 25, 15),
                    [("1020101", 0.2), ("1030201", 0.15)],
                    "冬季救灾物资下沉储备",
                ),
                (
                    depots.get(K.FOREST_FIRE) or depots.get(K.COMPREHENSIVE),
                    K.FOREST_FIRE,
                    self.on(3, 5, 15),
                    [("2020201", 0.2), ("2020102", 0.2)],
                    "春季森林防火物资下拨",
                ),
            ]
            for source, kind, day, lines, reason in plans:
                if source is None or day is None:
                    continue
                targets = township[(county_id, kind)]
                if kind != K.RELIEF:
                    targets = [s for s in targets if is_town(s.township)] + rng.sample(
                        [s for s in targets if not is_town(s.township)],
                        min(2, sum(not is_town(s.township) for s in targets)),
                    )
                else:
                    targets = rng.sample(targets, min(4, len(targets)))
                for target in targets:
                    self.book.at(
                        working_time(day, rng), self._transfer, source, target, lines, reason
                    )
        floods = [s for stocks in township.values() for s in stocks if s.depot.kind == K.FLOOD]
        for _ in range(min(3, len(floods) // 2)):
            lender, borrower = rng.sample(floods, 2)
            day = self.on(6, 18, 20)
            if day is not None:
                self.book.at(
                    working_time(day, rng),
                    self._transfer,
                    lender,
                    borrower,
                    [("2030101", 0.25)],
                    "相邻乡镇排涝支援调拨",
                )

    def _transfer(self, at, source: Stock, target: Stock, lines, reason: str) -> None:
        day = timezone.localdate(at)
        picked = []
        for code, share in lines:
            item = self.items.get(code)
            if item is None or item.pk not in target.targets:
                continue
            want = max(1, round(target.targets[item.pk] * share))
            picked += self.book.take(source.depot, item, want, day)
        self.book.transfer(
            at, source.depot, target.depot, picked, actor=source.actor, reason=reason
        )

    # --- the few that end below their minimum, and the shelters open today ------------------

    def _below_minimum(self) -> None:
        rng = self.rng
        pairs = [
            (stock, self.items[code])
            for stock in self.stocks
            if stock.township is not None
            for code in HEAVY_ITEMS
            if code in self.items and (stock.depot.pk, self.items[code].pk) in self.book.minimums
        ]
        for stock, item in rng.sample(pairs, min(len(pairs), max(3, len(pairs) // 12))):
            day = self.today - timedelta(days=rng.randint(3, 25))
            self.book.at(any_time(day, rng), self._heavy, stock, item)

    def _heavy(self, at, stock: Stock, item) -> None:
        day = timezone.localdate(at)
        minimum = self.book.minimums[(stock.depot.pk, item.pk)].minimum
        have = self.book.available(stock.depot, item, day)
        # Enough to go well below the minimum, as a real emergency does.
        want = max(have - int(minimum * rng_share(self.rng)), 0)
        text = self._text(HEAVY_ITEMS[item.code], stock, day)
        self.book.issue(
            at,
            stock.depot,
            self.book.take(stock.depot, item, want, day),
            actor=stock.actor,
            purpose=P.INCIDENT,
            incident_ref=text,
        )

    def _open_shelters(self, opened) -> None:
        """Quilts, beds, water and meals for the shelters open now, from their township's
        relief depot, an hour or two after they opened."""
        if opened is None:
            opened = list(Shelter.objects.filter(opened_at__isnull=False).select_related("region"))
        relief = {s.township.pk: s for s in self.stocks if s.township and s.depot.kind == K.RELIEF}
        for shelter in opened:
            region = shelter.region
            township_id = region.pk if region.level == RegionLevel.TOWNSHIP else region.parent_id
            stock = relief.get(township_id)
            if stock is None or shelter.opened_at is None:
                continue
            when = shelter.opened_at + timedelta(minutes=self.rng.randint(40, 150))
            self.book.at(when, self._supply_shelter, stock, shelter)

    def _supply_shelter(self, at, stock: Stock, shelter) -> None:
        day = timezone.localdate(at)
        people = max(shelter.occupancy, 10)
        wanted = {
            "1020101": people,
            "1030201": people,
            "1010201": -(-people // 4),
            "1010103": -(-people // 6),
        }
        picked = []
        for code, n in wanted.items():
            item = self.items.get(code)
            if item is not None:
                picked += self.book.take(stock.depot, item, n, day)
        self.book.issue(
            at,
            stock.depot,
            picked,
            actor=stock.actor,
            purpose=P.SHELTER,
            shelter=shelter,
            reason="避难场所启用，首批生活物资发放",
        )


def rng_share(rng) -> float:
    """What is left after a late heavy issue, as a share of the minimum."""
    return rng.uniform(0.3, 0.8)


def _split(total: int, rng) -> list[int]:
    first = max(1, round(total * rng.uniform(0.3, 0.7)))
    return [first, total - first] if total - first > 0 else [total]
