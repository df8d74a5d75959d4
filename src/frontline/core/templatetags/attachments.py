"""`{% load attachments %}{% attachments_panel obj %}`: the attachments of any regional object,
with upload and delete, on any detail page."""

from django import template

from frontline.core.views.attachments import PANEL_TEMPLATE, panel_context

register = template.Library()


@register.inclusion_tag(PANEL_TEMPLATE, takes_context=True)
def attachments_panel(context, obj):
    request = context["request"]
    panel = panel_context(request.user, obj, next_url=request.get_full_path())
    panel["request"] = request
    panel["csrf_token"] = context.get("csrf_token")
    return panel
