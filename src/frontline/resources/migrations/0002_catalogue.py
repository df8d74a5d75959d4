"""Seed the GB/T 38565-2020 classes and the working set of items."""

from django.db import migrations


def seed(apps, schema_editor):
    from frontline.resources.catalogue_data import seed_catalogue

    seed_catalogue(
        apps.get_model("resources", "SupplyCategory"), apps.get_model("resources", "SupplyItem")
    )


class Migration(migrations.Migration):
    dependencies = [("resources", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
