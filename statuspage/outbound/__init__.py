"""The one door to the network: an address guard, one deadline per call, HTTP, TCP and database pings."""
