"""Two people issue the last unit of a lot at the same moment: exactly one succeeds.

The threads commit for real, each on its own connection. On PostgreSQL the loser's
conditional UPDATE waits for the winner's row lock, then finds `quantity >= 1` false. On
SQLite the loser's BEGIN IMMEDIATE waits for the winner's commit, then finds the lot empty.
The SQLite test database is in memory and shared-cache, where a second writer gets "table
is locked" at once instead of waiting, which is not how the platform runs: the test moves
to a copy of the database in a file for its duration.
"""

import sqlite3
import threading

import pytest
from django.db import connection, connections

from frontline.resources.models import LedgerEntry, MovementKind, StockLot, StockMovement
from frontline.resources.services import stock
from frontline.resources.testing import make_depot, make_item
from frontline.resources.tests.test_stock_api import put_in


@pytest.fixture
def file_database(transactional_db, tmp_path):
    """On SQLite in memory: the same data in a WAL file, for the test's duration."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    path = tmp_path / "ledger.sqlite3"
    memory = connection.connection  # keeps the in-memory database alive meanwhile
    target = sqlite3.connect(path)
    memory.backup(target)
    target.close()
    settings = connection.settings_dict
    name = settings["NAME"]
    connection.connection = None  # detached, not closed
    settings["NAME"] = str(path)
    try:
        yield
    finally:
        connection.close()
        settings["NAME"] = name
        connection.connection = memory


def _race(workers: int, work) -> list:
    """Run `work()` on `workers` threads released at the same instant; return what each
    returned or raised."""
    barrier = threading.Barrier(workers)
    results: list = [None] * workers

    def run(slot: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[slot] = work()
        except Exception as exc:  # the test inspects it
            results[slot] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_issues_of_the_last_unit_exactly_one_wins(world, file_database):
    depot = make_depot(world.township)
    item = make_item("1999501", "救生衣")
    lot = put_in(depot, item, 1, "LAST")
    user_id = world.same.pk

    def issue_last_unit():
        from django.contrib.auth import get_user_model

        actor = get_user_model().objects.get(pk=user_id)
        return stock.issue_stock(
            actor=actor,
            depot=depot.__class__.objects.get(pk=depot.pk),
            purpose="incident",
            incident_ref="SJ-抢险",
            lines=[stock.Take(quantity=1, lot=StockLot.objects.get(pk=lot.pk))],
        )

    results = _race(2, issue_last_unit)

    won = [r for r in results if isinstance(r, StockMovement)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1, results
    assert len(lost) == 1 and isinstance(lost[0], stock.OutOfStock), results
    assert StockLot.objects.get(pk=lot.pk).quantity == 0
    issues = StockMovement.objects.filter(kind=MovementKind.ISSUE)
    assert list(issues.values_list("pk", flat=True)) == [won[0].pk]
    assert LedgerEntry.objects.filter(movement__kind=MovementKind.ISSUE).count() == 1
    assert stock.rederive_stock().mismatches == []


@pytest.mark.django_db(transaction=True)
def test_many_issues_by_item_never_take_more_than_there_is(world, file_database):
    depot = make_depot(world.township)
    item = make_item("1999502", "编织袋")
    put_in(depot, item, 5, "A")
    put_in(depot, item, 5, "B")

    def issue_three():
        return stock.issue_stock(
            actor=None,
            depot=depot.__class__.objects.get(pk=depot.pk),
            purpose="drill",
            lines=[stock.Take(quantity=3, item=item.__class__.objects.get(pk=item.pk))],
        )

    results = _race(4, issue_three)

    won = [r for r in results if isinstance(r, StockMovement)]
    assert len(won) == 3, results  # 3 × 3 of 10; the fourth finds 1 left
    assert all(isinstance(r, stock.OutOfStock) for r in results if r not in won), results
    assert sum(StockLot.objects.values_list("quantity", flat=True)) == 1
    assert stock.rederive_stock().mismatches == []
