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


class IdsFirst:
    """A queryset paged in two steps: the page's ids, then those rows with their relations.

    For long lists ordered by an index: the first step reads the index alone, however deep
    the page, and the joins of `select_related` run for the page's rows only, not for every
    row the OFFSET skips. Django's Paginator and `Pages` take it in place of the queryset.
    """

    ordered = True

    def __init__(self, queryset):
        self.queryset = queryset

    def all(self):
        return self

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window):
        if not isinstance(window, slice):
            raise TypeError("IdsFirst is read a page (a slice) at a time")
        ids = list(self.queryset.values_list("pk", flat=True)[window])
        # The same queryset narrowed to the ids keeps its filters, joins and prefetches.
        by_id = {row.pk: row for row in self.queryset.order_by().filter(pk__in=ids)}
        return [by_id[pk] for pk in ids if pk in by_id]
