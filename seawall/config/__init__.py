"""Configuration: the settings schema, its parsing and sources, route keys and ``@policy``."""
