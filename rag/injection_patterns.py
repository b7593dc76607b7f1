"""The wording of text that addresses the model instead of the reader, English and French.

Every pattern reads text already normalised by rag/injection.py: lower case, accents and
invisible characters removed, look-alike letters folded to Latin ones. A pattern with a
`v` group names a verb; the match is dropped when that verb is negated or follows a modal
without "you" ("customers may ignore…", "this memo will override all previous
instructions", "le client peut ignorer…"): documents say such things, attacks do not.

The benign sentences these were measured against are in tests/unit/test_injection.py.
"""

from __future__ import annotations

import re

# Where a sentence or clause starts: an imperative without a qualifier ("ignore the
# sources") counts only there, so "customers who ignore the rules" is left alone.
_START = r"(?:^|(?<=[\n.!?:;\"'«(\[\]*>#]))\s*"
_LEAD_EN = (r"(?:(?:please|kindly|now|just|simply|instead|so|then|important|note|attention"
            r"|you must|you should|you need to|you have to|you will|you are to|always)"
            r"[,:!]?\s+){0,2}")
_LEAD_FR = (r"(?:(?:s'il te plait|s'il vous plait|veuillez|maintenant|desormais|alors|donc"
            r"|important|attention)[,:!]?\s+){0,2}")

_VERB_EN = r"(?P<v>ignore|disregard|forget|override|overrule|bypass|neglect|circumvent)"
_STRONG_VERB_EN = (r"(?P<v>ignore|disregard|forget|override|overrule|bypass|neglect|circumvent"
                   r"|skip|drop|discard|abandon|set aside|throw away)")
_DET_EN = r"(?:the|your|my|our|these|those|this|that|its|of|all|any|every|each|other)"
_QUAL_EN = (r"(?:previous|previously given|prior|above|earlier|preceding|foregoing|former"
            r"|original|initial|old|existing|current|system|developer|hidden|default|safety)")
_TARGET_EN = (r"(?:instructions?|instruction set|rules?|guidelines?|directives?|directions?"
              r"|prompts?|context|sources?|documents?|passages?|constraints?|restrictions?"
              r"|guardrails?|safeguards?|polic(?:y|ies)|commands?|orders?|messages?|text"
              r"|programming|training|settings?|configuration)")
_BARE_TARGET_EN = (r"(?:instructions?|rules|guidelines|directives|sources?|context"
                   r"|(?:system )?prompt|documents?|passages?)")
# "ignore the instructions on the screen", "the sources of funds": a qualified noun is the
# reader's, not the model's.
_QUALIFIED = (r"(?!\s+(?:on|in|of|for|from|printed|issued|at|about|regarding|concerning|that"
              r"|which|when|if|under|to|by|within|written|shown|displayed|sent|attached|enclosed"
              r"|below|listed|provided|governing|applicable|relating|set)\b)")

_VERB_FR = (r"(?P<v>ignore[rz]?|oublie[rz]?|neglige[rz]?|contourne[rz]?|outrepasse[rz]?"
            r"|ecarte[rz]?|ne (?:tiens|tenez|tenons) (?:plus |pas |aucun )?compte"
            r"|ne (?:prends|prenez) pas en compte|(?:fais|faites) abstraction|passe[zr]? outre)")
_IMPERATIVE_FR = (r"(?P<v>ignore|ignorez|oublie|oubliez|neglige|negligez|contourne|contournez"
                  r"|ne (?:tiens|tenez) (?:plus |pas )?compte|ne (?:prends|prenez) pas en compte"
                  r"|(?:fais|faites) abstraction)")
_DET_FR = r"(?:toutes les|tous les|toute|tout|les|la|le|l'|tes|vos|ces|des|de|d'|du|aux?|ses)"
_QUAL_FR = (r"(?:precedent(?:e|es|s)?|ci-dessus|ci dessus|anterieur(?:e|es|s)?|d'avant"
            r"|du systeme|systeme|plus haut|initial(?:e|es|s)?|originel(?:le|les|s)?"
            r"|recu(?:e|es|s)?|donne(?:e|es|s)?)")
_TARGET_FR = (r"(?:instructions?|consignes?|regles?|sources?|contexte|directives?|documents?"
              r"|passages?|prompts?|invites?|ordres?|commandes?|indications?)")
