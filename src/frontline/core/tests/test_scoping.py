import pytest
from django.contrib.auth.models import AnonymousUser

from frontline.core.models import Organization, Person, Region
from frontline.core.scoping import subtree_range
from frontline.core.testing import (
    assert_api_matrix,
    assert_queryset_matrix,
    make_organization,
    make_person,
)


def test_subtree_range_covers_descendants_only():
    low, high = subtree_range("330603/")
    assert low <= "330603/330603001/" < high
    assert not (low <= "3306031/" < high)
    assert not (low <= "330604/" < high)


def test_region_matrix(world):
    assert_queryset_matrix(Region.objects, world.village, world)
    assert_api_matrix(world, f"/api/v1/regions/{world.village.code}")


def test_organization_matrix(world):
    organization = make_organization(world.village)
    assert_queryset_matrix(Organization.objects, organization, world)
    assert_api_matrix(world, f"/api/v1/organizations/{organization.pk}")


def test_person_matrix(world):
    person = make_person(world.village, mobile="13812345678")
    assert_queryset_matrix(Person.objects, person, world)
    assert_api_matrix(world, f"/api/v1/people/{person.pk}")


def test_grid_worker_sees_only_the_grid(world):
    visible = set(Region.objects.visible_to(world.grid_worker).values_list("code", flat=True))
    assert visible == {world.grid.code}


def test_anonymous_sees_nothing(world):
    assert not Region.objects.visible_to(AnonymousUser()).exists()


@pytest.mark.django_db
def test_superuser_sees_everything(world, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x" * 12)
    assert Region.objects.visible_to(root).count() == Region.objects.count()
