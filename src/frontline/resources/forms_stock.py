"""Forms of the depot and stock pages. They parse and offer only what the user may choose;
`save()` calls a service (`services/depots.py`, `services/stock.py`) and turns its
`InvalidInput.details` into errors on the fields, a line's errors onto that line."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontline.core.errors import DomainError
from frontline.core.forms import RegionChoiceField, ServiceForm, regions_with
from frontline.core.models import Organization, Person
from frontline.core.roles import Capability, can
from frontline.resources.models import (
    Depot,
    DepotKind,
    DepotStatus,
    IssuePurpose,
    Shelter,
    StockLot,
    StorageLocation,
    SupplyItem,
)
from frontline.resources.services import depots as depot_services
from frontline.resources.services import stock

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
EXTRA_LINES = 3
MAX_FORM_LINES = 60


# --- pickers ---------------------------------------------------------------------------------


class ItemField(forms.CharField):
    """An item typed by its GB/T 38565 code, "code name" as the suggestion list offers it,
    or its exact name."""

    widget = forms.TextInput(attrs={"list": "supply-items", "autocomplete": "off"})

    def __init__(self, **kwargs):
        kwargs.setdefault("label", gettext_lazy("物资（编码或名称）"))
        kwargs.setdefault("max_length", 80)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        first = text.split()[0]
        if first.isdigit():
            item = SupplyItem.objects.filter(code=first).first()
            if item is None:
                raise forms.ValidationError(_("物资编码不存在"))
            return item
        named = list(SupplyItem.objects.filter(name=text)[:2])
        if not named:
            raise forms.ValidationError(_("找不到该物资，请从列表中选择或填写编码"))
        if len(named) > 1:
            raise forms.ValidationError(_("有多个同名物资，请填写物资编码"))
        return named[0]


def lot_label(lot: StockLot) -> str:
    parts = [lot.item.code, lot.item.name, lot.lot_no or _("无批号")]
    if lot.expiry_date:
        parts.append(_("有效期至 %(day)s") % {"day": lot.expiry_date})
    if lot.location_id:
        parts.append(lot.location.code)
    parts.append(_("结存 %(n)s %(unit)s") % {"n": lot.quantity, "unit": lot.item.unit})
    return " · ".join(parts)


class LotChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, lot: StockLot) -> str:
        return lot_label(lot)


def lots_of(depot: Depot, *, in_stock: bool = True, extra=None):
    lots = StockLot.objects.filter(depot=depot)
    if in_stock:
        lots = lots.filter(quantity__gt=0)
    if extra is not None:
        lots = lots | StockLot.objects.filter(depot=depot, pk=extra)
    return lots.select_related("item", "location").order_by("item__code", "expiry_date", "pk")


def _moment_field():
    return forms.DateTimeField(
        label=gettext_lazy("业务时间"),
        required=False,
        widget=MOMENT,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text=gettext_lazy("留空为现在；补录以前的单据时填写"),
    )


class _Errors:
    """Service errors onto the form: a detail that is not a message (a lot id, the quantity
    asked for) means the exception's own message belongs on that field."""

    def add_service_errors(self, exc: DomainError) -> None:
        placed = False
        for key, value in exc.details.items():
            if key in self.fields:
                self.add_error(key, str(value if isinstance(value, str) else exc.message))
                placed = True
        if not placed:
            self.add_error(None, str(exc.message))


# --- depots ----------------------------------------------------------------------------------


