"""The page itself: its row, the version that keys the public cache, and its profile."""
