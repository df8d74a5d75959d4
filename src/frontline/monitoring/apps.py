from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "frontline.monitoring"
    label = "monitoring"
    verbose_name = _("监测预警")

    def ready(self) -> None:
        from frontline.monitoring import maps  # noqa: F401  (registers the map layer)
