"""Print the loyalty figures of the dashboard, for scripts and for checking: the same code computes both."""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from crm.insights import loyalty
from crm.insights.forms import LoyaltyRangeForm
from crm.kernel.models import Location


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"Dates look like 2026-01-31, not {text!r}.") from None


class Command(BaseCommand):
    help = "Print the loyalty dashboard's figures for a range and location, as text or --json."

    def add_arguments(self, parser):
        today = timezone.localdate()
        start, end = loyalty.standard_ranges(today)["Last 12 months"]
        parser.add_argument("--from", dest="start", default=start.isoformat())
        parser.add_argument("--to", dest="end", default=end.isoformat())
        parser.add_argument("--location", help="a location's name (default: the whole business)")
        parser.add_argument("--json", action="store_true")
        parser.add_argument(
            "--fresh",
            action="store_true",
            help="compute every figure now instead of reading the snapshot the Celery task keeps (seconds at scale)",
        )

    def handle(self, *args, **options):
        start, end = _date(options["start"]), _date(options["end"])
        form = LoyaltyRangeForm({"from": start.isoformat(), "to": end.isoformat()}, default=(start, end))
        if not form.is_valid():  # the dashboard's own rules: no reversed range, no year 9999
            raise CommandError(" ".join(str(error) for errors in form.errors.values() for error in errors))
        location = None
        if options["location"]:
            location = Location.objects.filter(name__iexact=options["location"]).first()
            if location is None:
                raise CommandError(f"No location called {options['location']!r}.")
        filters = loyalty.Filters(start, end, location)
        # The dashboard's own snapshot when it is fresh (the standard ranges always are), else computed now.
        figures = loyalty.compute(filters) if options["fresh"] else dict(loyalty.figures(filters))
        # The matched comparison is the snapshot task's (minutes of SQL at scale): read, never recomputed here.
        figures["impact"] = loyalty.impact_figures(filters)
        if options["json"]:
            self.stdout.write(json.dumps(figures, indent=2, default=str))
            return
        self.stdout.write(render_text(figures))


def _or_dash(value, unit: str = "") -> str:
    """A figure, or a dash where there is nothing to count yet (never "None")."""
    return "-" if value is None else f"{value}{unit}"


def render_text(f: dict) -> str:
    h, fu, w, m = f["headline"], f["follow_ups"], f["word_of_mouth"], f["microcx"]
    lines = [
        f"Loyalty report {f['filters']['from']} to {f['filters']['to']}, location: {f['filters']['location']} "
        f"(as of {f['computed_at']})",
        "",
        f"Active customers        {h['active']}",
        f"New customers           {h['new']}",
        f"Repeat-customer rate    {_or_dash(h['repeat_rate'], '%')} ({h['repeat']} of {h['active']})",
        f"Visit days per customer {_or_dash(h['visits_per_customer'])} ({h['visit_days']} visit days: days a "
        "customer came in, several purchases on one day counted once)",
        f"Purchases               {h['purchases']} (every purchase row)",
        f"Revenue per customer    {_or_dash(h['revenue_per_customer'])} (revenue {h['revenue']})",
        "",
        "Retention by monthly cohort (share who came back in each later month):",
    ]
    for row in f["cohorts"]["table"]:
        cells = " ".join(f"{r['rate'] if r['rate'] is not None else '-':>5}" for r in row["retention"])
        lines.append(f"  {row['cohort']} ({row['customers']:>4})  {cells}")
    lists = f["lists"]
    lines += ["", f"Lists to act on, judged on {lists['as_of']} (the end of the range):"]
    for key, title in loyalty.LIST_TITLES.items():
        lines.append(f"{title}: {lists[key]['count']} customers")
        if key == "win_back":
            lines.append(f"  Rule: {lists[key]['rule']}")
        lines += [
            f"  {c['name']} ({c['location']}): {c['visit_days']} visit day{'s' if c['visit_days'] != 1 else ''}, "
            f"{c['days_since_last_visit']} days since the last, {c['usually']}"
            for c in lists[key]["customers"][:10]
        ]
    lines += [
        "",
        f"Follow-ups: {fu['raised']} raised, {fu['done']} done, {fu['dismissed']} dismissed, {fu['overdue']} overdue, "
        f"median {_or_dash(fu['median_days_to_done'])} days to done",
        f"Word of mouth: {w['referred']} referred customers; top: "
        + ", ".join(f"{r['name']} ({r['referrals']})" for r in w["top_referrers"]),
        f"Micro-CX: {m['spent']} spent and {m['held']} held of {m['allocated']} allocated",
    ]
    lines += impact_lines(f["impact"])
    lines += ["", "Interactions by touchpoint (before / during / after):"]
    lines += [f"  {t['touchpoint']:<24} {t['before']:>6} {t['during']:>6} {t['after']:>6}" for t in f["touchpoints"]]
    return "\n".join(lines)


def _effect(e: dict, ours: str, theirs: str) -> str:
    if not e["enough"]:
        return f"not enough data yet (fewer than {e.get('min_per_side', '')} customers on a side)".replace(" ()", "")
    low, high = e["interval"]
    return f"{e['difference']:+} points (95 % interval {low:+} to {high:+}); {ours} against {theirs}"


def impact_lines(impact: dict) -> list[str]:
    """Did the gestures and the rules help: the snapshot task's matched comparison and hold-outs, in words."""
    if not impact["ready"]:
        return ["  Did gestures help: not computed yet (the snapshot task computes it every few minutes)"]
    lines = [f"  Did gestures help (came back within {impact['window_days']} days, as of {impact['computed_at']}):"]
    for k in impact["kinds"]:
        lines.append(
            f"    {k['title']}: {k['compared']} recipients compared, {k['controls']} look-alikes without; "
            + _effect(
                {**k, "min_per_side": impact["min_per_side"]},
                f"{k['rate']}%",
                f"{k['control_rate']}%",
            )
        )
    for r in impact["rules"]:
        lines.append(
            f"    {r['title']} ({impact['hold_out_percent']} % held out): {r['prompted']} prompted, "
            f"{r['held_out']} held out; "
            + _effect({**r, "min_per_side": impact["min_per_side"]}, f"{r['rate']}%", f"{r['held_out_rate']}%")
        )
    return lines
