from django.core.management.base import BaseCommand, CommandError

from resources.demo import DemoDataError, load_demo_data


class Command(BaseCommand):
    help = "Load the demo listings and vocabularies, or bring them back in line with the files. Safe to repeat."

    def handle(self, *args, **options):
        try:
            summary = load_demo_data()
        except DemoDataError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Demo data: {summary}.")
