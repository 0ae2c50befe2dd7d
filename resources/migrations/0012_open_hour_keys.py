"""Open-hour keys in the search index, in a column of their own (koalways0, ko…, kq…, km…: "open now" on
the index alone), and the triggers on schedules that keep them current. Their definitions live with the other keys in 0007; as 0010
does, this makes every trigger and function of 0007 again and writes every service's keys again. The index
on the schedules' timezones lets "open now" list the timezones in use an index step each."""

from importlib import import_module

from django.db import migrations, models

_MAP_KEYS_0010 = import_module("resources.migrations.0010_search_map_keys")


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0011_translatable_labels"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="schedule",
            index=models.Index(fields=["timezone"], name="schedule_timezone_idx"),
        ),
        # Back to 0011: the open-hour keys and the schedule triggers stay, harmless, as nothing reads them.
        migrations.RunPython(_MAP_KEYS_0010.rebuild_keys, migrations.RunPython.noop),
    ]
