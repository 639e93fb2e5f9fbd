"""Messages a knowledge base cannot settle, whatever it says: the customer wants to be called
back, or has a case of their own that someone must look at (a refund for their order, a
broken delivery, a double charge). The AI hands these to a person instead of quoting policy.

The conversation service already hands off explicit requests for a person ("I want to talk
to a human"); this catches the requests it does not, before any model is asked. Text is
compared normalised (lower case, no accents) as whole words. A general question about a
policy ("what is your returns policy for broken items?") is not a case: a case needs the
customer's own order or money ("my order", "I was charged") with a problem or an action.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from parley_ai.domain.text import normalise


class Escalation(StrEnum):
    CALLBACK = "callback"  # asks to be called or contacted: a person
    PERSONAL_CASE = "personal_case"  # their own order or money, with a problem


@dataclass(frozen=True)
class EscalationMatch:
    kind: Escalation
    phrase: str


CALLBACK_PHRASES = (
    # en
    "call me",
    "call me back",
    "give me a call",
    "phone me",
    "ring me",
    "contact me",
    "callback",
    "call back",
    # pt
    "me liga",
    "me ligue",
    "me ligar",
    "ligue para mim",
    "ligue-me",
    "me telefone",
    "entre em contato comigo",
    "retorne a ligacao",
    # es
    "llamame",
    "llameme",
    "me llamen",
    "me llamas",
    "me puede llamar",
    "me pueden llamar",
    "contactenme",
    "contactame",
    # fr
    "appelez-moi",
    "appelez moi",
    "rappelez-moi",
    "rappelez moi",
    "me rappeler",
    # de
    "rufen sie mich",
    "ruf mich",
    "ruckruf",
    # it
    "chiamatemi",
    "richiamatemi",
    "mi chiami",
)

# The customer's own order, parcel, payment or account.
OWN_THINGS = (
    "my order",
    "my parcel",
    "my package",
    "my delivery",
    "my payment",
    "my card",
    "my account",
    "my money",
    "my refund",
    "i was charged",
    "i got charged",
    "i ordered",
    "i received",
    "i bought",
    "meu pedido",
    "minha encomenda",
    "meu pacote",
    "minha entrega",
    "meu pagamento",
    "meu cartao",
    "meu dinheiro",
    "meu reembolso",
    "fui cobrado",
    "fui cobrada",
    "comprei",
    "recebi",
    "mi pedido",
    "mi paquete",
    "mi envio",
    "mi pago",
    "mi tarjeta",
    "mi dinero",
    "mi reembolso",
    "me cobraron",
    "compre",
    "recibi",
    "ma commande",
    "mon colis",
    "mon paiement",
    "mon remboursement",
    "meine bestellung",
    "mein paket",
    "meine zahlung",
    "il mio ordine",
    "il mio pacco",
)

# A problem with it, or an action only a person can take on it.
PROBLEMS = (
    "broken",
    "damaged",
    "wrong",
    "missing",
    "never arrived",
    "didn't arrive",
    "did not arrive",
    "hasn't arrived",
    "has not arrived",
    "not arrived",
    "late",
    "lost",
    "defective",
    "charged twice",
    "double charged",
    "refund",
    "money back",
    "cancel",
    "complaint",
    "where is",
    "quebrado",
    "quebrada",
    "danificado",
    "danificada",
    "errado",
    "errada",
    "nao chegou",
    "atrasado",
    "atrasada",
    "extraviado",
    "defeito",
    "cobrado duas vezes",
    "reembolso",
    "dinheiro de volta",
    "cancelar",
    "reclamacao",
    "cade",
    "onde esta",
    "roto",
    "rota",
    "danado",
    "danada",
    "equivocado",
    "no llego",
    "perdido",
    "defectuoso",
    "devolucion del dinero",
    "reclamo",
    "reclamacion",
    "donde esta",
    "casse",
    "endommage",
    "pas arrive",
    "rembourse",
    "annuler",
    "kaputt",
    "beschadigt",
    "nicht angekommen",
    "erstattung",
    "stornieren",
    "rotto",
    "danneggiato",
    "non e arrivato",
    "rimborso",
)


def _whole_words(phrases: Iterable[str]) -> re.Pattern[str]:
    alternatives = sorted({re.escape(p) for p in phrases}, key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)")


_CALLBACK = _whole_words(CALLBACK_PHRASES)
_OWN = _whole_words(OWN_THINGS)
_PROBLEM = _whole_words(PROBLEMS)


def needs_a_person(text: str) -> EscalationMatch | None:
    """Why `text` must go to a person rather than be answered, or None."""
    cleaned = normalise(text).replace("\u2019", "'")
    if match := _CALLBACK.search(cleaned):
        return EscalationMatch(Escalation.CALLBACK, match.group(0))
    own, problem = _OWN.search(cleaned), _PROBLEM.search(cleaned)
    if own and problem:
        return EscalationMatch(Escalation.PERSONAL_CASE, f"{own.group(0)} … {problem.group(0)}")
    # "I want a refund", "quero um reembolso": an action on their own money, without "my".
    if re.search(
        r"(?<!\w)(?:i want|i need|i'd like|quero|preciso|quiero|necesito|je veux|ich will|voglio)"
        r"(?: an?| um| uma| un| una| mon| ma| eine| einen| il| la)? "
        r"(?:refund|reembolso|rembourse\w*|erstattung|rimborso|my money back|cancel\w*)",
        cleaned,
    ):
        return EscalationMatch(Escalation.PERSONAL_CASE, "refund or cancellation request")
    return None
