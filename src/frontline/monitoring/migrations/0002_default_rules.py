from django.db import migrations


def add_default_rules(apps, schema_editor):
    from frontline.monitoring.default_rules import DEFAULT_RULES

    Rule = apps.get_model("monitoring", "Rule")
    Rule.objects.bulk_create(Rule(**fields) for fields in DEFAULT_RULES)


def remove_default_rules(apps, schema_editor):
    apps.get_model("monitoring", "Rule").objects.filter(device__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]

    operations = [migrations.RunPython(add_default_rules, remove_default_rules)]
