"""The pipeline over WSGI: the middleware and the guard runner."""
