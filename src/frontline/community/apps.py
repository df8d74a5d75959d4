from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    name = "frontline.community"
    label = "community"
    verbose_name = _("社区网格")

    def ready(self) -> None:
        # Importing registers the map layers.
        import frontline.community.maps_calls  # noqa: F401
        from frontline.community import maps_patrols, maps_people, maps_places  # noqa: F401
