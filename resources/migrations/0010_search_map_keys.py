"""Two more keys in the search index, for distance on the index alone: kmap0 (a place to visit with
coordinates) and karea0 (any service area). Their definitions live with the others in 0007; this makes a
database migrated with 0007 before they were added the same as a new one: every trigger and function of
0007 again (the location triggers now also watch coordinates), and every service's keys written again."""

from importlib import import_module

from django.db import migrations

_KEYS_0007 = import_module("resources.migrations.0007_search_keys")


def rebuild_keys(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        # The index table itself is made again, with its triggers, from the services.
        statements = [*_KEYS_0007._sqlite_drop(), *_KEYS_0007._sqlite_sql()]
    elif vendor == "postgresql":
        # The columns and their index stay (0007 adds them first); its functions and triggers are made again.
        create = _KEYS_0007._postgresql_sql()
        assert create[0].startswith("ALTER TABLE") and create[2].startswith("CREATE INDEX")
        statements = [*_KEYS_0007._postgresql_drop(), *create[3:]]
    else:
        raise NotImplementedError(f"Full-text search supports SQLite and PostgreSQL, not {vendor}.")
    for statement in statements:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0009_translations"),
    ]

    # Back to 0007: the two extra keys are harmless there, and nothing reads them.
    operations = [migrations.RunPython(rebuild_keys, migrations.RunPython.noop)]
