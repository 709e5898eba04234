"""The pipeline over ASGI: the middleware, the response exchange and the guard runner."""
