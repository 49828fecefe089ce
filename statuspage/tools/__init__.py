"""Operator tools beside the domain: the Statuspage importer, the static export, the demo and its scenarios."""
