"""One parser per top-level settings section; ``Settings`` lists them, one field each."""
