"""SQLite: resources_searchheading, the search index without the descriptions (0007's HEADING_COLUMNS), where
the first tier of a large result is found and ranked (search._SqliteIndex.tiered), and triggers that keep it
a copy of the index. Its definition lives with the other keys in 0007; as 0010 does, this makes the index,
its triggers and the new table again. PostgreSQL weighs its columns within one index, and is left as it is."""

from importlib import import_module

from django.db import migrations

_MAP_KEYS_0010 = import_module("resources.migrations.0010_search_map_keys")


def add_heading(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _MAP_KEYS_0010.rebuild_keys(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0015_search_hidden_key"),
    ]

    # Back to 0015: the table and the triggers that fill it stay, harmless, as nothing reads it.
    operations = [migrations.RunPython(add_heading, migrations.RunPython.noop)]
