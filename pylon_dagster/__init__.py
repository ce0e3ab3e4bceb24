"""pylon-dagster: Pylon support data into Postgres with Dagster, served back into Pylon."""
