"""Live progress of a sync: what each stream did, what is left, and how long the budget needs.

Assets and the Pylon client report to a `ProgressSink` (`sink.py`); a `ProgressTracker` turns the
reports into counts and a time left (`tracker.py`, `eta.py`); the outputs show it: plain periodic
lines (`lines.py`, for logs and Dagster's event log) or a rich live table (`terminal.py`). The
headless sync listens in its own process through `relay.py` and picks its output in `display.py`.
"""
