"""Words of a text as the matching code compares them: lower case, accents removed, function
words dropped, reduced to their stems (Snowball, in the text's language).

"Opening hours on Saturday?" and "We open on Saturdays" share the terms `open` and `saturday`;
"devolução" and "devoluções" share `devoluc`. Good enough to tell whether a passage speaks
about what a question asks, which is all the extractive answerer and the grounding checks
need; retrieval itself (full text and vectors) is the knowledge service's.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import snowballstemmer

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})

# Languages whose words the matching code understands (stems and function words); other
# languages are compared by whole words, without stemming.
STEMMER_NAMES = {
    "en": "english",
    "pt": "portuguese",
    "es": "spanish",
    "fr": "french",
    "de": "german",
    "it": "italian",
}

# Function words and question words: they carry no topic. Already normalised (no accents).
STOPWORDS: frozenset[str] = frozenset(
    """
    a an the and or but if then so of to in on at by for with from into about as is are was
    were be been being am do does did done have has had having i me my mine we us our ours you
    your yours he him his she her it its they them their this that these those there here what
    which who whom whose when where why how can could would should will shall may might must
    not no yes please thanks thank hi hello hey dear ok okay any some all also just very much
    many more most get got tell know want need like would let lets i'm i've you're it's what's
    there's don't do you does your is there are can i
    o a os as um uma uns umas de do da dos das em no na nos nas por para com sem e ou mas se que
    qual quais quando onde como porque por que eu voce voces ele ela nos eles elas meu minha seu
    sua nosso nossa isso isto esse essa este esta aquele aquela ser estar sou esta estao foi tem
    ter ha vai pode posso podem queria quero gostaria saber obrigado obrigada ola oi bom dia tarde
    noite favor sim nao ja tambem muito mais ao aos pelo pela
    el la los las un una unos unas del al en por para con sin y o pero si que cual cuales cuando
    donde como porque yo usted ustedes tu mi mis su sus nuestro nuestra eso esto ese esa este
    esta es son estan ser estar hay tiene tienen tengo puedo puede pueden quiero quisiera saber
    gracias hola buenos buenas dias favor si no ya tambien muy mas le les lo me te se
    le la les un une des du de d l et ou mais si que qui quoi quel quelle quels quelles quand ou
    comment pourquoi je tu il elle nous vous ils elles mon ma mes ton ta tes son sa ses notre
    votre leur est sont etre avoir ai as a avez ont peut pouvez puis veux voudrais savoir merci
    bonjour salut oui non pas ne en au aux ce cet cette ces y
    der die das ein eine einer eines einem einen und oder aber wenn dann ob dass was wer wie wo
    wann warum welche welcher welches ich du er sie es wir ihr mein meine dein deine sein seine
    unser unsere euer ist sind war waren sein haben habe hat hast habt kann konnen kannst mochte
    mochten will wollen wissen danke hallo ja nein nicht auch sehr mehr am im um zu zum zur von
    vom mit bei fur auf aus an
    il lo la i gli le un uno una di del della dei delle da dal in nel nella con su per tra fra e
    o ma se che chi cosa quale quali quando dove come perche io tu lui lei noi voi loro mio mia
    suo sua nostro nostra questo questa quello quella sono sei siamo siete essere avere ho hai
    abbiamo avete hanno posso puoi vorrei sapere grazie ciao buongiorno si non anche molto piu
    """.split()
)
# Words that frame a question rather than name its topic ("how long does it take", "quanto
# custa", "¿cuánto cuesta?"): a passage that answers rarely repeats them.
QUESTION_FRAMES: frozenset[str] = frozenset(
    """
    long take takes taking cost costs sell sells offer offers available much many often time
    times quanto quanta quantos quantas custa custam custar tempo sai demora demoram vende
    vendem devo deve preciso oferecem
    cuanto cuanta cuantos cuantas cuesta cuestan costar tiempo tarda tardan vendeis venden
    debo ofreceis
    combien coute coutent temps vendez
    wie viel viele kostet kosten lange dauert
    quanto costa costano tempo vendete
    """.split()
)


def normalise(text: str) -> str:
    """Lower case, accents removed, apostrophes unified, runs of spaces collapsed."""
    if text.isascii():  # nothing to decompose: the same result without the per-letter loop
        return " ".join(text.translate(_APOSTROPHES).casefold().split())
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def words(text: str) -> list[str]:
    """The normalised words of `text`, in order."""
    return _WORD.findall(normalise(text))


@cache
def _stemmer(language: str) -> snowballstemmer.stemmer | None:
    name = STEMMER_NAMES.get(language)
    return snowballstemmer.stemmer(name) if name else None


@lru_cache(maxsize=200_000)
def stem(word: str, language: str) -> str:
    """The stem of a normalised word in `language` (the word itself when unknown). Cached:
    the Snowball stemmers are pure Python, and a tenant's vocabulary repeats."""
    stemmer = _stemmer(language)
    return stemmer.stemWord(word) if stemmer else word


def content_terms(text: str, language: str, *, keep_frames: bool = False) -> list[str]:
    """The stems of `text`'s topic words (function words, question frames unless
    `keep_frames`, and one-letter words dropped), each once, in order of first appearance."""
    seen: dict[str, None] = {}
    for word in words(text):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        if word in QUESTION_FRAMES and not keep_frames:
            continue
        seen.setdefault(stem(word, language), None)
    return list(seen)


def term_set(text: str, language: str) -> frozenset[str]:
    """Every stem of `text` (function words included: a passage is searched, not a query)."""
    return frozenset(stem(word, language) for word in words(text))
