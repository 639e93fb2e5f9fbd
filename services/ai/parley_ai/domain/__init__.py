"""Pure decisions of the AI service: no I/O, unit-tested without infrastructure."""
