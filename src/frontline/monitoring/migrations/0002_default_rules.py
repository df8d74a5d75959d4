from django.db import migrations


def add_default_rules(apps, schema_editor):
    from frontline.monitoring.default_rules import ensure_default_rules

    ensure_default_rules(apps.get_model("monitoring", "Rule"))


def remove_default_rules(apps, schema_editor):
    apps.get_model("monitoring", "Rule").objects.filter(device__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]

    operations = [migrations.RunPython(add_default_rules, remove_default_rules)]
