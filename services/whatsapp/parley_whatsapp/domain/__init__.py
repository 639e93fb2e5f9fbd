"""The sender's rules as plain Python: Meta's error classes, text splitting, request bodies."""
