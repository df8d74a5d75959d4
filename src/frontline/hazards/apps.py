from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HazardsConfig(AppConfig):
    name = "frontline.hazards"
    label = "hazards"
    verbose_name = _("安全监管")

    def ready(self) -> None:
        from frontline.hazards import maps  # noqa: F401  (registers the map layers)
