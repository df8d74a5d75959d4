"""The seeded GB/T 38565-2020 catalogue: the three classes, 7-digit items under their
small classes, and a seed that adds only what is missing."""

import pytest

from frontline.resources.catalogue_data import CATEGORIES, ITEMS
from frontline.resources.models import SupplyCategory, SupplyItem
from frontline.resources.services.catalogue import item_by_code, seed_catalogue

pytestmark = pytest.mark.django_db


def test_the_migration_seeds_the_three_classes_of_the_standard():
    tops = dict(SupplyCategory.objects.filter(parent=None).values_list("code", "name"))

    assert tops == {
        "1": "基本生活保障物资",
        "2": "应急装备及配套物资",
        "3": "工程材料与机械加工设备",
    }


def test_every_item_has_seven_digits_under_a_small_class_of_its_code():
    seed_catalogue()

    for item in SupplyItem.objects.select_related("category__parent__parent"):
        assert len(item.code) == 7 and item.code.isdigit(), item.code
        small = item.category
        assert small.level == 3 and item.code.startswith(small.code)
        assert small.parent.level == 2 and small.parent.parent.level == 1


def test_the_working_set_holds_what_a_station_keeps():
    seed_catalogue()
    names = set(SupplyItem.objects.values_list("name", flat=True))

    expected = {"单帐篷", "棉被", "折叠床", "救生衣", "潜水泵", "编织袋",
                "手提式干粉灭火器", "正压式空气呼吸器", "柴油发电机组",
                "移动照明灯塔", "方便面", "瓶装饮用水"}  # fmt: skip
    assert expected <= names


def test_seeding_again_adds_nothing_and_keeps_a_countys_edits():
    seed_catalogue()
    tent = item_by_code("1030101")
    tent.name = "单帐篷（12平方米）"
    tent.save()

    added = seed_catalogue()

    assert added == 0
    assert SupplyItem.objects.count() == len(ITEMS)
    assert SupplyCategory.objects.count() == len(CATEGORIES)
    assert item_by_code("1030101").name == "单帐篷（12平方米）"


def test_an_empty_catalogue_is_seeded_whole():
    SupplyItem.objects.all().delete()
    for length in (5, 3, 1):  # children first: a class protects its subclasses
        SupplyCategory.objects.filter(code__regex=rf"^[0-9]{{{length}}}$").delete()

    assert seed_catalogue() == len(CATEGORIES) + len(ITEMS)
    assert item_by_code(" 1010201 ").unit == "箱"
    assert item_by_code("9999999") is None
