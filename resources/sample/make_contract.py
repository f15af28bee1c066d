"""Generate the sample project's contract PDF: `python resources/sample/make_contract.py`.

A fictional master services agreement between the makers of `textstats` and a client, with numbered
articles (parties, term and termination, payment, liability, indemnification, confidentiality, IP,
governing law, assignment, notices) over several pages. The output is committed beside this script as
services-agreement.pdf; only PyMuPDF's built-in Base-14 fonts are used, so the file stays small.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pymupdf

OUTPUT = Path(__file__).resolve().parent / "services-agreement.pdf"
PAGE = pymupdf.paper_rect("a4")
MARGIN = 78
BODY = 11.5
LEADING = 1.55

TITLE = "MASTER SERVICES AGREEMENT"
PREAMBLE = (
    "This Master Services Agreement (the \"Agreement\") is made on 3 March 2025 (the \"Effective Date\") "
    "between Lumen Text Analytics Ltd, a company registered in England and Wales under number 11842093, "
    "whose registered office is at 14 Carver Street, Sheffield S1 4FS (the \"Provider\"), and Northwind "
    "Publishing GmbH, a company registered in Germany under HRB 220431, whose office is at Rosenthaler "
    "Strasse 40, 10178 Berlin (the \"Client\"). The Provider and the Client are each a \"Party\"."
)

ARTICLES: list[tuple[str, list[str]]] = [
    ("Definitions", [
        "\"Services\" means the text analysis, readability scoring and editorial reporting services "
        "described in each Statement of Work, including access to the textstats software.",
        "\"Statement of Work\" means a document signed by both Parties that describes Services, "
        "deliverables, milestones and fees, and refers to this Agreement.",
        "\"Deliverables\" means all reports, data sets, configurations and software delivered to the "
        "Client under a Statement of Work.",
        "\"Confidential Information\" means any information disclosed by one Party to the other that is "
        "marked confidential or that a reasonable person would understand to be confidential.",
    ]),
    ("Services", [
        "The Provider shall perform the Services with reasonable skill and care, in accordance with good "
        "industry practice and the service levels set out in Schedule 1.",
        "Each Statement of Work forms part of this Agreement. If a Statement of Work conflicts with this "
        "Agreement, this Agreement prevails unless the Statement of Work expressly states otherwise.",
        "The Client shall provide the manuscripts, style guides and access reasonably required for the "
        "Provider to perform the Services, in the formats agreed in the Statement of Work.",
    ]),
    ("Term and Termination", [
        "This Agreement starts on the Effective Date and continues for an initial term of twenty-four (24) "
        "months. It then renews automatically for successive periods of twelve (12) months unless either "
        "Party gives at least ninety (90) days' written notice before the end of the current term.",
        "Either Party may terminate this Agreement with immediate effect by written notice if the other "
        "Party commits a material breach that is not remedied within thirty (30) days of being notified "
        "of it, or becomes insolvent, enters administration or ceases to carry on business.",
        "The Client may terminate any Statement of Work for convenience on sixty (60) days' written "
        "notice, paying for Services performed up to the date of termination.",
        "On termination each Party shall return or destroy the other's Confidential Information, and the "
        "Provider shall deliver all completed Deliverables. Articles 6, 7, 8 and 9 survive termination.",
    ]),
    ("Fees and Payment", [
        "The Client shall pay the fees set out in each Statement of Work. Unless stated otherwise, fees "
        "are invoiced monthly in arrears and are exclusive of value added tax.",
        "Invoices are payable within thirty (30) days of receipt by bank transfer to the account named on "
        "the invoice. The Client may dispute an invoice in good faith by written notice within fifteen "
        "(15) days of receipt, and shall pay the undisputed part when due.",
        "Late payments bear interest at four percent (4%) per year above the base rate of the Bank of "
        "England from the due date until payment. The Provider may suspend the Services if an undisputed "
        "invoice remains unpaid for more than forty-five (45) days after a reminder.",
        "The Provider may increase its rates once per contract year by no more than the change in the UK "
        "Consumer Prices Index over the preceding twelve months, on sixty (60) days' notice.",
    ]),
    ("Warranties", [
        "Each Party warrants that it has full power and authority to enter into this Agreement.",
        "The Provider warrants that the Deliverables will materially conform to the Statement of Work for "
        "ninety (90) days after delivery. The Client's sole remedy for a breach of this warranty is the "
        "correction or re-performance of the non-conforming Deliverable.",
    ]),
    ("Limitation of Liability", [
        "Nothing in this Agreement limits liability for death or personal injury caused by negligence, "
        "for fraud, or for any liability that cannot be limited by law.",
        "Subject to clause 6.1, neither Party is liable for any loss of profit, revenue, goodwill or "
        "anticipated savings, or for any indirect or consequential loss.",
        "Subject to clause 6.1, each Party's total liability arising under or in connection with this "
        "Agreement in any contract year is limited to one hundred and twenty-five percent (125%) of the "
        "fees paid and payable by the Client in that contract year.",
    ]),
    ("Indemnification", [
        "The Provider shall indemnify the Client against all damages, costs and reasonable legal fees "
        "arising from any claim that the Deliverables infringe the intellectual property rights of a "
        "third party, except where the claim arises from materials supplied by the Client.",
        "The Client shall indemnify the Provider against any claim arising from the manuscripts or other "
        "materials supplied by the Client, including claims of defamation or infringement.",
        "The indemnified Party shall notify the other promptly of any claim, allow it to conduct the "
        "defence and settlement, and give reasonable assistance at the indemnifying Party's cost.",
    ]),
    ("Confidentiality", [
        "Each Party shall keep the other's Confidential Information confidential, use it only to perform "
        "or receive the Services, and disclose it only to employees and advisers who need to know it and "
        "are bound by equivalent obligations.",
        "These obligations do not apply to information that is or becomes public other than through a "
        "breach of this Agreement, that was lawfully known to the recipient before disclosure, or that "
        "must be disclosed by law or by a regulator.",
        "The obligations in this Article 8 continue for five (5) years after termination of this Agreement.",
    ]),
    ("Intellectual Property", [
        "All intellectual property rights in the Deliverables vest in the Client on payment in full of the "
        "fees for them. The Provider hereby assigns those rights to the Client with full title guarantee.",
        "The Provider keeps all rights in the textstats software, its methods and its pre-existing "
        "materials, and grants the Client a non-exclusive, perpetual, royalty-free licence to use them as "
        "part of the Deliverables.",
    ]),
    ("Data Protection", [
        "Where the Provider processes personal data on behalf of the Client, it does so only on the "
        "Client's documented instructions and in accordance with the data processing terms in Schedule 2.",
    ]),
    ("Governing Law and Jurisdiction", [
        "This Agreement and any dispute arising out of it are governed by the laws of England and Wales.",
        "The Parties shall first try to resolve any dispute by negotiation between senior executives "
        "within thirty (30) days. Failing that, the courts of England and Wales have exclusive "
        "jurisdiction.",
    ]),
    ("Assignment and Subcontracting", [
        "Neither Party may assign, transfer or subcontract any of its rights or obligations under this "
        "Agreement without the prior written consent of the other Party, which shall not be unreasonably "
        "withheld. Either Party may assign this Agreement to a successor in a merger or sale of "
        "substantially all of its business on written notice.",
    ]),
    ("Notices", [
        "Notices under this Agreement must be in writing and delivered by hand, by recorded delivery, or "
        "by email to the addresses below. A notice is received on delivery by hand, two (2) business days "
        "after posting, or at the time of transmission of an email sent during business hours.",
        "Provider: legal@lumen-text.example, 14 Carver Street, Sheffield S1 4FS, United Kingdom. "
        "Client: vertraege@northwind-publishing.example, Rosenthaler Strasse 40, 10178 Berlin, Germany.",
    ]),
    ("General", [
        "This Agreement, with its Schedules and Statements of Work, is the entire agreement between the "
        "Parties and supersedes all earlier understandings about its subject matter.",
        "No variation of this Agreement is effective unless it is in writing and signed by both Parties. "
        "If any provision is held invalid, the rest of the Agreement remains in force.",
    ]),
]

SCHEDULES: list[tuple[str, list[str]]] = [
    ("Schedule 1. Service Levels", [
        "Availability. The hosted reporting service shall be available 99.5% of each calendar month, "
        "excluding scheduled maintenance announced at least five (5) business days in advance.",
        "Turnaround. Standard readability reports are delivered within two (2) business days of receipt "
        "of a manuscript; express reports within four (4) business hours, at the express rate.",
        "Support. Support requests are acknowledged within one (1) business hour and resolved or given a "
        "workaround within one (1) business day for severity 1 issues and five (5) days otherwise.",
        "Service credits. If availability falls below the target in a month, the Client receives a credit "
        "of five percent (5%) of that month's fees for each full percentage point below target, up to "
        "twenty-five percent (25%). Service credits are the Client's sole remedy for missed service levels.",
    ]),
    ("Schedule 2. Data Processing Terms", [
        "Subject matter. The Provider processes the names and contact details of authors and editors that "
        "appear in manuscripts, for the duration of the Agreement, solely to perform the Services.",
        "Security. The Provider shall keep manuscripts encrypted at rest and in transit, restrict access "
        "to named staff, and keep an access log for at least twelve (12) months.",
        "Sub-processors. The Provider uses only the sub-processors listed in its published register and "
        "shall give thirty (30) days' notice of any change, during which the Client may object.",
        "Breaches. The Provider shall notify the Client without undue delay, and in any case within "
        "thirty-six (36) hours, after becoming aware of a personal data breach affecting Client data.",
        "Deletion. On termination the Provider shall delete all Client personal data within thirty (30) "
        "days, unless the law requires it to be kept, and confirm the deletion in writing.",
    ]),
]


class Writer:
    """Lays out paragraphs top to bottom, starting a new page when the next one does not fit."""

    def __init__(self, doc: pymupdf.Document):
        self.doc = doc
        self.page: pymupdf.Page | None = None
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        self.page = self.doc.new_page(width=PAGE.width, height=PAGE.height)
        self.y = MARGIN

    def paragraph(self, text: str, *, size: float = BODY, font: str = "helv", indent: float = 0.0,
                  space_after: float = 6.0, align: int = pymupdf.TEXT_ALIGN_JUSTIFY) -> None:
        width = PAGE.width - 2 * MARGIN - indent
        text_width = pymupdf.get_text_length(text, fontname=font, fontsize=size)
        lines = max(1, round(text_width / (width * 0.97)) + 1)
        height = lines * size * LEADING + size
        if self.y + height > PAGE.height - MARGIN:
            self.new_page()
        box = pymupdf.Rect(MARGIN + indent, self.y, PAGE.width - MARGIN, self.y + height)
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

    def footers(self) -> None:
        total = len(self.doc)
        for number, page in enumerate(self.doc, start=1):
            parties = "Lumen Text Analytics Ltd / Northwind Publishing GmbH"
            page.insert_text((MARGIN, PAGE.height - 40), parties, fontname="helv", fontsize=8,
                             color=(0.4, 0.4, 0.4))
            label = f"Page {number} of {total}"
            x = PAGE.width - MARGIN - pymupdf.get_text_length(label, fontname="helv", fontsize=8)
            page.insert_text((x, PAGE.height - 40), label, fontname="helv", fontsize=8, color=(0.4, 0.4, 0.4))


def build() -> bytes:
    doc = pymupdf.open()
    writer = Writer(doc)
    writer.paragraph(TITLE, size=17, font="hebo", align=pymupdf.TEXT_ALIGN_CENTER, space_after=14)
    writer.paragraph(PREAMBLE, space_after=16)
    toc = []
    for number, (title, clauses) in enumerate(ARTICLES, start=1):
        if writer.y > PAGE.height - MARGIN - 90:  # never strand a heading at the foot of a page
            writer.new_page()
        heading = f"Article {number}. {title}"
        toc.append([1, heading, len(doc)])
        writer.paragraph(heading, size=12.5, font="hebo", align=pymupdf.TEXT_ALIGN_LEFT, space_after=4)
        for index, clause in enumerate(clauses, start=1):
            writer.paragraph(f"{number}.{index}  {clause}")
        writer.y += 8
    writer.paragraph("Signed for and on behalf of the Parties by their authorised representatives.",
                     space_after=30)
    for signer in ("For the Provider: Helen Marsh, Managing Director",
                   "For the Client: Jonas Weber, Geschaeftsfuehrer"):
        writer.paragraph(f"Signature: ______________________    {signer}", align=pymupdf.TEXT_ALIGN_LEFT,
                         space_after=24)
    for title, items in SCHEDULES:
        writer.new_page()
        toc.append([1, title, len(doc)])
        writer.paragraph(title, size=12.5, font="hebo", align=pymupdf.TEXT_ALIGN_LEFT, space_after=8)
        for index, item in enumerate(items, start=1):
            writer.paragraph(f"({index})  {item}")
    writer.footers()
    doc.set_toc(toc)
    doc.set_metadata({"title": "Master Services Agreement", "author": "Lumen Text Analytics Ltd",
                      "subject": "Sample contract for Folio"})
    return doc.tobytes(garbage=4, deflate=True)


def main() -> int:
    data = build()
    OUTPUT.write_bytes(data)
    print(f"wrote {OUTPUT} ({len(data) // 1024} KB, {len(pymupdf.open(stream=data))} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
