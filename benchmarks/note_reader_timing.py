"""Time the note reader over the 200 varied notes of its tests (never asserted in CI).

    PYTHONPATH=. .venv/bin/python benchmarks/note_reader_timing.py

Each note is read five times: "every read" shows what a busy machine does to it, "best of five"
the reader's own cost without the scheduler's pauses.
"""

import datetime
import statistics
import time

from customers.note_reader import read_note
from tests.customers.test_note_reader import TWO_HUNDRED_NOTES

WRITTEN = datetime.datetime(2026, 11, 22, 10, 0, tzinfo=datetime.UTC)


def summary(timings: list[float]) -> str:
    timings = sorted(timings)
    return (
        f"median {statistics.median(timings):.2f} ms, 95th percentile {timings[int(len(timings) * 0.95)]:.2f} ms, "
        f"slowest {timings[-1]:.2f} ms"
    )


def main() -> None:
    started = time.perf_counter()
    read_note("Her dog Rex is sick, vet on 3 March", WRITTEN)  # dateparser loads its data once per process
    first = time.perf_counter() - started
    every: list[float] = []
    best: dict[str, float] = {}
    for _ in range(5):
        for text in TWO_HUNDRED_NOTES:
            started = time.perf_counter()
            read_note(text, WRITTEN)
            took = (time.perf_counter() - started) * 1000
            every.append(took)
            best[text] = min(best.get(text, took), took)
    print(f"first note (loads dateparser): {first * 1000:.0f} ms")
    print(f"every read of {len(every)}: {summary(every)}")
    print(f"best of five per note ({len(best)} notes): {summary(list(best.values()))}")


if __name__ == "__main__":
    main()
