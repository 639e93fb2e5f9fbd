"""WhatsApp webhook ingress: Meta's verification handshake and signed notifications, turned
into one Kafka event per message, status and error (see docs/whatsapp.md)."""
