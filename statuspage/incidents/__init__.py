"""Incidents and maintenance: their lifecycle, overlapping windows, saved messages and the history."""
