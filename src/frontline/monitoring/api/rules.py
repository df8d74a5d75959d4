"""Alarm rules: the defaults of every device kind and the overrides of the devices in scope.

Reading is open to every signed-in user of the scope. Changing is for station chiefs and
county administrators (默认规则 only county administrators): anyone else gets a 403 with the
reason. An override of a device outside the scope is a 404.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate

from frontline.core.errors import InvalidInput
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId
from frontline.monitoring import queries
from frontline.monitoring.models import Device, Rule
from frontline.monitoring.schemas import OverrideIn, RuleChangeIn, RuleFilter, RuleOut
from frontline.monitoring.services import rule_editing

router = Router(tags=["monitoring"])


def _rule_or_404(request, rule_id: int) -> Rule:
    rule = queries.rules_for(request.user).filter(pk=rule_id).first()
    if rule is None:
        raise Http404
    return rule


@router.get(
    "/rules",
    response=list[RuleOut],
    summary="告警规则（各类设备的默认规则，及管辖范围内设备的专用规则）",
)
@paginate(Pages)
def list_rules(request, filters: Query[RuleFilter]):
    return filters.filter(queries.rules_for(request.user))


@router.get("/rules/{rule_id}", response=RuleOut, summary="告警规则详情")
def rule_detail(request, rule_id: ObjectId):
    return _rule_or_404(request, rule_id)


@router.put(
    "/rules/{rule_id}",
    response=RuleOut,
    summary="修改告警规则（只改提交的字段；站长、区县管理员；默认规则仅区县管理员）",
)
def update_rule(request, rule_id: ObjectId, payload: RuleChangeIn):
    rule = rule_editing.update_rule(
        actor=request.user,
        rule=_rule_or_404(request, rule_id),
        changes=payload.model_dump(exclude_unset=True),
    )
    return _rule_or_404(request, rule.pk)


@router.post(
    "/rules",
    response={201: RuleOut},
    summary="为单台设备设置专用规则（复制该类设备的默认规则后修改）",
)
def create_override(request, payload: OverrideIn):
    device = (
        Device.objects.visible_to(request.user)
        .select_related("region")
        .filter(pk=payload.device_id)
        .first()
    )
    if device is None:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={"device_id": _("不存在或不在您的管辖范围内")}
        )
    changes = payload.model_dump(exclude_unset=True)
    changes.pop("device_id", None)
    alarm_type = changes.pop("alarm_type")
    rule = rule_editing.create_override(
        actor=request.user, device=device, alarm_type=alarm_type, changes=changes
    )
    return Status(201, _rule_or_404(request, rule.pk))


@router.delete(
    "/rules/{rule_id}",
    response={204: None},
    summary="删除设备专用规则（恢复使用默认规则）",
)
def delete_override(request, rule_id: ObjectId):
    rule_editing.delete_override(actor=request.user, rule=_rule_or_404(request, rule_id))
    return Status(204, None)
