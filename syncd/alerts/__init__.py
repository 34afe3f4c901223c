"""Alerts: Block Kit rendering, Slack delivery from the store's queue, and digests."""
