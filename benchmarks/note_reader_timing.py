"""Time the note reader over the 200 varied notes of its tests (never asserted in CI).

PYTHONPATH=. .venv/bin/python benchmarks/note_reader_timing.py
"""

import datetime
import statistics
import time

from customers.note_reader import read_note
from tests.customers.test_note_reader import TWO_HUNDRED_NOTES

WRITTEN = datetime.datetime(2026, 11, 22, 10, 0, tzinfo=datetime.UTC)


def main() -> None:
    started = time.perf_counter()
    read_note("Her dog Rex is sick, vet on 3 March", WRITTEN)  # dateparser loads its data once per process
    first = time.perf_counter() - started
    timings = []
    for _ in range(5):
        for text in TWO_HUNDRED_NOTES:
            started = time.perf_counter()
            read_note(text, WRITTEN)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(f"first note (loads dateparser): {first * 1000:.0f} ms")
    print(
        f"{len(timings)} notes: median {statistics.median(timings):.2f} ms, "
        f"95th percentile {timings[int(len(timings) * 0.95)]:.2f} ms, slowest {timings[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
