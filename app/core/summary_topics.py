"""The topics a summary looks for, and the lexical check that decides whether a passage is about one.

The embedded model is small: the chunks its retrieval picks for "Which clauses cover payment?" are ranked
by the model, but a passage counts as evidence for a topic only when its text, or the heading of the
section it sits in, names the topic (`Topic.heading`, `Topic.text`). A passage whose own section heading
names the topic is *strong* evidence; a passage that only mentions it (the termination clause that says
"return the Confidential Information") is *weak*. Summaries rank strong before weak, then by the model's
retrieval score, so a topic is never reported from a passage that does not talk about it.

Patterns are written with plain spaces; each space matches any run of whitespace, so a phrase broken
across PDF lines still matches. Matching ignores case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STRONG = 2  # the passage's section heading names the topic
WEAK = 1  # only the passage's text does
NONE = 0


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.replace(" ", r"\s+"), re.IGNORECASE)


@dataclass(frozen=True)
class Topic:
    """One thing a reader of a contract looks for: how to ask the memory about it and how to recognise it."""

    name: str
    question: str  # asked of the project memory
    heading: re.Pattern[str]  # a section heading about the topic
    text: tuple[re.Pattern[str], ...]  # any of these in a passage's text: the passage is about the topic

    @classmethod
    def define(cls, name: str, question: str, heading: str, *text: str) -> Topic:
        return cls(name, question, _compile(heading), tuple(_compile(p) for p in text))

    def names_heading(self, title: str | None) -> bool:
        return bool(title) and self.heading.search(title) is not None

    def text_hits(self, text: str) -> int:
        """How many of the topic's text patterns occur in `text`."""
        return sum(1 for pattern in self.text if pattern.search(text))

    def evidence(self, text: str, headings: list[str]) -> int:
        """STRONG, WEAK or NONE: how well a passage (and the headings of the sections it lies in) fits."""
        if any(self.names_heading(title) for title in headings):
            return STRONG
        return WEAK if self.text_hits(text) else NONE


CONTRACT_TOPICS: tuple[Topic, ...] = (
    Topic.define(
        "parties",
        "Who are the parties to this agreement, and how is each party named and described?",
        r"\bparties\b|\bpreamble\b|\brecitals?\b",
        r"\b(?:made|entered into|dated|concluded)\b[^;]{0,200}?\bbetween\b",
        r"\bby and between\b",
        r"\bbetween\b[^;]{0,300}?\( ?(?:the |hereinafter )?[\"\u201c']?[A-Z][\w-]*[\"\u201d']? ?\)",
    ),
    Topic.define(
        "term and termination",
        "How long does the agreement last, how does it renew, and how can it be terminated?",
        r"\bterm\b|\bterminat\w*|\bduration\b|\brenewal\b",
        r"\bterminat\w*\b[^.]{0,120}\b(?:notice|breach|effect|convenience|insolven\w*)",
        r"\b(?:initial|renewal) (?:term|period)\b",
        r"\brenews? automatically\b",
    ),
    Topic.define(
        "payment",
        "What fees are payable, how are they invoiced, and when must invoices be paid?",
        r"\bpayments?\b|\bfees?\b|\binvoic\w+|\bcompensation\b|\bpric(?:e|es|ing)\b|\bcharges\b|\bremuneration\b",
        r"\binvoices?\b[^.]{0,120}\b(?:payable|paid|due|within)\b",
        r"\b(?:payable|paid) within\b",
        r"\blate payments?\b",
        r"\bshall pay\b[^.]{0,80}\b(?:fees?|charges|amounts?|sums?)\b",
    ),
    Topic.define(
        "liability and its limits",
        "How is each party's liability limited or excluded, and what is the cap on liability?",
        r"\bliabilit(?:y|ies)\b",
        r"\b(?:total|aggregate|maximum) liability\b",
        r"\bliab(?:le|ility)\b[^.]{0,120}\b(?:limited|exceed\w*|consequential|indirect|loss of profits?)\b",
        r"\blimitation of liability\b",
    ),
    Topic.define(
        "indemnification",
        "Which party indemnifies the other, against which claims, and how are claims handled?",
        r"\bindemni\w+|\bhold harmless\b",
        r"\bindemnif\w+",
        r"\bindemnit(?:y|ies)\b",
        r"\bhold\w* harmless\b",
    ),
    Topic.define(
        "confidentiality",
        "What must the parties keep confidential, what are the exceptions, and for how long?",
        r"\bconfidential\w*|\bnon-?disclosure\b|\bsecrecy\b",
        r"\bconfidential information\b[^.]{0,200}\b(?:disclos\w*|use|keep|protect\w*)\b",
        r"\bkeep\b[^.]{0,60}\bconfidential\b",
        r"\b(?:shall|must) not disclose\b",
    ),
    Topic.define(
        "intellectual property",
        "Who owns the intellectual property in the deliverables, and what licences are granted?",
        r"\bintellectual property\b|\bownership\b|\bproprietary rights\b|\blicen[cs]es?\b|\bcopyrights?\b",
        r"\bintellectual property rights?\b",
        r"\b(?:copyrights?|patents?|trade ?marks?)\b",
        r"\blicen[cs]e\b[^.]{0,80}\b(?:to use|royalty|exclusive|perpetual)",
    ),
    Topic.define(
        "governing law and jurisdiction",
        "Which law governs the agreement, and which courts have jurisdiction over disputes?",
        r"\bgoverning law\b|\bapplicable law\b|\bjurisdiction\b|\bchoice of law\b|\bdisputes?\b",
        r"\bgoverned by\b[^.]{0,80}\blaws?\b",
        r"\b(?:exclusive|non-exclusive) jurisdiction\b",
        r"\bcourts of\b",
        r"\barbitration\b",
    ),
    Topic.define(
        "assignment",
        "May a party assign or transfer the agreement or subcontract its obligations, and on what terms?",
        r"\bassignment\b|\bsubcontract\w*|\btransfer of (?:rights|the agreement)\b",
        r"\b(?:may not|shall not|cannot|must not)\b[^.]{0,40}\bassign\b",
        r"\bassign\w*\b[^.]{0,160}\b(?:prior )?written consent\b",
        r"\bassign\w*,? (?:or )?transfer\b",
    ),
    Topic.define(
        "notices",
        "How must notices under the agreement be given, and when is a notice received?",
        r"\bnotices?\b",
        r"\bnotices?\b[^.]{0,80}\b(?:must|shall) be (?:given )?in writing\b",
        r"\bnotices?\b[^.]{0,60}\b(?:is|are|shall be) (?:deemed )?(?:received|given|served|delivered)\b",
    ),
)


def topic_by_name(name: str) -> Topic:
    for topic in CONTRACT_TOPICS:
        if topic.name == name:
            return topic
    raise KeyError(name)
