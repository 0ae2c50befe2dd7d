import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from resources.hsds.importer import ImportFileError, import_path

# Exit statuses, as the help says.
SOME_INVALID = 1
NOTHING_READ = 2


class Command(BaseCommand):
    help = (
        "Import HSDS 3.0 data: a JSON file (one service or organization document, a list of them, an API Page, "
        "or ndjson with one document per line) or a tabular package (a folder or .zip holding datapackage.json "
        "and the HSDS CSV files). Records are created or updated by their HSDS id, so importing the same file "
        "again changes nothing. Each record is imported whole or not at all; invalid records are listed with "
        "the JSON path of each fault. Imported services wait for review unless --publish is given. "
        f"Exit status: 0 when every record was imported; {SOME_INVALID} when some records were invalid (the "
        f"valid ones are imported all the same); {NOTHING_READ} when the file is missing, unreadable or not HSDS "
        "(nothing is imported)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="An HSDS JSON or ndjson file, or a tabular package (folder or .zip).")
        parser.add_argument(
            "--publish", action="store_true", help="Publish the imported services instead of queueing them."
        )
        parser.add_argument(
            "--by",
            metavar="USERNAME",
            help="The user the listings' change history names as the author (beside the file's name).",
        )

    def handle(self, *args, path, publish, by=None, **options):
        if by is not None:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(f"No user {by!r}: --by takes the username of an existing user.")
            by = user
        # The bar shows itself only on a terminal, and only when the import takes more than a second.
        with tqdm(unit=" records", file=sys.stderr, delay=1, disable=None, dynamic_ncols=True) as bar:
            try:
                report = import_path(path, publish=publish, progress=bar, by=by)
            except ImportFileError as error:
                raise CommandError(str(error), returncode=NOTHING_READ) from None
        self.stdout.write(f"HSDS import of {path}: {report.summary}.")
        for warning in report.warnings:
            self.stdout.write(f"  left out: {warning}")
        for record in report.invalid:
            self.stdout.write(f"  invalid: {record.label} {record.id}")
            for fault in record.faults:
                self.stdout.write(f"    {fault}")
        if report.invalid:
            raise CommandError(
                f"{len(report.invalid)} invalid record(s) were not imported; the rest were.", returncode=SOME_INVALID
            )
