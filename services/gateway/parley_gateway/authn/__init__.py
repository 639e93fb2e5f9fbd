"""Authenticating the callers of the public REST API: access tokens (verified here against
the cached JWKS), API keys (verified by auth, cached briefly), revocation markers."""