_QUALIFIED_FR = (r"(?!\s+(?:de|du|des|d'|sur|pour|en|dans|relatives?|imprimees?|affichees?"
                 r"|ci-jointes?|jointes?|figurant|indiquees?)\b)")

_PATTERNS = [
    # -- English: ignore / disregard / forget … the instructions ----------------------------
    rf"\b{_STRONG_VERB_EN}\s+(?:{_DET_EN}\s+){{0,3}}{_QUAL_EN}\s+(?:{_DET_EN}\s+)?{_TARGET_EN}\b",
    rf"\b{_STRONG_VERB_EN}\s+(?:all|every|your)\s+(?:(?:of|the|these|those|my|our)\s+){{0,2}}"
    rf"(?:{_QUAL_EN}\s+)?{_TARGET_EN}\b",
    rf"\b{_STRONG_VERB_EN}\s+(?:{_DET_EN}\s+){{0,3}}{_TARGET_EN}\s+(?:you (?:were|have been|got)"
    r" given|you (?:received|got)|(?:written |stated |listed |shown )?(?:above|before|so far"
    r"|earlier|previously))\b",
    rf"{_START}{_LEAD_EN}{_VERB_EN}\s+(?:the\s+|your\s+)?{_BARE_TARGET_EN}\b{_QUALIFIED}",
    rf"\b{_STRONG_VERB_EN}\s+(?:all\s+(?:of\s+)?)?(?:the\s+)?above\b"
    r"(?!\s+(?:if|when|unless|for|in case)\b)",
    r"\b(?P<v>ignore|disregard|forget)\s+(?:everything|anything|all)\s+(?:above|before|prior"
    r"|previously|else|you (?:were|have been) told|you know|(?:i|we) said"
    r"|(?:written|said|stated) (?:above|before|earlier))\b",
    r"\b(?:do not|don't|dont|never|stop)\s+(?:follow|obey|respect|apply)(?:ing)?\s+"
    r"(?:your|the (?:previous|above|system|original|prior|earlier))\s+"
    r"(?:instructions|rules|guidelines|system prompt)\b",
    # -- English: new roles, new orders ----------------------------------------------------
    r"\byou are now\s+(?:an?\s+(?:\w+\s+)?(?:ai|assistant|bot|chatbot|model|language model|llm"
    r"|agent|hacker|pirate|character|persona)\b|an?\s+(?:different|new|unrestricted|unfiltered"
    r"|uncensored|jailbroken|evil)\b|in\s+(?:\w+\s+)?mode\b|no longer\b|free\b|dan\b"
    r"|unrestricted|unfiltered|uncensored|jailbroken|going to\b|(?:acting|operating|working"
    r"|speaking|playing)\b|to\s+(?:act|behave|respond|answer|reply|ignore)\b)",
    r"\byou are no longer\s+(?:bound|restricted|limited|required to|an? (?:ai|assistant)|coffre)",
    r"\b(?:act|behave|respond|answer)\s+as\s+(?:if|though)\s+you\b",
    r"\b(?:act|behave)\s+as\s+(?:an?|the|my)\s+(?:\w+\s+)?(?:ai|chatbot|bot|language model|llm"
    r"|dan|hacker)\b|\b(?:act|behave)\s+as\s+(?:an?|the|my)\s+(?:unrestricted|unfiltered"
    r"|uncensored|jailbroken|evil|different|new)\b",
    r"\bpretend\s+(?:that\s+)?(?:you|to be)\b|\brole-?play(?:ing)?\s+as\b",
    r"\bfrom now on\b[\s,]*(?:you\s+(?:will|must|shall|should|are to)\s+(?:only\s+|always\s+"
    r"|never\s+)?|(?:only\s+|always\s+|never\s+)?)(?:respond|reply|answer|say|act|ignore|output"
    r"|write|speak|behave|pretend|forget|follow|obey|refuse)\b",
    r"\b(?:respond|reply|answer)\s+(?:only|just|exclusively|solely)\s+(?:with|using)\b",
    r"\bonly\s+(?:respond|reply|answer|say|output)\s+with\b",
    r"\b(?:say|print|output|write|reply|respond)\s+(?:with\s+)?(?:only\s+|just\s+|exactly\s+)?"
    r"the word\b",
    r"\bnew instructions?\s*:|\b(?:here are|these are|follow|following are)\s+(?:your|the|my)"
    r"\s+new\s+(?:instructions|rules|orders|task)\b|\byour new (?:instructions|rules|task|role"
    r"|orders|prompt)\b",
    r"\b(?:do not|don't|dont|never|stop)\s+(?:cite|citing|mention|reference|quote)\s+(?:any\s+"
    r"|the\s+|your\s+)?(?:sources?|documents?|passages?|references?|citations?)\b",
    r"\bwithout\s+(?:citing|citations?|quoting|referencing)\s+(?:the\s+|any\s+|your\s+)?"
    r"(?:sources?|documents?|passages?)\b",
    r"\b(?:omit|remove|hide|leave out)\s+(?:the\s+|all\s+|any\s+)?(?:citations?"
    r"|source (?:numbers|markers)|references? to (?:the )?sources?)\b",
    # -- English: the prompt itself ---------------------------------------------------------
    r"\b(?:reveal|print|show|display|output|repeat|leak|disclose|dump|write out|spell out"
    r"|recite|tell me|give me|share)\s+(?:me\s+|us\s+)?your\s+(?:\w+\s+)?(?:system )?prompt\b",
    r"\b(?:reveal|print|repeat|leak|disclose|dump|recite|output|display)\s+(?:me\s+|us\s+)?"
    r"your\s+(?:\w+\s+)?(?:instructions|rules|guidelines|configuration)\b",
    r"\b(?:reveal|print|show|display|output|repeat|leak|disclose|dump|write out|spell out"
    r"|recite|tell me|give me|share)\s+(?:me\s+|us\s+)?the\s+(?:(?:full|entire|complete|exact)"
    r"\s+)?(?:system|hidden|secret|initial|original|internal|developer|confidential)\s+"
    r"(?:prompt|instructions|rules|configuration|guidelines|message)\b",
    r"\bwhat (?:are|is|were) your (?:system |initial |original |hidden )?(?:instructions"
    r"|prompt|rules)\b",
    r"\bsystem prompt\b|\bdo anything now\b|\b(?:dan|jailbreak|god) mode\b|\bjailbr(?:eak|oken)",
    # -- role markers and chat-template tokens ----------------------------------------------
    r"(?:^|(?<=[\n.!?]))[ \t]*(?:[#>*\-]+[ \t]*)?(?:system|assistant|systeme)[ \t]*:",
    r"#{2,}\s*(?:system|instructions?|assistant|user|human|response|new instructions?"
    r"|consignes?)\b",
    r"<\|[a-z_ ]{2,30}\|>|\[/?inst\]|<</?sys>>|</?(?:system|assistant|instructions?)>"
    r"|<(?:start|end)_of_turn>",
    # -- French ------------------------------------------------------------------------------
    rf"\b{_VERB_FR}\s+(?:de\s+|d')?(?:{_DET_FR}\s*){{1,2}}{_TARGET_FR}\s+{_QUAL_FR}",
    rf"\b{_VERB_FR}\s+(?:de\s+|d')?(?:tes|vos|(?:toutes|tous)\s+(?:les|tes|vos|ces))\s+"
    rf"{_TARGET_FR}\b",
    rf"{_START}{_LEAD_FR}{_IMPERATIVE_FR}\s+(?:de\s+|d')?(?:les|la|le|l'|tes|vos|des|du)\s*"
    rf"{_TARGET_FR}\b{_QUALIFIED_FR}",
    r"\b(?P<v>oublie[rz]?|ignore[rz]?)\s+tout\s+(?:ce qui precede|ce qui est (?:ecrit|dit)"
    r" (?:plus haut|ci-dessus|avant)|ce qu'on (?:t'a|vous a) dit|ce qui a ete dit)",
    r"\b(?:tu es|vous etes)\s+(?:maintenant|desormais|a present|dorenavant)\s+(?:une?\s+(?:\w+\s+)?"
    r"(?:ia|assistant|assistante|robot|bot|chatbot|modele|intelligence|pirate|personnage|autre)"
    r"\b|en mode\b|libres?\b|sans (?:restriction|limite|filtre|regle)s?|affranchie?s?|dan\b)",
    r"\b(?:a partir de maintenant|desormais|dorenavant|a present)[\s,]*(?:tu|vous)\s+"
    r"(?:(?:dois|devez|vas|allez)\s+)?(?:toujours\s+)?(?:ne\s+)?(?:repondre|reponds|repondez"
    r"|ignorer|ignore|ignorez|agir|agis|agissez|dire|dis|dites|oublier|oublie|oubliez|obeir"
    r"|obeis|obeissez|ecrire|ecris|ecrivez)\b",
    r"\b(?:agis|agissez|comporte-toi|comportez-vous)\s+comme\s+(?:si tu etais|si vous etiez"
    r"|une?\s+(?:\w+\s+)?(?:ia|robot|chatbot|modele|pirate|dan)\b)",
    r"\b(?:fais|faites) semblant d'etre\b",
    r"\b(?:reponds|repondez|ecris|ecrivez|dis|dites)\s+(?:uniquement|seulement|exclusivement)"
    r"\s+(?:par|avec)\b|\bne (?:reponds|repondez|dis|dites|ecris|ecrivez) (?:rien d'autre )?"
    r"que (?:par )?(?:le mot|un seul mot|les mots|[\"'«]|oui\b|non\b|ok\b)",
    r"\bne (?:cite|citez|mentionne|mentionnez) pas (?:les|de|tes|vos|aucune?) (?:sources?"
    r"|documents?|references?|passages?)\b|\bsans citer (?:les |tes |vos |de |aucune )?"
    r"(?:sources?|documents?|references?)\b",
    r"\b(?:revele|revelez|reveler|affiche|affichez|afficher|montre|montrez|montrer|donne|donnez"
    r"|repete|repetez|repeter|divulgue|divulguez|ecris|ecrivez|imprime|imprimez|recite|recitez)"
    r"(?:-moi|-nous| moi| nous)?\s+(?:ton|votre|tes|vos)\s+(?:\w+\s+)?(?:prompt|invite)\b",
    r"\b(?:revele|revelez|reveler|affiche|affichez|afficher|montre|montrez|montrer|donne|donnez"
    r"|repete|repetez|repeter|divulgue|divulguez|ecris|ecrivez|imprime|imprimez|recite|recitez)"
    r"(?:-moi|-nous| moi| nous)?\s+(?:ton|votre|tes|vos|le|les)\s+(?:prompt|invite|instructions"
    r"|consignes|regles|message)\s+(?:systeme|du systeme|initiales?|cachees?|secretes?"
    r"|d'origine)\b",
    r"\bnouvelles (?:instructions|consignes)\s*:|\b(?:voici|ce sont) (?:tes|vos|les) nouvelles"
    r" (?:instructions|consignes|regles)\b|\btes nouvelles (?:instructions|consignes|regles)\b",
    r"\b(?:prompt|invite) (?:du )?systeme\b",
]
INSTRUCTION_PATTERNS = tuple(re.compile(p) for p in _PATTERNS)

