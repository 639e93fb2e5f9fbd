"""Every query of the whatsapp service (sends and media), run in tenant sessions."""
