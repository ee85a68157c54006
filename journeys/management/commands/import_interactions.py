"""Import interactions (visits, purchases, contacts) from a CSV file: all of it, or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crm.kernel.models import Location
from journeys import importer


class Command(BaseCommand):
    help = "Import interactions from CSV; bad rows are reported by line and nothing is imported from a bad file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--create-customers", action="store_true", help="create customers we do not know yet")
        parser.add_argument("--location", help="location of rows without a location column")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        location = None
        if options["location"]:
            location = Location.objects.filter(name__iexact=options["location"]).first()
            if location is None:
                raise CommandError(f"No location called {options['location']!r}.")
        with path.open("rb") as stream:  # read as a stream: memory stays flat however big the file
            plan = importer.check(
                stream, options={"location": location.pk if location else None, "create": options["create_customers"]}
            )
        for error in plan.file_errors:
            self.stderr.write(error)
        for row in plan.bad_rows:
            self.stderr.write(f"line {row.line}: {'; '.join(row.messages)}")
        if not plan.is_valid:
            raise CommandError(f"Nothing imported: {plan.bad_count} bad row(s).")
        result = importer.commit(plan, user=None)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result['imported']} interactions ({result['already_imported']} already there, "
                f"{result['customers_created']} new customers)."
            )
        )
