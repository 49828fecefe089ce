"""People who sign in to the admin and the API keys they hold."""
