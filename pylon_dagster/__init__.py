"""pylon-dagster: Pylon support data into Postgres with Dagster, served back into Pylon.

The project deliberately uses a few Dagster APIs that Dagster marks beta (backfill policies) or
superseded (time-partition freshness checks, which are still the way to check a partitioned
asset's freshness as an asset check). Their notices are noise to the people running the pipeline,
so they are silenced here; everything else Dagster warns about still shows.
"""

import warnings

import dagster as dg

for _category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
    warnings.filterwarnings("ignore", category=_category)
