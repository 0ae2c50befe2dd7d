"""knopub0, the key of every service the public may not see (kpub0's complement): a search with words or other
keys to match then leaves those few out (FTS5's NOT, reading their short list) instead of matching kpub0,
whose list holds nearly every service and took 4-6 ms to read in every statement on SQLite at 100,000
services. The definition lives with the other keys in 0007; as 0010 does, this makes every trigger and
function of 0007 again and writes every service's keys again."""

from importlib import import_module

from django.db import migrations

_MAP_KEYS_0010 = import_module("resources.migrations.0010_search_map_keys")


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0014_search_map_cells"),
    ]

    # Back to 0014: the extra key stays, harmless, as nothing reads it.
    operations = [migrations.RunPython(_MAP_KEYS_0010.rebuild_keys, migrations.RunPython.noop)]
