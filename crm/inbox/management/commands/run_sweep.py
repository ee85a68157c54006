"""Run one reminder sweep now, synchronously: for cron users and for debugging."""

from django.core.management.base import BaseCommand

from crm.inbox import digests, reminders


class Command(BaseCommand):
    help = "Raise everything due now (follow-ups, dates, anniversaries, keep in touch); --digests also emails."

    def add_arguments(self, parser):
        parser.add_argument("--digests", action="store_true", help="also send the start-of-shift emails due now")

    def handle(self, *args, **options):
        run = reminders.sweep()
        for key, value in sorted(run.raised.items()):
            self.stdout.write(f"{key:>24}: {value}")
        self.stdout.write(self.style.SUCCESS(f"Sweep finished in {run.seconds:.2f} s."))
        if options["digests"]:
            results = []
            for digest_id in digests.digests_due():
                try:
                    results.append(digests.digest_send(digest_id=digest_id))
                except digests.SEND_ERRORS as error:
                    results.append("failed")
                    self.stderr.write(f"digest {digest_id} failed: {error}")
            self.stdout.write(
                f"Digests: {results.count('sent')} sent, {results.count('skipped')} with nothing to say, "
                f"{results.count('failed')} failed."
            )
