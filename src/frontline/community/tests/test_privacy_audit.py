"""The generic change log keeps no resident's protected data in clear: not what the table
encrypts, and not the name the pages mask."""

from __future__ import annotations

from auditlog.models import LogEntry

from frontline.community.models import Resident
from frontline.community.services.residents import create_resident, update_resident
from frontline.community.testing import make_household

ID_NUMBER = "330603198001010011"


def test_the_change_log_masks_a_residents_name_and_protected_fields(world):
    household = make_household(world.grid)
    resident = create_resident(actor=world.grid_worker, household=household, name="王秀英",
                               id_number=ID_NUMBER, phone="13812345678",
                               categories=["elderly_alone"], health_notes="高血压")  # fmt: skip
    update_resident(actor=world.grid_worker, resident=resident, name="王秀芳")
    entries = LogEntry.objects.get_for_object(Resident.objects.get(pk=resident.pk))
    assert entries.count() == 2
    logged = " ".join(str(entry.changes) for entry in entries)
    for clear in ("王秀英", "王秀芳", ID_NUMBER, "13812345678", "elderly_alone", "高血压"):
        assert clear not in logged, clear
    assert "name" in logged  # that the name changed is kept, not to what
