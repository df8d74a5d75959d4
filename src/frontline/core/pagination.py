"""Page-number pagination for every list endpoint: `?page=&page_size=` → `{items, count}`."""

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 500


class Pages(PageNumberPagination):
    """PageNumberPagination with bounds, so an absurd page number is a 422, not a
    database overflow."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE)
