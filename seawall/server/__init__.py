"""The protocol-neutral server: the policy engine, route guards, the pipeline, responses."""
