from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResourcesConfig(AppConfig):
    name = "frontline.resources"
    label = "resources"
    verbose_name = _("应急资源")

    def ready(self) -> None:
        # Importing registers the map layers.
        from frontline.resources import maps  # noqa: F401
