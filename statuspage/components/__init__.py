"""The component tree, the status rules that turn it into the page indicator, and uptime."""
