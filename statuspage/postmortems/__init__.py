"""Postmortems: editing and publishing, their plain text, the figures from the record, action items."""
