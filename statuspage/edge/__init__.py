"""What both HTTP edges (web and api) share: the per-request session, the public cache, the current page."""
