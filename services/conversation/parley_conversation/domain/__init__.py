"""The conversation domain in plain Python: ownership state machine, handoff phrases,
delivery statuses, the customer service window, visibility, message content."""
