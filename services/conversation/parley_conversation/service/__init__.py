"""Use cases: what customers, the AI, the WhatsApp edge and the team cause. They never
commit; the caller owns the transaction."""
