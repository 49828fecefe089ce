"""Subscribers and notifications: the outbox, email and webhook delivery."""
