"""The outbox: events written in the transaction of the change they announce, and the deliveries the worker claims."""
