"""Sentences that state nothing: pointers to a source, not claims about the bank's rules.

Small models close an answer with "This can be found in the table provided in source [1]."
Such a sentence is easily "supported" (its words are in any passage's surroundings) yet says
nothing a reader could act on. Counted as verified, it let an answer whose only factual
sentence failed verification be shown as checked. A sentence is a pointer when, once its
markers are gone, every word it has is a function word or a word about documents and
where things are in them, and it states no value; it is never verified (rag/verification.py),
so an answer made of pointers and failed claims is refused as unverified.
"""

from __future__ import annotations

import re

from rag.quantities import WORDS

_DIGIT = re.compile(r"\d")

# Function words and words about documents, in English and French (the corpus's languages).
# A word outside this list (a subject, a rule, a value) makes the sentence a claim.
_POINTER_WORDS = frozenset("""
a an the this that these those it its there here is are was were be been being can could
may might will would should shall do does did has have had in on at of to for from by with
within into as and or more further additional detailed details detail information info
please refer referred referring see seen consult check found find located locate listed
shown show shows given provided described mentioned stated specified outlined available
contained contains containing included includes including also you your one which where
source sources document documents passage passages table tables section sections page
pages excerpt excerpts text context above below following preceding previous attached
reference references cited citation citations according noted
le la les l un une des du de d ce cet cette ces il elle est sont était être peut peuvent
dans sur au aux à en par pour avec et ou plus informations détails détail
voir consulter trouver trouve trouvée trouvent figure figurent indiqué indiquée indiqués
mentionné mentionnée fourni fournie fournis disponible disponibles ci dessus dessous
tableau tableaux extrait extraits texte contexte référence références selon vous se y
""".split())


# Words that refer to a source as such: a sentence holding one and otherwise only words of
# its sources' titles ("This is according to the change in cut-off times from April 7, 2025,
# as stated in source [1].") names where it read, not what it read.
_REFERRING_WORDS = frozenset("""
according stated source sources document documents mentioned refer referred see found
described outlined specified provided cited noted passage excerpt selon indiqué indiquée
mentionné mentionnée voir référence extrait document
""".split())
_NUMBER = re.compile(r"\d+")


def states_nothing(text: str, names: tuple[str, ...] = ()) -> bool:
    """Whether a sentence (markers already removed) only points to a source.

    A sentence with any digit, or with any word outside the pointer vocabulary, states
    something; one without any word at all (a stray marker) states nothing either. One that
    refers to its source ("according to", "as stated in") may also repeat the words and
    numbers of its sources' titles, `names`, and still state nothing.
    """
    words = WORDS.findall(text.lower())
    if not _DIGIT.search(text) and all(word in _POINTER_WORDS for word in words):
        return True
    if not names or not _REFERRING_WORDS.intersection(words):
        return False
    named = " ".join(names).lower()
    name_words = set(WORDS.findall(named))
    if not set(_NUMBER.findall(text)) <= set(_NUMBER.findall(named)):
        return False
    return all(word in _POINTER_WORDS or word in name_words for word in words)
