"""Evidence selection: the sentences of the retrieved passages that answer the question.

The answer is built evidence-first. Before the model writes anything, the
sentences of the retrieved passages are scored against the question and the one
or two that answer it are chosen; the model then only rephrases those, and the
quote is the answer whenever its rephrasing does not hold up. Extractive
selection beats handing the model whole passages on small models, in accuracy and
in speed (RECOMP, Xu et al. 2023; EXIT, Hwang et al. 2024); the first grounding
eval here measured the same (quotes 0.78 key facts, the 270M model's own
sentences 0.44).

A unit of evidence is a sentence, extended with the next sentence where the
first only introduces what follows (it ends in a colon, announces a list or
"three strategies", or the next sentence opens with a connective that carries
its claim). Units are scored by

* dense relevance: the embedder's cosine between the question (as a query) and
  the unit (as a passage);
* lexical relevance: the share of the question's content words (stemmed) that
  occur in the unit;
* answer type: a question that asks for a year, a number or a person needs
  evidence that contains one.

Units repeated by overlapping passages are scored once, under the best-ranked
passage. The same signals decide abstention: a name the question asks about that
no retrieved passage mentions, or an asked-for year or number that no relevant
unit contains, means the documents do not answer it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import numpy as np

from assistant.chunking import chunk_sentences, split_sentences
from assistant.embedding import Embedder
from assistant.settings import GroundingPolicy
from assistant.types import Hit


class AnswerType(StrEnum):
    """What kind of answer a question asks for; ``ANY`` when no specific kind is recognised."""

    YEAR = "year"
    MONEY = "money"
    SHARE = "share"
    NUMBER = "number"
    PERSON = "person"
    ANY = "any"


# Conservative on purpose: "Wanneer is een aanpak geboden?" asks for a condition, "Wie is
# Dominic Schrijer?" for a description and "Hoeveel aandacht ...?" for an amount in words,
# so only explicit phrasings count.
_TYPE_PATTERNS: tuple[tuple[AnswerType, re.Pattern], ...] = (
    (
        AnswerType.YEAR,
        re.compile(
            r"\b(?:in|sinds|vanaf|tot|uit)?\s*welk jaar\b|\bsinds wanneer\b|\bin welk decennium\b"
            r"|\b(?:in|since|from) (?:what|which) year\b|\bwhat year\b|\bsince when\b",
            re.I,
        ),
    ),
    (
        # A sum of money, asked for as such: any figure will not do ("Hoeveel geld is er uitgegeven aan
        # ...?" is not answered by the percentages of the policy's housing targets).
        AnswerType.MONEY,
        re.compile(
            r"\bhoeveel (?:\w+e )?(?:geld|euro|kost\w*)\b|\bwelk bedrag\b|\bwat (?:kost|kostte|kosten|kostten)\b"
            r"|\bhow much (?:money|did \w+(?: \w+)* cost|does \w+(?: \w+)* cost)\b"
            r"|\bwhat (?:amount of money|did \w+(?: \w+)* cost)\b",
            re.I,
        ),
    ),
    (
        # A percentage, asked for as such: a count or a list number will not do ("Welk percentage van de
        # bewoners ...?" is not answered by "de meerderheid ... ad 3.").
        AnswerType.SHARE,
        re.compile(r"\bwelk percentage\b|\bhoeveel procent\b|\bwhat percentage\b|\bhow many per ?cent\b", re.I),
    ),
    (
        AnswerType.NUMBER,
        re.compile(
            r"\bhoeveel (?:\w+e )?(?:keer|bedraagt|\w+(?:en|s|'s))\b|\bhoe (?:oud|groot|hoog)\b"
            r"|\bwelk aantal\b|\bhow many\b|\bhow much (?:did|does|do|is|was)\b"
            r"|\bby how much\b|\bhow (?:old|high)\b|\bwhat (?:share|amount|number)\b",
            re.I,
        ),
    ),
    (
        AnswerType.PERSON,
        re.compile(
            r"^(?:wie|who) (?!is\b|was\b|zijn\b|waren\b|are\b|were\b)\w+"
            r"|\bwelke (?:auteur|onderzoeker|politicus|wethouder|minister|bestuurder|socioloog|hoogleraar)s?\b"
            # a body or a study is answered by its name too: "de Rekenkamer", "Wittebrood en Van der Wouden"
            r"|\bwelke (?:instanties?|instelling(?:en)?|organisaties?|studies?)\b"
            r"|\bwhich (?:author|researcher|politician|alderman|minister|administrator|sociologist|professor)s?\b"
            r"|\bwhich (?:body|bodies|agency|agencies|institutions?|organi[sz]ations?|study|studies)\b",
            re.I,
        ),
    ),
)

# A year, or a decade or century written out: "sinds halverwege de jaren negentig", "de jaren '80",
# "in de negentiende eeuw", "the 1990s" (which the four digits already match).
_YEAR = re.compile(
    r"\b(?:1[5-9]\d\d|20\d\d)\b"
    r"|\bjaren (?:twintig|dertig|veertig|vijftig|zestig|zeventig|tachtig|negentig|['’]?[1-9]0)\b"
    r"|\b(?:zestiende|zeventiende|achttiende|negentiende|twintigste|eenentwintigste) eeuw\b"
    r"|\b(?:twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties)\b"
    r"|\b(?:sixteenth|seventeenth|eighteenth|nineteenth|twentieth|twenty-first) century\b",
    re.I,
)
# A sum of money names its currency, by sign or by name ("€ 300", "3 miljard euro", "miljoenen guldens").
_MONEY = re.compile(r"[€$£ƒ]\s*\d|\b(?:euro|gulden|dollar|EUR|USD)(?:s|'s)?\b", re.I)
# A figure is a number of its own: not a footnote mark glued to a word ("multiculturalisering2",
# "na te streven1."), nor the number of a list item or note ("ad 3. Accepteren", "3 We kiezen").
_DIGITS = re.compile(r"(?<![^\W\d_])\d")
_MARKER = re.compile(r"(?:^|(?<=[.!?:;]\s))(?:ad\s+)?\d{1,2}\.?\s+(?=[A-ZÀ-Ý])")
# A share states a percentage or a fraction ("65 procent", "het percentage ... van 65 naar 42", "de helft").
_SHARE = re.compile(
    r"%|\b(?:procent|percent|per cent|helft|half|kwart|quarter)\b|\b(?:een|twee|one|two) (?:derde|third)s?\b"
    r"|\b(?:percentage|aandeel|share)\b.*\d|\d.*\b(?:percentage|aandeel|share)\b",
    re.I,
)
# "Ten derde" and "een derde optie" are ordinals, not figures; "een derde van de woningen" is one.
_NUMBER_WORDS = re.compile(
    r"\b(?:twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|twintig|dertig|veertig|vijftig|honderd|duizend"
    r"|miljoen|miljard|procent|helft|two|three|four|five|six|hundred|thousand|million|percent|half)\b"
    r"|\b(?:een|twee) (?:derde|kwart)(?= van)",
    re.I,
)
# The year of a literature reference dates a publication, not the event asked about ("Dominic
# Schrijer (2003), bestuurder van Charlois" does not say when he became one) - unless the
# question asks when something was published.
_PUBLICATION = re.compile(
    r"\b(?:verscheen|verschenen|publiceerde|gepubliceerd|schreef|geschreven|published|appeared|wrote|written)\b", re.I
)
# A literature reference, "(Bolt, 2004; Musterd e.a., 2003a)" or "(2004, p. 409)", is not a figure.
_REFERENCE = re.compile(r"\([^()]*\b(?:1[5-9]|20)\d\d[a-z]?\b[^()]*\)|\bpp?\.\s*\d+(?:\s*[-–]\s*\d+)?")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZÀ-Ý][a-zà-ÿ]+(?:[-\s][A-ZÀ-Ý][a-zà-ÿ]+)*")

# A sentence that only announces what follows.
_INTRODUCES = re.compile(
    r":\s*$|\b(?:twee|drie|vier|vijf|zes|2|3|4|5|6)\s+\w*(?:en|s)\b.*\b(?:zijn|bestaan|noemen|zijn er)\b"
    r"|\b(?:als volgt|de volgende|het volgende|namelijk)\b[^.]*[.:]?\s*$",
    re.I,
)
_LIST_ITEM = re.compile(r"^(?:\d+[.)]|ad \d|[-•–]\s)", re.I)
# A next sentence that carries on the claim of the one before it.
_CARRIES_ON = re.compile(
    r"^(?:\d+\.|ad \d|ten eerste|ten tweede|ten derde|ten slotte|dat|dit|deze|die|daarbij|daarom|daardoor|"
    r"hierdoor|zo|immers|met andere woorden|kortom|bovendien)\b",
    re.I,
)
_MAX_UNIT_CHARS = 600
_INTERROGATIVES = (
    "wie wat welke welk waar wanneer waarom hoe hoeveel hoelang waardoor waarmee waarop waarin waarover "
    "waaraan waarvoor waarvan who whom whose what which where when why how"
).split()


@dataclass(frozen=True)
class EvidenceUnit:
    """A sentence (or sentence and continuation) of a retrieved passage, scored against a question.

    ``hit`` is the 0-based rank of the passage it comes from.
    """

    hit: int
    text: str
    dense: float
    lexical: float
    has_type: bool
    score: float


@dataclass(frozen=True)
class Selection:
    """The chosen evidence and the signals that decide whether to answer at all."""

    answer_type: AnswerType
    units: tuple[EvidenceUnit, ...]  # chosen, best first
    candidates: int  # units scored
    best_dense: float  # dense relevance of the best unit on its own, without its passage's (0 when there is none)
    best_lexical: float
    type_found: bool  # a relevant unit holds the asked-for kind of answer (True when none is asked)
    missing_names: tuple[str, ...]  # names in the question that no retrieved passage mentions
    missing_focus: str = ""  # what a Dutch question asks about ("telefoonnummer") when no passage mentions it
    references: bool = False  # a reference's year counts as the answer (the question asks for a publication year)
    names_in_best: bool = False  # the question names someone or something, and the best unit names them all
    anchor: int = 0  # rank of the passage holding the best unit on its own (whose cosine is best_dense)
    # names in the question that the documents mention, but not near the evidence (set by the caller,
    # which knows the documents' titles and authors)
    names_elsewhere: tuple[str, ...] = ()


def answer_type(question: str) -> AnswerType:
    """The kind of answer ``question`` explicitly asks for."""
    q = " ".join(question.split())
    for kind, pattern in _TYPE_PATTERNS:
        if pattern.search(q):
            return kind
    return AnswerType.ANY


def has_answer_type(text: str, kind: AnswerType, references: bool = False) -> bool:
    """Whether ``text`` contains an answer of the given kind.

    Figures inside literature references do not count, unless ``references`` (the question
    asks when something was published).
    """
    if kind is AnswerType.ANY:
        return True
    bare = text if references else _REFERENCE.sub(" ", text)
    if kind is AnswerType.YEAR:
        return bool(_YEAR.search(bare))
    if kind is AnswerType.MONEY:
        return bool(_MONEY.search(bare))
    bare = _MARKER.sub(" ", bare)
    if kind is AnswerType.SHARE:
        return bool(_SHARE.search(bare))
    if kind is AnswerType.NUMBER:
        return bool(_DIGITS.search(bare) or _NUMBER_WORDS.search(bare) or "%" in bare)
    return bool(_NAME.search(bare))


def asks_publication(question: str) -> bool:
    """Whether the question asks when something was published (a reference's year answers it)."""
    return bool(_PUBLICATION.search(question))


# What a Dutch question asks for: "Wat is het e-mailadres van ...", "Welke opleiding ...",
# "Aan welke universiteit ...", "Hoeveel buurtpanels ...".
_FOCUS = (
    re.compile(r"^(?:wat|wie) (?:is|zijn|was|waren) (?:het|de|een) (.+)", re.I),
    re.compile(r"^(?:\w+ )?(?:welke?|hoeveel) (.+)", re.I),
)
# Words that can stand before the noun: numerals, "meest", and inflected adjectives and ordinals,
# which end in -e ("welke drie kritische punten", "de meest pregnante conclusie", "de derde optie").
_MODIFIER = re.compile(r"^(?:\w+e|\d+|twee|drie|vier|vijf|zes|meest|minst)$")
# A noun ending in -e is no adjective when a verb follows it ("Welke methode gebruikten Gijsberts
# en Dagevos", "Welk percentage moest de sociale huur"): the verb is an auxiliary or stands before
# the subject, an article, a pronoun or a name.
_AUXILIARIES = frozenset(
    """is zijn was waren heeft hebben had hadden wordt worden werd werden kan kunnen kon konden moet
    moeten moest moesten zou zouden zal zullen wil willen wilde wilden""".split()
)
_SUBJECT_START = frozenset("de het een er men zij ze hij je u we wij hun deze dit die dat".split())
# ... or a separable verb's particle and a clause ("Welke studie toont aan dat ...").
_PARTICLES = frozenset("aan af op uit mee toe terug weg door over na om bij in voor".split())
_CLAUSE_START = frozenset("dat of hoe wat wie waarom welke wanneer".split())
# ... nor when a preposition or conjunction follows it ("de derde optie voor bestuurders").
_AFTER_NOUN = frozenset("van voor in op met uit aan over bij naar om tot door dan en of die dat".split())
# Category nouns name the kind of answer, not something the text has to say: a passage lists
# the measures or points without calling them "maatregelen" or "punten", the fields ("op welke
# terreinen") without calling them "terreinen", a body or a study by its name ("de Rekenkamer",
# "Wittebrood en Van der Wouden"), which the type check asks for. A role ("Welke wethouder ...") is
# not one of them: a text that answers says "wethouder".
_CATEGORY_NOUNS = frozenset(
    """aantal argument argumenten aspect aspecten deel effect effecten element elementen factor factoren
    gevolg gevolgen jaar kenmerk kenmerken manier manieren mate maatregel maatregelen mogelijkheid
    mogelijkheden oorzaak oorzaken optie opties percentage procent punt punten reden redenen rol soort
    soorten stap stappen vorm vormen vraag vragen voorbeeld voorbeelden wijze zin groep groepen categorie
    categorieën type typen terrein terreinen domein domeinen sector sectoren thema thema's
    instantie instanties instelling instellingen organisatie organisaties studie studies
    het de een""".split()
)


def _ends_noun_phrase(word: str, after: list[str]) -> bool:
    """Whether ``word``, following a possible modifier, is a verb or a preposition, so that the
    modifier was the noun."""
    if word.lower() in _AUXILIARIES or word.lower() in _AFTER_NOUN:
        return True
    if len(after) >= 2 and after[0].lower() in _PARTICLES and after[1].lower() in _CLAUSE_START:
        return True
    return bool(after) and (after[0].lower() in _SUBJECT_START or after[0][:1].isupper())


def question_focus(question: str, language: str) -> str:
    """The noun a Dutch question asks about ("e-mailadres", "opleiding"); "" when there is none.

    English questions about Dutch text are not checked: their words are translations.
    """
    if language != "nl":
        return ""
    q = " ".join(question.split())
    for pattern in _FOCUS:
        match = pattern.search(q)
        if not match:
            continue
        words = re.findall(r"[\w-]+", match.group(1))
        i = 0
        while (
            i < len(words) - 1
            and _MODIFIER.match(words[i].lower())
            and not _ends_noun_phrase(words[i + 1], words[i + 2 :])
        ):
            i += 1
        word = words[i].lower() if words else ""
        return "" if word in _CATEGORY_NOUNS or len(word) < 4 else word
    return ""


def _occurs(word: str, words: frozenset[str] | set[str], compounds: bool = False) -> bool:
    """``word`` or an inflection of it ("Rotterdamse" for "Rotterdam"); with ``compounds``, also a
    compound ending in it ("beroepsopleiding" for "opleiding").

    An inflection shares all but the last three letters and is at most four letters longer:
    "methodologische" shares "meth" with "methode" but is another word.
    """
    if word in words:
        return True
    need = max(4, len(word) - 3)
    return any(
        (need <= len(w) <= len(word) + 4 and w[:need] == word[:need])
        or (compounds and len(w) > len(word) and w.endswith(word))
        for w in words
    )


def _tokens(text: str) -> set[str]:
    from assistant.retrieval import bm25_tokenize

    return set(bm25_tokenize([text])[0])


def lexical_overlap(question_tokens: set[str], text: str) -> float:
    """Share of the question's content words (stemmed, no stop words) that occur in ``text``."""
    if not question_tokens:
        return 0.0
    return len(question_tokens & _tokens(text)) / len(question_tokens)


@lru_cache(maxsize=1)
def _english_frequency():
    from wordfreq import zipf_frequency

    return zipf_frequency


def question_names(question: str, language: str) -> list[str]:
    """Names the question asks about: capitalised words after its first, and acronyms.

    In an English question about Dutch text, common English words ("Court of Audit",
    "Dutch") are translations rather than names, so only rare words count as names there.
    """
    words = re.findall(r"[\w’'-]+", question)
    names = []
    for i, word in enumerate(words):
        core = re.sub(r"[’']s$", "", word.strip("’'-"))
        if len(core) < 2:
            continue
        if not core[0].isupper():
            # "commissie-Blok", "oud-minister Dekker": a capitalised part after a hyphen makes a name
            if any(part[:1].isupper() for part in core.split("-")[1:]):
                names.append(core)
            continue
        acronym = sum(ch.isupper() for ch in core) >= 2
        if i == 0 and not acronym:
            continue
        if language == "en" and not acronym and _english_frequency()(core.lower(), "en") >= 3.0:
            continue
        names.append(core)
    return names


def corpus_vocabulary(texts: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Lower-cased words of the texts, and the numbers they state outside literature references."""
    words: set[str] = set()
    numbers: set[str] = set()
    for text in texts:
        words.update(re.findall(r"\w+", text.lower()))
        numbers.update(re.findall(r"\d+", _REFERENCE.sub(" ", text)))
    return frozenset(words), frozenset(numbers)


def _mentions(name: str, words: frozenset[str]) -> bool:
    """Whether every word of ``name`` occurs, also inflected ("Rotterdamse" for "Rotterdam")."""
    return all(len(part) >= 4 and _occurs(part, words) or part in words for part in re.findall(r"\w+", name.lower()))


def missing_names(question: str, language: str, vocabulary: tuple[frozenset[str], frozenset[str]]) -> list[str]:
    """The question's names and numbers that the documents never mention.

    Checked against the whole corpus rather than the retrieved passages: a name that is
    somewhere in the documents but not retrieved is a retrieval miss, not a missing fact.
    Numbers count only where the text states them, not in a literature reference.
    """
    words, numbers = vocabulary
    missing = [name for name in question_names(question, language) if not _mentions(name, words)]
    missing += [n for n in dict.fromkeys(re.findall(r"\d+", question)) if n not in numbers]
    return missing


def pinning_names(question: str, language: str, vocabulary: tuple[frozenset[str], frozenset[str]]) -> list[str]:
    """The question's names, when a sentence naming them all may answer it however loosely it is worded.

    Only when the documents use every other word of the question too: "Wat vindt Uitermark van de
    huurtoeslag?" names an author whom many sentences name, but asks about a word no document uses.
    """
    names = question_names(question, language)
    words = vocabulary[0]
    others = [w for w in re.findall(r"\w+", question.lower()) if len(w) >= 4 and not w.isdigit()]
    return names if names and all(_occurs(w, words) for w in others) else []


def _spells(acronym: str, text: str) -> bool:
    """Whether ``text`` writes out ``acronym``: "Sociaal en Cultureel Planbureau" for "SCP"."""
    small = r"(?:\s+(?:en|van|voor|de|het|der|of|and|for|the))*\s+"
    pattern = small.join(rf"{re.escape(letter)}\w+" for letter in acronym)
    return bool(re.search(rf"\b{pattern}\b", text))


def names_absent(names: list[str], text: str) -> list[str]:
    """The ones of ``names`` that ``text`` does not mention, also inflected or, for an acronym, written out."""
    words = frozenset(re.findall(r"\w+", text.lower()))
    return [
        name
        for name in names
        if not _mentions(name, words) and not (name.isupper() and 2 <= len(name) <= 6 and _spells(name, text))
    ]


def names_all(names: list[str], text: str) -> bool:
    """Whether ``text`` mentions every one of ``names``."""
    words = frozenset(re.findall(r"\w+", text.lower()))
    return all(_mentions(name, words) for name in names)


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _restates(question_tokens: set[str], text: str) -> bool:
    """Whether a sentence mostly repeats the question: at least 60% of its content words are the question's."""
    tokens = _tokens(text)
    return bool(tokens) and len(tokens & question_tokens) >= 0.6 * len(tokens)


def candidate_units(hits: list[Hit]) -> list[tuple[int, str, str]]:
    """(passage rank, unit text, the sentence after it) for every sentence of the passages.

    Continuations are joined, duplicates from overlapping passages dropped.
    """
    units: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for rank, hit in enumerate(hits):
        sentences = chunk_sentences(hit.chunk)
        for i, sentence in enumerate(sentences):
            if len(sentence.split()) < 3 and not sentence.rstrip().endswith(":"):
                continue
            text = sentence
            j = i + 1
            while j < len(sentences) and len(text) < _MAX_UNIT_CHARS:
                follows = _LIST_ITEM.match(sentences[j]) or (j == i + 1 and _CARRIES_ON.match(sentences[j]))
                if _INTRODUCES.search(text) or follows:
                    text = f"{text} {sentences[j]}"
                    j += 1
                else:
                    break
            key = _normalise(text)
            if key in seen or any(key in s for s in seen):
                continue
            seen.add(key)
            units.append((rank, text, sentences[j] if j < len(sentences) else ""))
    return units


def select_evidence(
    question: str,
    hits: list[Hit],
    embedder: Embedder,
    language: str,
    policy: GroundingPolicy | None = None,
    query_vector: np.ndarray | None = None,
    vocabulary: tuple[frozenset[str], frozenset[str]] | None = None,
    stored: Callable[[str], np.ndarray | None] | None = None,
    pinned: list[str] | None = None,
) -> Selection:
    """Score every unit of the retrieved passages against ``question`` and choose the best.

    Under ``policy`` (the default settings' when None): up to ``evidence_units`` units are
    chosen, a further one when it scores within ``evidence_margin`` of the best and says
    something else. ``query_vector`` saves re-embedding a question already embedded for retrieval;
    ``vocabulary`` (``corpus_vocabulary`` of all passages) is where the question's names are looked
    up, by default the retrieved passages. ``stored`` gives a unit's vector embedded at index time
    (``IndexData.unit_vector``); units it does not know are embedded here. With
    ``evidence_next_sentence`` every unit is quoted together with the sentence that follows it.
    ``pinned`` is ``pinning_names`` of the question where the caller has it already. The
    passage's own relevance (``passage_weight``) helps choose which units to quote, not the
    signals that decide whether to answer.
    """
    policy = policy or GroundingPolicy.defaults()
    max_units, margin, type_penalty = policy.evidence_units, policy.evidence_margin, policy.type_penalty
    lexical_weight, next_sentence = policy.lexical_weight, policy.evidence_next_sentence
    kind = answer_type(question)
    references = kind is AnswerType.YEAR and asks_publication(question)
    if vocabulary is None:
        vocabulary = corpus_vocabulary([f"{h.chunk.section} {h.chunk.text}" for h in hits])
    missing = tuple(missing_names(question, language, vocabulary))
    focus = question_focus(question, language)
    units = candidate_units(hits)
    if not units:
        return Selection(kind, (), 0, 0.0, 0.0, kind is AnswerType.ANY, missing, "", references)
    q = query_vector if query_vector is not None else embedder.embed_queries([question])[0]
    dense = unit_vectors([text for _, text, _ in units], embedder, stored) @ q
    q_tokens = _tokens(question)
    scored: list[tuple[EvidenceUnit, float]] = []  # (unit, its score without the passage's relevance)
    for (rank, text, following), d in zip(units, dense, strict=True):
        lexical = lexical_overlap(q_tokens, text)
        restates = following and _restates(q_tokens, text)
        if restates:
            # "Why do mixing measures not reduce segregation?" is best matched by the sentence
            # that says they do not; the reason is in the sentence after it.
            text = f"{text} {following}"
        typed = has_answer_type(text, kind, references)
        if following and not restates and next_sentence:
            # Quoted with the sentence after it, which is scored with it only for the type check
            # above: where a sentence matches the question, the claim often continues in the next
            # ("... ook andersom liggen." "Allochtonen die ...").
            text = f"{text} {following}"
        own = float(d) + lexical_weight * lexical - (0.0 if typed else type_penalty)
        score = own + policy.passage_weight * (hits[rank].dense_score or 0.0)
        scored.append((EvidenceUnit(rank, text, float(d), lexical, typed, score), own))
    # Whether to answer at all is decided on the sentences alone (``anchor``, the best of them on its
    # own score, gives the signals); which sentences to quote also weighs how relevant their whole
    # passage is. Mixing the passage into the signals moved them off the thresholds fitted on the
    # sentences and raised held-out false abstentions (docs/limits.md).
    anchor, anchor_score = max(scored, key=lambda pair: pair[1])
    scored.sort(key=lambda pair: -pair[0].score)
    ranked = [unit for unit, _ in scored]
    best = ranked[0]
    chosen = [best]
    quoted = _sentence_keys(best.text)
    for unit in ranked[1:]:
        if len(chosen) >= max_units or unit.score < best.score - margin:
            break
        keys = _sentence_keys(unit.text)
        if keys & quoted:
            # Quoted with the sentence after it, a unit can repeat a sentence already quoted
            # ("Dit is een politieke keuze. Ten slotte ..." after "Ten slotte ..."): once is enough.
            continue
        if unit.has_type or not best.has_type:
            chosen.append(unit)
            quoted |= keys
    # The figure must be about what was asked: in a unit nearly as relevant as the best and sharing at
    # least half as many of the question's words ("In 1997 ... van 65 naar 42" holds numbers, but
    # not the number of neighbourhood panels).
    type_found = kind is AnswerType.ANY or any(
        u.has_type and own >= anchor_score - 2 * type_penalty and u.lexical >= 0.5 * anchor.lexical for u, own in scored
    )
    # ... and what is quoted must hold it. "In which year did Stichting de Wijk set up its neighbourhood
    # panels?" quoted the panels' purpose, with no year in it, because another sentence with a year was
    # nearly as relevant; the answer would have shown no year at all.
    type_found = type_found and (
        kind is AnswerType.ANY or any(has_answer_type(u.text, kind, references) for u in chosen)
    )
    if focus and _occurs(focus, _words_of(hits), compounds=True):
        focus = ""
    if pinned is None:
        pinned = pinning_names(question, language, vocabulary)
    names_in_best = (
        bool(pinned) and names_all(pinned, anchor.text) and _shares_other_word(q_tokens, pinned, anchor.text)
    )
    return Selection(
        kind,
        tuple(chosen),
        len(scored),
        anchor.dense,
        anchor.lexical,
        type_found,
        missing,
        focus,
        references,
        names_in_best,
        anchor.hit,
    )


def _shares_other_word(question_tokens: set[str], names: list[str], text: str) -> bool:
    """Whether ``text`` holds one of the question's content words besides its names, if it has any.

    "Welke maatregelen nam Amsterdam tegen discriminatie?" is not answered by a sentence that only
    names Amsterdam.
    """
    others = question_tokens - _tokens(" ".join(names)) - _question_words()
    return not others or bool(others & _tokens(text))


@lru_cache(maxsize=1)
def _question_words() -> set[str]:
    """Interrogatives and English stop words, as tokens: words of a question that no answer repeats.

    The Dutch stop words are gone from the tokens already; "welke" and "who" are not.
    """
    from bm25s.stopwords import STOPWORDS_EN

    return _tokens(" ".join([*_INTERROGATIVES, *STOPWORDS_EN]))


def _sentence_keys(text: str) -> set[str]:
    return {_normalise(s.text) for s in split_sentences(text) if len(s.text.split()) >= 3}


def unit_vectors(texts: list[str], embedder: Embedder, stored: Callable[[str], np.ndarray | None] | None) -> np.ndarray:
    """Passage-mode vectors of the units: from the index where it has them, embedded otherwise."""
    found = [stored(t) if stored else None for t in texts]
    missing = [i for i, v in enumerate(found) if v is None]
    if missing:
        for i, vector in zip(missing, embedder.embed_passages([texts[i] for i in missing]), strict=True):
            found[i] = vector
    return np.stack([np.asarray(v, dtype=np.float32) for v in found])


def _words_of(hits: list[Hit]) -> set[str]:
    text = " ".join(f"{h.chunk.section} {h.chunk.text}" for h in hits).lower()
    return set(re.findall(r"[\w-]+", text)) | set(re.findall(r"\w+", text))


__all__ = [
    "AnswerType",
    "EvidenceUnit",
    "Selection",
    "answer_type",
    "names_all",
    "pinning_names",
    "has_answer_type",
    "question_names",
    "question_focus",
    "asks_publication",
    "missing_names",
    "corpus_vocabulary",
    "candidate_units",
    "select_evidence",
]