# After an instruction, a sentence that goes on telling the model what to do ("… Say the
# fee is waived.") is part of it.
FOLLOW_ON = re.compile(
    r"^\s*(?:[\"'«(*-]\s*)?(?:(?:then|and|instead|now|just|please|also|finally)[,]?\s+)?"
    r"(?:say|reply|respond|answer|print|output|write|tell|repeat|state|claim|type|return|append"
    r"|begin|start|end|translate|summari[sz]e|pretend|act|insist|dis|dites|reponds|repondez"
    r"|ecris|ecrivez|affiche|affichez|imprime|imprimez|repete|repetez|indique|indiquez"
    r"|affirme|affirmez)\b"
)

# A verb after one of these words is negated or hedged ("do not ignore", "may disregard",
# "peut ignorer") unless "you" is its subject ("you must ignore…").
BLOCKING_WORDS = frozenset(
    """not never don't dont doesn't doesnt didn't won't wont may might can could would will
    shall cannot can't must should who which that ne pas jamais peut peuvent pourra pourront
    pourrait doit doivent devra devront qui vous tu il elle on""".split()
)
SUBJECTS = frozenset("you u tu vous toi".split())

# The placeholder of rag/injection.py, however an answer re-spells it.
PLACEHOLDER = re.compile(r"instruction[\s-]*like\s+text\s+removed")
