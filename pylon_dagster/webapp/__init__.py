"""The web service Pylon calls: the issue-sidebar custom app (`app.create_app`) and the webhook
receiver, whose stored events `pylon_dagster.automation.webhooks` turns into runs."""
