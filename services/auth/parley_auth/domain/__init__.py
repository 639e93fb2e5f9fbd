"""The auth domain: plain rules and formats, no I/O."""
