"""Map keys for distance on the index: each place with coordinates keys its cell on two grids (kgf, a quarter
degree; kgc, a whole degree), and a service with no such place holds knomap0. A distance search then lists
the services in the cells around its starting point, and those with no place on the map, from the index's
own lists (geo.map_cells, geo.elsewhere_condition) instead of passing it thousands of ids. Their definitions
live with the other keys in 0007; as 0010 does, this makes every trigger and function of 0007 again and
writes every service's keys again."""

from importlib import import_module

from django.db import migrations

_MAP_KEYS_0010 = import_module("resources.migrations.0010_search_map_keys")


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0013_distance_covering_indexes"),
    ]

    # Back to 0013: the extra keys stay, harmless, as nothing reads them.
    operations = [migrations.RunPython(_MAP_KEYS_0010.rebuild_keys, migrations.RunPython.noop)]
