import os
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from resources.hsds import export


class Command(BaseCommand):
    help = (
        "Write the published directory as HSDS 3.0: a JSON array of service documents (json), one document "
        "a line (ndjson), or the tabular package (csv: datapackage.json and one CSV per table, into a "
        "folder, or into a .zip file when PATH ends in .zip)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The file to write (json, ndjson), or the folder or .zip file (csv).")
        parser.add_argument("--format", choices=export.FORMATS, default="json", help="Default: json.")

    def handle(self, *args, path, format, **options):
        path = Path(path)
        total = export.public_services().count()
        started = time.monotonic()
        # Shown on a terminal only, so that logs and pipes get just the summary line.
        with tqdm(total=total, unit=" services", file=sys.stderr, disable=None, mininterval=0.5) as bar:
            try:
                if format == "csv":
                    rows = self.write_package(path, bar.update)
                    count, detail = rows["service"], f", {sum(rows.values())} rows in {len(rows)} tables"
                else:
                    count, detail = self.write_json(path, format, bar.update), ""
            except OSError as error:
                raise CommandError(f"Cannot write {path}: {error.strerror or error}.") from None
        seconds = time.monotonic() - started
        self.stdout.write(f"Exported {count} services as {format} to {path}{detail} in {seconds:.1f} s.")

    def write_json(self, path, format, progress):
        if path.is_dir():
            raise CommandError(f"{path} is a folder: give a file name for {format}.")
        # Written beside the target and renamed at the end, so a failed export leaves no half file.
        partial = path.with_name(path.name + ".partial")
        try:
            with open(partial, "w", encoding="utf-8", newline="\n") as stream:
                count = export.export_json(stream, format=format, progress=progress)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return count

    def write_package(self, path, progress):
        if path.exists() and not path.is_dir() and path.suffix.lower() != ".zip":
            raise CommandError(f"{path} is a file: give a folder, or a name ending in .zip, for csv.")
        return export.export_package(path, progress=progress)
