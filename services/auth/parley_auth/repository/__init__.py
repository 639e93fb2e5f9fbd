"""Every query of the auth service."""
