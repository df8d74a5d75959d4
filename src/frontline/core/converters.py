"""URL converters shared by every app, registered once when the core app is ready."""

from django.urls import register_converter


class ObjectIdConverter:
    """Like <int:…> but no longer than a database id can be, so a 30-digit id in a URL is a
    404 instead of an integer overflow in the database driver."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


def register() -> None:
    register_converter(ObjectIdConverter, "id")