class DepotForm(_Errors, ServiceForm):
    name = forms.CharField(label=gettext_lazy("名称"), max_length=120)
    kind = forms.ChoiceField(
        label=gettext_lazy("类型"), choices=[("", gettext_lazy("请选择")), *DepotKind.choices]
    )
    region = RegionChoiceField(label=gettext_lazy("所属区划"))
    address = forms.CharField(label=gettext_lazy("地址"), max_length=200, required=False)
    lon = forms.FloatField(label=gettext_lazy("经度"), min_value=-180, max_value=180)
    lat = forms.FloatField(label=gettext_lazy("纬度"), min_value=-90, max_value=90)
    keeper = forms.ModelChoiceField(
        label=gettext_lazy("保管人"), queryset=Person.objects.none(), required=False
    )
    area_m2 = forms.FloatField(label=gettext_lazy("面积（平方米）"), required=False, min_value=0)
    capacity_m3 = forms.FloatField(
        label=gettext_lazy("库容（立方米）"), required=False, min_value=0
    )
    status = forms.ChoiceField(
        label=gettext_lazy("状态"), choices=DepotStatus.choices, initial=DepotStatus.IN_USE
    )
    notes = forms.CharField(
        label=gettext_lazy("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    EDITABLE = ("name", "kind", "address", "lon", "lat", "area_m2", "capacity_m3", "status")

    def __init__(self, *args, user, instance: Depot | None = None, **kwargs):
        if instance is not None:
            initial = {name: getattr(instance, name) for name in self.EDITABLE}
            initial |= {
                "notes": instance.notes,
                "region": instance.region.code,
                "keeper": instance.keeper_id,
            }
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.user, self.instance = user, instance
        self.fields["region"].queryset = (
            regions_with(user, Capability.MANAGE_RESOURCES)
            .filter(level__in=depot_services.DEPOT_LEVELS)
            .order_by("path")
        )
        self.fields["keeper"].queryset = (
            Person.objects.visible_to(user)
            .select_related("region")
            .order_by("region__code", "name")
        )
        self.fields["keeper"].label_from_instance = lambda p: f"{p.name}（{p.region.name}）"

    def run_service(self) -> Depot:
        data = dict(self.cleaned_data)
        if self.instance is None:
            return depot_services.create_depot(actor=self.user, **data)
        changes = {name: data[name] for name in self.changed_data if name in data}
        return depot_services.update_depot(actor=self.user, depot=self.instance, **changes)


class LocationForm(_Errors, ServiceForm):
    code = forms.CharField(label=gettext_lazy("库位编号"), max_length=32)
    name = forms.CharField(label=gettext_lazy("说明"), max_length=60, required=False)

    def __init__(self, *args, user, depot: Depot, instance: StorageLocation | None = None, **kw):
        if instance is not None:
            kw.setdefault("initial", {"code": instance.code, "name": instance.name})
        super().__init__(*args, **kw)
        self.user, self.depot, self.instance = user, depot, instance

    def run_service(self) -> StorageLocation:
        if self.instance is None:
            return depot_services.add_location(
                actor=self.user, depot=self.depot, **self.cleaned_data
            )
        return depot_services.update_location(
            actor=self.user, location=self.instance, **self.cleaned_data
        )


class MinimumForm(_Errors, ServiceForm):
    item = ItemField()
    minimum = forms.IntegerField(label=gettext_lazy("最低储备量"), min_value=1)

    def __init__(self, *args, user, depot: Depot, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.depot = user, depot

    def run_service(self):
        return depot_services.set_minimum(actor=self.user, depot=self.depot, **self.cleaned_data)


# --- movements -------------------------------------------------------------------------------


class ReceiveLine(forms.Form):
    item = ItemField(required=False)
    quantity = forms.IntegerField(label=gettext_lazy("数量"), required=False, min_value=1)
    lot_no = forms.CharField(label=gettext_lazy("批号"), max_length=40, required=False)
    production_date = forms.DateField(label=gettext_lazy("生产日期"), required=False, widget=DATE)
    expiry_date = forms.DateField(
        label=gettext_lazy("有效期至"),
        required=False,
        widget=DATE,
        help_text=gettext_lazy("留空则按生产日期和保质期推算"),
    )
    location = forms.TypedChoiceField(
        label=gettext_lazy("库位"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, options: list[StorageLocation], **kwargs):
        super().__init__(*args, **kwargs)
        self.options = {location.pk: location for location in options}
        self.fields["location"].choices = [("", "—")] + [
            (location.pk, f"{location.code} {location.name}".strip()) for location in options
        ]

    def clean_location(self):
        return self.options.get(self.cleaned_data.get("location"))

    def clean(self):
        data = super().clean()
        if data.get("item") and not data.get("quantity") and "quantity" not in self.errors:
            self.add_error("quantity", _("请填写数量"))
        if data.get("quantity") and not data.get("item") and "item" not in self.errors:
            self.add_error("item", _("请填写物资"))
        return data

    @property
    def filled(self) -> bool:
        return bool(self.cleaned_data.get("item"))


class TakeLine(forms.Form):
    item = ItemField(required=False, help_text=gettext_lazy("按有效期先到先出"))
    lot = forms.TypedChoiceField(
        label=gettext_lazy("或指定批次"), coerce=int, required=False, empty_value=None
    )
    quantity = forms.IntegerField(label=gettext_lazy("数量"), required=False, min_value=1)

    def __init__(self, *args, options: list[StockLot], **kwargs):
        super().__init__(*args, **kwargs)
        self.options = {lot.pk: lot for lot in options}
        self.fields["lot"].choices = [("", "—")] + [(lot.pk, lot_label(lot)) for lot in options]

    def clean_lot(self):
        return self.options.get(self.cleaned_data.get("lot"))

    def clean(self):
        data = super().clean()
        named = data.get("item") or data.get("lot")
        if named and not data.get("quantity") and "quantity" not in self.errors:
            self.add_error("quantity", _("请填写数量"))
        if data.get("quantity") and not named and not {"item", "lot"} & set(self.errors):
            self.add_error("item", _("请填写物资或选择批次"))
        return data

    @property
    def filled(self) -> bool:
        return bool(self.cleaned_data.get("item") or self.cleaned_data.get("lot"))


class LinesForm(ServiceForm):
    """A movement form with its lines (a formset under the prefix "lines")."""

    line_form: type[forms.Form] = ReceiveLine

    def __init__(self, *args, user, depot: Depot, lines: int = EXTRA_LINES, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.depot = user, depot
        extra = max(1, min(lines, MAX_FORM_LINES))
        formset = forms.formset_factory(
            self.line_form, extra=extra, max_num=MAX_FORM_LINES, absolute_max=MAX_FORM_LINES
        )
        self.lines = formset(
            self.data if self.is_bound else None,
            prefix="lines",
            form_kwargs={"options": self.line_options()},
        )
        self._used: list[forms.Form] = []

    def line_options(self) -> list:
        """What every line chooses from, read once for all lines: the depot's places."""
        return list(StorageLocation.objects.filter(depot=self.depot).order_by("code"))

    def is_valid(self) -> bool:
        valid = super().is_valid()
        return self.lines.is_valid() and valid

    def used_lines(self) -> list[forms.Form]:
        """The filled lines, in order: the service's line N is `used_lines()[N]`."""
        self._used = [line for line in self.lines.forms if line.filled]
        if not self._used:
            self.add_error(None, _("至少填写一行物资"))
            raise _NoLines
        return self._used

    def save(self):
        try:
            return super().save()
        except _NoLines:
            return None

    def add_service_errors(self, exc: DomainError) -> None:
        """`lines.N.field` lands on line N; a detail that is not a message (the lot id, the
        quantity asked for) means the exception's own message belongs there."""
        placed = False
        for key, value in exc.details.items():
            message = value if isinstance(value, str) else exc.message
            parts = str(key).split(".")
            if parts[0] in ("lines", "counts") and len(parts) == 3 and parts[1].isdigit():
                index = int(parts[1])
                if index < len(self._used):
                    line = self._used[index]
                    line.add_error(parts[2] if parts[2] in line.fields else None, str(message))
                    placed = True
                    continue
            if key in self.fields:
                self.add_error(key, str(message))
                placed = True
        if not placed:
            self.add_error(None, str(exc.message))

    def line_errors(self) -> bool:
        return any(line.errors for line in self.lines.forms)


class _NoLines(Exception):
    pass


class ReceiveForm(LinesForm):
    line_form = ReceiveLine
    supplier = forms.CharField(label=gettext_lazy("来源/供应单位"), max_length=120, required=False)
    reason = forms.CharField(label=gettext_lazy("说明"), max_length=200, required=False)
    at = _moment_field()

    def run_service(self):
        lines = [
            stock.Receipt(
                item=line.cleaned_data["item"],
                quantity=line.cleaned_data["quantity"],
                lot_no=line.cleaned_data["lot_no"].strip(),
                production_date=line.cleaned_data["production_date"],
                expiry_date=line.cleaned_data["expiry_date"],
                location=line.cleaned_data["location"],
            )
            for line in self.used_lines()
        ]
        data = self.cleaned_data
        return stock.receive_stock(
            actor=self.user,
            depot=self.depot,
            lines=lines,
            supplier=data["supplier"],
            reason=data["reason"],
            at=data["at"],
        )


class _TakeForm(LinesForm):
    line_form = TakeLine

    def line_options(self) -> list:
        return list(lots_of(self.depot))

    def takes(self) -> list:
        return [
            stock.Take(
                quantity=line.cleaned_data["quantity"],
                lot=line.cleaned_data["lot"],
                item=None if line.cleaned_data["lot"] else line.cleaned_data["item"],
            )
            for line in self.used_lines()
        ]


class IssueForm(_TakeForm):
    purpose = forms.ChoiceField(
        label=gettext_lazy("出库用途"),
        choices=[("", gettext_lazy("请选择")), *IssuePurpose.choices],
    )
    incident_ref = forms.CharField(
        label=gettext_lazy("事件编号/名称"),
        max_length=120,
        required=False,
        help_text=gettext_lazy("用于突发事件处置时必填"),
    )
    recipient = forms.ModelChoiceField(
        label=gettext_lazy("领用单位"), queryset=Organization.objects.none(), required=False
    )
    shelter = forms.ModelChoiceField(
        label=gettext_lazy("避难场所"), queryset=Shelter.objects.none(), required=False
    )
    reason = forms.CharField(label=gettext_lazy("事由"), max_length=200, required=False)
    expired_override = forms.BooleanField(
        label=gettext_lazy("允许发出过期物资（报废、演练等，须说明事由）"), required=False
    )
    at = _moment_field()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["recipient"].queryset = (
            Organization.objects.visible_to(user).select_related("region").order_by("name")
        )
        self.fields["shelter"].queryset = Shelter.objects.visible_to(user).order_by("name")

    def run_service(self):
        lines = self.takes()
        data = self.cleaned_data
        return stock.issue_stock(
            actor=self.user,
            depot=self.depot,
            lines=lines,
            purpose=data["purpose"],
            incident_ref=data["incident_ref"],
            recipient=data["recipient"],
            shelter=data["shelter"],
            reason=data["reason"],
            expired_override=data["expired_override"],
            at=data["at"],
        )


def transfer_targets(user, depot: Depot):
    """Depots in scope the user manages and that can receive, this one excepted."""
    depots = (
        Depot.objects.visible_to(user)
        .filter(status=DepotStatus.IN_USE)
        .exclude(pk=depot.pk)
        .select_related("region")
        .order_by("region__code", "kind", "name")
    )
    return [d for d in depots if can(user, Capability.MANAGE_RESOURCES, d.region)]


class TransferForm(_TakeForm):
    to_depot = forms.TypedChoiceField(label=gettext_lazy("调入库"), coerce=int, choices=())
    reason = forms.CharField(label=gettext_lazy("事由"), max_length=200, required=False)
    expired_override = forms.BooleanField(
        label=gettext_lazy("允许调出过期物资（须说明事由）"), required=False
    )
    at = _moment_field()

    def __init__(self, *args, user, depot: Depot, **kwargs):
        super().__init__(*args, user=user, depot=depot, **kwargs)
        self.targets = {d.pk: d for d in transfer_targets(user, depot)}
        self.fields["to_depot"].choices = [("", _("请选择"))] + [
            (pk, f"{d.name}（{d.region.name}）") for pk, d in self.targets.items()
        ]

    def run_service(self):
        lines = self.takes()
        data = self.cleaned_data
        return stock.transfer_stock(
            actor=self.user,
            depot=self.depot,
            to_depot=self.targets[data["to_depot"]],
            lines=lines,
            reason=data["reason"],
            expired_override=data["expired_override"],
            at=data["at"],
        )


class AdjustForm(_Errors, ServiceForm):
    lot = LotChoiceField(label=gettext_lazy("批次"), queryset=StockLot.objects.none())
    delta = forms.IntegerField(
        label=gettext_lazy("调整数量"), help_text=gettext_lazy("增加填正数，减少填负数")
    )
    reason = forms.CharField(
        label=gettext_lazy("事由"),
        max_length=200,
        help_text=gettext_lazy("如：受潮损坏、记账差错"),
    )
    at = _moment_field()

    def __init__(self, *args, user, depot: Depot, lot_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.depot = user, depot
        self.fields["lot"].queryset = lots_of(depot, extra=lot_id)
        if lot_id is not None and not self.is_bound:
            self.initial.setdefault("lot", lot_id)

    def run_service(self):
        data = self.cleaned_data
        return stock.adjust_stock(
            actor=self.user,
            lot=data["lot"],
            delta=data["delta"],
            reason=data["reason"],
            at=data["at"],
        )


class StocktakeForm(ServiceForm):
    """The stocktake sheet: one counted field per lot in stock (book quantity beside it);
    a lot left empty was not counted."""

    note = forms.CharField(label=gettext_lazy("说明"), max_length=200, required=False)
    at = _moment_field()

    def __init__(self, *args, user, depot: Depot, lots: list[StockLot], **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.depot, self.lots = user, depot, lots
        for lot in lots:
            self.fields[f"count_{lot.pk}"] = forms.IntegerField(
                label=str(lot), required=False, min_value=0, max_value=stock.MAX_QUANTITY
            )
        self._counted: list[StockLot] = []

    def rows(self):
        return [(lot, self[f"count_{lot.pk}"]) for lot in self.lots]

    def run_service(self):
        counts, self._counted = [], []
        for lot in self.lots:
            value = self.cleaned_data.get(f"count_{lot.pk}")
            if value is not None:
                counts.append(stock.Count(lot=lot, counted=value))
                self._counted.append(lot)
        if not counts:
            self.add_error(None, _("请至少填写一个批次的实盘数量"))
            return None
        return stock.record_stocktake(
            actor=self.user,
            depot=self.depot,
            counts=counts,
            note=self.cleaned_data["note"],
            at=self.cleaned_data["at"],
        )

    def add_service_errors(self, exc: DomainError) -> None:
        placed = False
        for key, value in exc.details.items():
            parts = str(key).split(".")
            if parts[0] == "counts" and len(parts) == 3 and parts[1].isdigit():
                index = int(parts[1])
                if index < len(self._counted):
                    message = value if isinstance(value, str) else exc.message
                    self.add_error(f"count_{self._counted[index].pk}", str(message))
                    placed = True
            elif key in self.fields:
                self.add_error(key, str(value if isinstance(value, str) else exc.message))
                placed = True
        if not placed:
            self.add_error(None, str(exc.message))


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Excel 文件（XLSX）"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
