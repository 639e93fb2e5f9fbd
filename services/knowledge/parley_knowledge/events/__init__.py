"""The knowledge service's own pipeline topics and the events it emits."""
