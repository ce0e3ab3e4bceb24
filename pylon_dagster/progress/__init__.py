"""Live progress of a sync: what each stream did, what is left, and how long the budget needs.

Assets and the Pylon client report to a `ProgressSink` (`sink.py`); a `ProgressTracker` turns the
reports into counts and a time left (`tracker.py`, `eta.py`); the outputs show it: plain periodic
lines (`lines.py`, for logs and Dagster's event log) or rich tables (`terminal.py`). The headless
sync listens in its own process, per run, through `relay.py`, and shows its runs going on at once
with `display.py` (on `board.py`).
"""
