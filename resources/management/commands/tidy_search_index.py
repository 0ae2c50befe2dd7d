import time

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from resources import search


class Command(BaseCommand):
    help = (
        "Merge each of SQLite's full-text search tables into one segment (FTS5's 'merge', in short steps that "
        "other writes can come between), so that searches read one list per word instead of one per segment. "
        "Worth running now and then on a directory edited every day; an import of many records does it at its "
        "end. Nothing to do on PostgreSQL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Default: the default database.")

    def handle(self, *args, database, **options):
        started = time.monotonic()
        if search.tidy_index(database):
            self.stdout.write(f"Tidied the search index in {time.monotonic() - started:.1f} s.")
        else:
            self.stdout.write("Nothing to tidy: PostgreSQL keeps its search index itself.")
