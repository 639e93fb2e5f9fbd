"""The team dashboard as the gateway serves it: the built pages and assets, the browser
session (HttpOnly cookies instead of tokens in scripts), and the analytics summary."""
