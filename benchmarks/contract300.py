"""A generated long contract with known clause pages, for the summarize benchmark and tests.

    contract = build_contract(pages=300)        # ~300 A4 pages; contract.truth["payment"] -> [(61, 62), ...]
    Path("c.pdf").write_bytes(contract.data)

A master services agreement: a preamble naming the parties on page 1, then numbered articles. Six key
clauses (term and termination, payment, liability, indemnification, confidentiality, intellectual property)
have articles of their own at fixed fractions of the length; three (governing law and jurisdiction,
assignment, notices) sit, as in many real contracts, without a heading of their own among the boilerplate of
a "General Provisions" article near the end. Between them run long operational articles (service
descriptions, acceptance, security, reporting, ...) whose text comes from templates that never use the key
clauses' words, plus a few cross-references to them as real contracts have. `truth` holds, per topic, the
pages of its article (or of its clauses among the general provisions), recorded while the PDF is laid out.
`toc=False` leaves the outline out (headings must then be detected); `omit` leaves key clauses out (a summary
must report them not found); `general=()` gives every key clause its own article.

Run it directly to write a file: `python benchmarks/contract300.py out.pdf [pages] [--no-toc]`.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

PAGE = pymupdf.paper_rect("a4")
MARGIN = 72.0
BODY = 10.5
LEADING = 1.45

PREAMBLE = (
    "This Master Services Agreement (the \"Agreement\") is made on 3 March 2025 between Lumen Text Analytics "
    "Ltd, a company registered in England and Wales under number 11842093, whose registered office is at 14 "
    "Carver Street, Sheffield S1 4FS (the \"Provider\"), and Northwind Publishing GmbH, a company registered "
    "in Germany under HRB 220431, whose office is at Rosenthaler Strasse 40, 10178 Berlin (the \"Client\"). "
    "The Provider and the Client are each a \"Party\" and together the \"Parties\"."
)

# (topic, article title, clauses); positions are fractions of the body where the article is placed
KEY_ARTICLES: list[tuple[str, float, str, list[str]]] = [
    ("term and termination", 0.06, "Term and Termination", [
        "This Agreement starts on the Effective Date and continues for an initial term of thirty-six (36) "
        "months. It then renews automatically for successive periods of twelve (12) months unless either "
        "Party gives at least ninety (90) days' written notice before the end of the current term.",
        "Either Party may terminate this Agreement with immediate effect by written notice if the other "
        "Party commits a material breach that is not remedied within thirty (30) days of being notified of "
        "it, or becomes insolvent, enters administration or ceases to carry on business.",
        "The Client may terminate any Statement of Work for convenience on sixty (60) days' written notice, "
        "paying for the Services performed up to the date of termination.",
        "On termination the Provider shall deliver all completed Deliverables and each Party shall return "
        "the property of the other. Clauses that by their nature should survive termination do so.",
    ]),
    ("payment", 0.17, "Fees and Payment", [
        "The Client shall pay the fees set out in each Statement of Work. Unless stated otherwise, fees are "
        "invoiced monthly in arrears and are exclusive of value added tax.",
        "Invoices are payable within thirty (30) days of receipt by bank transfer to the account named on "
        "the invoice. The Client may dispute an invoice in good faith within fifteen (15) days of receipt "
        "and shall pay the undisputed part when due.",
        "Late payments bear interest at four percent (4%) per year above the base rate of the Bank of "
        "England from the due date until payment is made in full.",
        "The Provider may increase its rates once per contract year by no more than the change in the UK "
        "Consumer Prices Index over the preceding twelve months.",
    ]),
    ("liability and its limits", 0.29, "Limitation of Liability", [
        "Nothing in this Agreement limits liability for death or personal injury caused by negligence, for "
        "fraud, or for any liability that cannot be limited by law.",
        "Neither Party is liable for any loss of profit, revenue, goodwill or anticipated savings, or for "
        "any indirect or consequential loss, however arising.",
        "Each Party's total liability arising under or in connection with this Agreement in any contract "
        "year is limited to one hundred and twenty-five percent (125%) of the fees paid and payable in that "
        "contract year.",
    ]),
    ("indemnification", 0.40, "Indemnification", [
        "The Provider shall indemnify the Client against all damages, costs and reasonable legal fees "
        "arising from any claim that the Deliverables infringe the rights of a third party, except where "
        "the claim arises from materials supplied by the Client.",
        "The Client shall indemnify the Provider against any claim arising from the manuscripts or other "
        "materials supplied by the Client, including claims of defamation.",
        "The indemnified Party shall tell the other promptly of any claim, allow it to conduct the defence "
        "and settlement, and give reasonable assistance at the indemnifying Party's cost.",
    ]),
    ("confidentiality", 0.51, "Confidentiality", [
        "Each Party shall keep the other's Confidential Information confidential, use it only to perform or "
        "receive the Services, and disclose it only to employees and advisers who need to know it and are "
        "bound by equivalent obligations.",
        "These obligations do not apply to information that is or becomes public other than through a "
        "breach of this Agreement, that was lawfully known to the recipient before disclosure, or that must "
        "be disclosed by law or by a regulator.",
        "The obligations in this Article continue for five (5) years after the end of this Agreement.",
    ]),
    ("intellectual property", 0.62, "Intellectual Property", [
        "All intellectual property rights in the Deliverables vest in the Client on payment in full of the "
        "fees for them, and the Provider transfers those rights to the Client with full title guarantee.",
        "The Provider keeps all rights in its software, methods and pre-existing materials, and grants the "
        "Client a non-exclusive, perpetual, royalty-free licence to use them as part of the Deliverables.",
    ]),
    ("governing law and jurisdiction", 0.73, "Governing Law and Jurisdiction", [
        "This Agreement and any dispute arising out of it are governed by the laws of England and Wales.",
        "The Parties shall first try to resolve any dispute by negotiation between senior executives within "
        "thirty (30) days. Failing that, the courts of England and Wales have exclusive jurisdiction.",
    ]),
    ("assignment", 0.84, "Assignment and Subcontracting", [
        "Neither Party may assign, transfer or subcontract any of its rights or obligations under this "
        "Agreement without the prior written consent of the other Party, which shall not be unreasonably "
        "withheld.",
        "Either Party may transfer this Agreement to a successor in a merger or a sale of substantially all "
        "of its business on written notice to the other Party.",
    ]),
    ("notices", 0.93, "Notices", [
        "Notices under this Agreement must be in writing and delivered by hand, by recorded delivery, or by "
        "email to the addresses below. A notice is received on delivery by hand, two (2) business days "
        "after posting, or at the time of transmission of an email sent during business hours.",
        "Provider: legal@lumen-text.example, 14 Carver Street, Sheffield S1 4FS, United Kingdom. Client: "
        "vertraege@northwind-publishing.example, Rosenthaler Strasse 40, 10178 Berlin, Germany.",
    ]),
]
TOPICS = ["parties", *[topic for topic, *_ in KEY_ARTICLES]]
GENERAL_TOPICS = ("governing law and jurisdiction", "assignment", "notices")
GENERAL_AT = 0.93
GENERAL_BOILERPLATE = [
    "This Agreement, with its Schedules and Statements of Work, is the entire agreement of the Parties about "
    "its subject matter and supersedes all earlier understandings.",
    "No variation of this Agreement is effective unless it is in writing and signed by both Parties.",
    "If any provision of this Agreement is held invalid, the rest of the Agreement remains in force.",
    "No failure or delay in exercising a right under this Agreement is a waiver of that right.",
    "This Agreement may be signed in any number of counterparts, each of which is an original.",
    "Neither Party is in breach for a delay caused by events beyond its reasonable control, provided it uses "
    "reasonable efforts to limit the delay.",
    "Nothing in this Agreement creates a partnership or agency relationship of the Parties.",
    "A person who is not a Party has no right to enforce any provision of this Agreement.",
]

FILLER_TITLES = [
    "Service Description", "Implementation Plan", "Acceptance Testing", "Service Levels", "Change Control",
    "Personnel and Staffing", "Security Requirements", "Reporting and Governance", "Business Continuity",
    "Technical Specifications", "Training", "Documentation", "Hosting Environment", "Data Migration",
    "Quality Assurance", "Environmental Standards", "Editorial Workflow", "Readability Scoring Methods",
    "Capacity Planning", "Release Management", "Accessibility", "Style Guide Maintenance",
]
_ACTORS = ["The Provider", "The Client", "The project board", "Each workstream lead", "The service desk",
           "The editorial team", "The operations manager", "The quality lead"]
_VERBS = ["prepare", "review", "maintain", "publish", "test", "document", "schedule", "monitor", "approve",
          "update", "archive", "measure", "calibrate", "validate"]
_OBJECTS = ["the release plan", "the readability reports", "the style guide", "the hosting environment",
            "the test scripts", "the editorial calendar", "the capacity forecast", "the service catalogue",
            "the migration runbook", "the training material", "the accessibility checklist",
            "the incident log", "the scoring models", "the manuscript queue", "the dashboards"]
_TIMING = ["each calendar month", "before each release", "within five business days", "every quarter",
           "at each milestone", "as described in the implementation plan", "on request of the project board",
           "at least once a week", "during the transition period", "in line with good industry practice"]
_EXTRAS = ["so that the figures can be compared from one period to the next",
           "using the templates agreed at the kick-off meeting",
           "and record the outcome in the shared workspace",
           "with the support of the relevant subject matter experts",
           "taking account of the volumes forecast for the following quarter",
           "and escalate any open question to the project board"]
_CROSS_REFS = ["Fees and Payment", "Limitation of Liability", "Confidentiality", "Notices"]


@dataclass
class GeneratedContract:
    data: bytes
    pages: int
    truth: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # topic -> [(first, last page)]


def _general_clauses(buried: list[tuple[str, str]]) -> list[str | tuple[str, str]]:
    """Boilerplate with the buried key clauses spread through it (one after every second boilerplate)."""
    clauses: list[str | tuple[str, str]] = []
    boilerplate = list(GENERAL_BOILERPLATE)
    for item in buried:
        clauses += boilerplate[:2]
        del boilerplate[:2]
        clauses.append(item)
    return clauses + boilerplate


def _sentence(rng: random.Random, articles: dict[str, int]) -> str:
    text = f"{rng.choice(_ACTORS)} shall {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TIMING)}"
    if rng.random() < 0.4:
        text += f", {rng.choice(_EXTRAS)}"
    if rng.random() < 0.02 and articles:  # real contracts point at their key clauses from elsewhere
        title = rng.choice([t for t in _CROSS_REFS if t in articles] or list(articles))
        text += f", subject to Article {articles[title]} ({title})"
    return text + "."


class _Writer:
    def __init__(self) -> None:
        self.doc = pymupdf.open()
        self.page: pymupdf.Page | None = None
        self.y = 0.0
        self.new_page()

    @property
    def number(self) -> int:
        return len(self.doc)

    def new_page(self) -> None:
        self.page = self.doc.new_page(width=PAGE.width, height=PAGE.height)
        self.y = MARGIN

    def paragraph(self, text: str, *, size: float = BODY, font: str = "helv", space_after: float = 5.0,
                  align: int = pymupdf.TEXT_ALIGN_LEFT) -> int:
        width = PAGE.width - 2 * MARGIN
        estimate = pymupdf.get_text_length(text, fontname=font, fontsize=size) / (width * 0.95)
        height = (int(estimate) + 1) * size * LEADING + size
        if self.y + height > PAGE.height - MARGIN:
            self.new_page()
        box = pymupdf.Rect(MARGIN, self.y, PAGE.width - MARGIN, self.y + height)
        spare = self.page.insert_textbox(box, text, fontname=font, fontsize=size, lineheight=LEADING,
                                         align=align)
        while spare < 0:  # the estimate was short and nothing was written: grow the box (or the page)
            box.y1 += -spare + size
            if box.y1 > PAGE.height - MARGIN:
                self.new_page()
                box = pymupdf.Rect(box.x0, self.y, box.x1, self.y + box.height)
            spare = self.page.insert_textbox(box, text, fontname=font, fontsize=size, lineheight=LEADING,
                                             align=align)
        self.y = box.y1 - spare + space_after
        return self.number  # a paragraph never spans pages: this is its page

    def heading(self, text: str) -> int:
        if self.y > PAGE.height - MARGIN - 120:  # never strand a heading at the foot of a page
            self.new_page()
        self.paragraph(text, size=13, font="hebo", space_after=6)
        return self.number


def build_contract(pages: int = 300, *, toc: bool = True, omit: tuple[str, ...] = (),
                   general: tuple[str, ...] = GENERAL_TOPICS, seed: int = 0) -> GeneratedContract:
    """A contract of about `pages` pages; see the module docstring. The `general` topics have no article of
    their own: their clauses sit among the boilerplate of one "General Provisions" article."""
    rng = random.Random(seed)
    writer = _Writer()
    writer.paragraph("MASTER SERVICES AGREEMENT", size=17, font="hebo", align=pymupdf.TEXT_ALIGN_CENTER,
                     space_after=14)
    writer.paragraph(PREAMBLE, space_after=14)
    truth: dict[str, list[tuple[int, int]]] = {}
    if "parties" not in omit:
        truth["parties"] = [(1, 1)]
    outline: list[list] = []
    numbers: dict[str, int] = {}  # article title -> number, for cross-references
    keys = [k for k in KEY_ARTICLES if k[0] not in omit and k[0] not in general]
    buried = [(topic, clause) for topic, _, _, clauses in KEY_ARTICLES
              if topic in general and topic not in omit for clause in clauses]
    if general:
        keys.append((None, GENERAL_AT, "General Provisions", _general_clauses(buried)))
        keys.sort(key=lambda k: k[1])
    article = 0
    filler = 0
    while writer.number < pages or keys:
        if keys and writer.number >= keys[0][1] * pages:
            topic, _, title, clauses = keys.pop(0)
        else:
            topic, title = None, FILLER_TITLES[filler % len(FILLER_TITLES)]
            if filler >= len(FILLER_TITLES):
                title = f"{title} ({filler // len(FILLER_TITLES) + 1})"
            filler += 1
            clauses = [" ".join(_sentence(rng, numbers) for _ in range(rng.randint(3, 6)))
                       for _ in range(rng.randint(8, 14))]
        article += 1
        numbers[title] = article
        heading = f"Article {article}. {title}"
        first = writer.heading(heading)
        outline.append([1, heading, first])
        for index, clause in enumerate(clauses, start=1):
            text = clause if isinstance(clause, str) else clause[1]
            page = writer.paragraph(f"{article}.{index}  {text}")
            if not isinstance(clause, str):  # a key clause among the general provisions
                first_page = truth.get(clause[0], [(page, page)])[0][0]
                truth[clause[0]] = [(first_page, page)]
        if topic is not None:
            truth[topic] = [(first, writer.number)]
        writer.y += 8
        if writer.number >= pages * 1.5:
            break  # a guard: pages too few for the key articles' fractions never loops forever
    writer.paragraph("Signed for and on behalf of the Parties by their authorised representatives.")
    for number, page in enumerate(writer.doc, start=1):
        page.insert_text((MARGIN, PAGE.height - 40), f"Master Services Agreement - page {number}",
                         fontname="helv", fontsize=8, color=(0.4, 0.4, 0.4))
    if toc:
        writer.doc.set_toc(outline)
    data = writer.doc.tobytes(garbage=4, deflate=True)
    return GeneratedContract(data, writer.number, truth)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.split("\n\n")[-1].strip(), file=sys.stderr)
        return 2
    pages = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 300
    contract = build_contract(pages, toc="--no-toc" not in argv)
    Path(argv[0]).write_bytes(contract.data)
    print(f"wrote {argv[0]}: {contract.pages} pages, {len(contract.data) // 1024} KB")
    for topic, ranges in contract.truth.items():
        print(f"  {topic:<32} pages {', '.join(f'{a}-{b}' if a != b else str(a) for a, b in ranges)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
