"""Schedules and sensors that keep the warehouse fresh without anyone clicking."""
