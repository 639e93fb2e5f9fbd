"""The WhatsApp sandbox: a stand-in for Meta's WhatsApp Cloud API (see docs/whatsapp.md)."""
