"""The protocol-neutral server: route guards, the pipeline, rendered responses, stale answers."""
