"""Request context: the correlation id, the request's deadline, threads that keep both."""
