"""Generate the Coffre demo corpus: invented internal documents of "Northbridge Bank".

Run from the repository root:

    .venv/bin/python bench/demo/make_corpus.py

The script writes ten files in ``bench/demo/corpus/`` covering the formats Coffre ingests
(PDF, DOCX, XLSX, PPTX, HTML, Markdown, e-mail, plain text), two of them in French. Every
document is fictional and is packed with specific facts (amounts, thresholds, deadlines,
names) so that the questions in ``bench/demo/questions.jsonl`` have unambiguous answers.

Output is deterministic: all dates and metadata are fixed, and the Office files (which are
zip archives) are rewritten with fixed entry timestamps and fixed ``docProps/core.xml``
dates, so two runs produce byte-identical files.

The PDF layout is controlled page by page (explicit page breaks); the script aborts if any
page overflows, because ``gold_page`` in the question file depends on it. Only the PDF's
page 3 carries the loan-to-value table.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import docx
import openpyxl
import pptx
from docx.document import Document as DocxDocument
from docx.shared import Pt
from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet
from pptx.text.text import TextFrame
from pptx.util import Pt as PptPt

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "corpus"

FIXED_DATETIME = dt.datetime(2025, 3, 3, 9, 0, 0, tzinfo=dt.UTC)
FIXED_NAIVE = FIXED_DATETIME.replace(tzinfo=None)
ZIP_TIMESTAMP = (2025, 3, 3, 9, 0, 0)
BANK = "Northbridge Bank"


def para(text: str) -> str:
    """Collapse a wrapped, indented source string into one line of prose."""
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------
# Zip normalisation (docx / pptx / xlsx are zip archives with volatile timestamps)
# --------------------------------------------------------------------------------------------

_CORE_DATE_RE = re.compile(
    r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)"
)


def normalize_ooxml(path: Path) -> None:
    """Rewrite an OOXML zip with fixed entry timestamps and fixed core-property dates."""
    stamp = FIXED_NAIVE.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            if name == "docProps/core.xml":
                text = _CORE_DATE_RE.sub(rf"\g<1>{stamp}\g<2>", data.decode("utf-8"))
                data = text.encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text with LF line endings."""
    path.write_text(text.lstrip("\n"), encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------------------------
# 1. retail-credit-policy.pdf (5 pages, table on page 3)
# --------------------------------------------------------------------------------------------

Block = tuple[str, object]

LTV_TABLE: list[tuple[str, str, str, str]] = [
    ("Product", "Maximum LTV", "Maximum term", "Additional condition"),
    (
        "Residential mortgage - first-time buyer",
        "90%",
        "35 years",
        "Mortgage indemnity insurance required above 85% LTV",
    ),
    ("Residential mortgage - home mover or remortgage", "85%", "30 years", "None"),
    ("Buy-to-let mortgage", "70%", "25 years", "Rental income must cover 125% of interest"),
    ("Second home / holiday home mortgage", "75%", "25 years", "Not available via brokers"),
    (
        "Home equity loan (further advance)",
        "80% combined",
        "20 years",
        "Only on an existing Northbridge mortgage",
    ),
    ("Bridging loan", "65%", "12 months", "Exit strategy evidenced at application"),
    ("Vehicle loan - new car", "90%", "7 years", "Vehicle registered to the borrower"),
    (
        "Vehicle loan - used car up to 5 years old",
        "75%",
        "5 years",
        "Dealer invoice and registration check required",
    ),
]

PDF_PAGES: list[list[Block]] = [
    # ---------------------------------------------------------------- page 1
    [
        ("title", "Retail Credit Policy"),
        ("subtitle", "Policy reference RCP-04  |  Version 4.2  |  Classification: Internal"),
        ("h1", "Document control"),
        (
            "bullets",
            [
                "Policy owner: Daniel Okafor, Head of Retail Credit Risk.",
                "Approved by: Board Risk Committee on 12 February 2025.",
                "Effective date: 1 March 2025. Next scheduled review: February 2026.",
                "Supersedes: version 4.1 dated 4 March 2024.",
            ],
        ),
        ("h1", "1. Purpose and scope"),
        (
            "p",
            para("""
                This policy sets out the minimum standards that Northbridge Bank applies when
                granting, managing and monitoring credit to individual (retail) customers. It
                applies to every secured and unsecured lending product offered through the
                branch network, the Northbridge mobile app and the broker channel. Lending to
                companies, to sole traders borrowing for business purposes and to public-sector
                bodies is out of scope; it is governed by the Corporate Credit Policy (CCP-02).
            """),
        ),
        (
            "p",
            para("""
                The policy translates the retail credit risk appetite approved by the Board into
                practical rules for credit officers. Where local regulation in a country of
                operation is stricter than this policy, the local rule prevails and the deviation
                must be documented by the country Chief Risk Officer and notified to Retail
                Credit Risk within one month of the regulation taking effect.
            """),
        ),
        ("h2", "1.1 Lending principles"),
        (
            "p",
            para("""
                Northbridge Bank lends responsibly. A loan is granted only when the customer can
                repay it from income without relying on the sale of the collateral; security
                reduces the loss in case of default but never replaces the affordability
                assessment. Credit officers must treat customers fairly, explain the key features
                and risks of the product in plain language and pay particular attention to
                customers who show signs of vulnerability, such as serious illness, bereavement
                or recent loss of employment.
            """),
        ),
        ("h2", "1.2 Roles and responsibilities"),
        (
            "p",
            para("""
                The first line of defence consists of branch lending officers, the broker desk
                and Retail Credit Underwriting (RCU), who originate and decide applications
                within their delegated authority. The second line, Retail Credit Risk, owns this
                policy, sets the credit score cut-offs and monitors the portfolio. The third line,
                Internal Audit, reviews compliance with this policy at least once every 18
                months and reports its findings to the Board Audit Committee.
            """),
        ),
    ],
    # ---------------------------------------------------------------- page 2
    [
        ("h1", "2. Lending authorities"),
        (
            "p",
            para("""
                Credit decisions are taken under personal delegated authority. Each authority is
                granted in writing by the Head of Retail Credit Risk and recorded in the
                CreditFlow origination system. Limits apply to the total exposure of the customer
                group (the applicant plus any connected borrowers), not to the single
                application. The authority levels are:
            """),
        ),
        (
            "bullets",
            [
                para("""Level A - Branch Lending Officer: unsecured exposure up to EUR 25,000 and
                    secured exposure up to EUR 150,000."""),
                para("""Level B - Senior Credit Analyst in RCU: unsecured exposure up to
                    EUR 75,000 and secured exposure up to EUR 500,000."""),
                "Level C - Regional Credit Manager: secured exposure up to EUR 1,500,000.",
                para("""Retail Credit Committee (RCC): any exposure above EUR 1,500,000 and every
                    application that requires an exception under section 7."""),
            ],
        ),
        (
            "p",
            para("""
                The Retail Credit Committee meets every Tuesday at 10:00. Urgent cases may be
                decided by written procedure with the signatures of at least three voting
                members, one of whom must belong to Retail Credit Risk. A four-eyes check by a
                second authority holder is mandatory for every secured application above
                EUR 400,000.
            """),
        ),
        ("h1", "3. Affordability and credit scoring"),
        (
            "p",
            para("""
                Affordability is assessed on net monthly income after tax and social
                contributions. Total monthly debt service, including the new loan, must not
                exceed 40% of net monthly income (the debt-service-to-income ratio, DSTI). For
                applicants whose net monthly income exceeds EUR 6,000 the DSTI cap is raised to
                45%.
            """),
        ),
        (
            "p",
            para("""
                Variable-rate loans, and fixed-rate loans whose fixed period is shorter than five
                years, must be stress-tested with the customer rate increased by 3 percentage
                points. The application fails affordability if the stressed DSTI exceeds 50%.
            """),
        ),
        (
            "p",
            para("""
                After all credit commitments and living costs, the household must keep a minimum
                residual income of EUR 950 per month for the first adult, EUR 450 for each
                additional adult and EUR 300 for each dependent child. Self-employed applicants
                must provide their last two filed tax returns; income is taken as the average of
                the two years, or the latest year if that is lower.
            """),
        ),
        (
            "p",
            para("""
                The Northbridge Application Score (NAS) is calculated for every application.
                Applications scoring 640 or above may be approved within authority. Scores from
                590 to 639 must be referred to Retail Credit Underwriting for a manual decision.
                Applications scoring below 590 are declined and can only be approved as a policy
                exception.
            """),
        ),
    ],
    # ---------------------------------------------------------------- page 3
    [
        ("h1", "4. Loan-to-value limits"),
        (
            "p",
            para("""
                The loan-to-value (LTV) ratio is the total amount secured on the property or
                asset, including any prior-ranking charges, divided by the lower of the purchase
                price and the independent valuation. The limits below are maximums, not targets:
                credit officers should consider a lower LTV where the borrower's profile or the
                quality of the collateral justifies it.
            """),
        ),
        ("caption", "Table 1 - Maximum loan-to-value and term by product"),
        ("table", LTV_TABLE),
        (
            "p",
            para("""
                Where a loan combines more than one product, for example a buy-to-let purchase
                funded partly by a further advance on the borrower's home, the lowest applicable
                LTV limit applies to the combined exposure. The LTV must be recalculated at every
                further advance and at every product switch.
            """),
        ),
        (
            "p",
            para("""
                Energy-efficiency allowance: for home mover and remortgage loans secured on a
                property whose energy performance certificate is rated A or B, the maximum LTV
                may be increased by 5 percentage points. The allowance never applies to
                buy-to-let, second home or bridging loans.
            """),
        ),
    ],
    # ---------------------------------------------------------------- page 4
    [
        ("h1", "5. Collateral and valuation"),
        (
            "p",
            para("""
                Every property valuation must be carried out by a firm on the Northbridge
                approved valuation panel, which currently has 14 member firms and is managed by
                the Collateral Management Unit (CMU). The valuer must be independent of the
                seller, the buyer and any broker involved in the transaction.
            """),
        ),
        (
            "p",
            para("""
                A valuation report is valid for six months from the inspection date. A desktop
                (automated) valuation may replace a physical inspection only when the loan amount
                is below EUR 200,000 and the LTV is below 60%. Buy-to-let collateral is fully
                revalued every three years; other residential collateral is indexed annually with
                the national house price index, and a full revaluation is ordered if the indexed
                value falls by more than 15%. Buildings insurance covering the full reinstatement
                cost is mandatory, with Northbridge Bank noted as loss payee.
            """),
        ),
        ("h1", "6. Unsecured lending and credit cards"),
        (
            "p",
            para("""
                Personal loans range from EUR 1,000 to EUR 60,000, with a term of 12 to 84
                months. For debt consolidation loans, at least 80% of the proceeds must be paid
                directly to the creditors being refinanced. Arranged overdrafts are limited to
                EUR 5,000 and are reviewed every year.
            """),
        ),
        (
            "p",
            para("""
                The initial limit of a credit card is capped at 2.5 times the applicant's net
                monthly income and at EUR 15,000, whichever is lower. A limit increase may be
                offered no earlier than six months after account opening and no more than once
                in any 12-month period; customers must opt in to every increase.
            """),
        ),
        ("h1", "7. Exceptions to policy"),
        (
            "p",
            para("""
                An exception is any approval that does not meet one or more rules of this policy.
                Exceptions are decided by the Retail Credit Committee and must be recorded in the
                CreditFlow exceptions register within two business days of the decision, together
                with the rationale and the mitigating factors. The number of exceptions is capped
                at 3% of the new loans approved per quarter in each region. Exceptions to the
                minimum residual income rule in section 3 are never permitted.
            """),
        ),
    ],
    # ---------------------------------------------------------------- page 5
    [
        ("h1", "8. Arrears management and forbearance"),
        (
            "p",
            para("""
                Customers who miss a payment are contacted by the Collections Support Unit within
                five business days. At 30 days past due the account is reviewed for forbearance;
                at 60 days past due a formal arrears letter is sent; at 90 days past due the
                exposure is classified as defaulted (Stage 3) and transferred to the Recoveries
                team.
            """),
        ),
        (
            "p",
            para("""
                Available forbearance measures are a payment holiday of up to six months and a
                term extension of up to five years, provided that the loan still matures before
                the borrower's 75th birthday. A customer may receive at most two forbearance
                measures in any rolling 36-month period. No legal action may be started against a
                customer flagged as vulnerable without the written approval of the Head of
                Collections.
            """),
        ),
        ("h1", "9. Monitoring and reporting"),
        (
            "p",
            para("""
                Retail Credit Risk sends a portfolio report to the Retail Credit Committee every
                month, no later than the 8th business day of the following month. The report
                tracks the early-warning indicators below; a red indicator must be escalated to
                the Chief Risk Officer within one business day.
            """),
        ),
        (
            "bullets",
            [
                para("""Arrears: loans 30 or more days past due above 2.0% of portfolio balance
                    (amber) or above 3.5% (red)."""),
                para("""High-LTV lending: new mortgages above 85% LTV exceeding 15% of quarterly
                    mortgage volume (amber) or 20% (red)."""),
                para("""Score overrides: more than 10% of approvals in the referral band of the
                    Northbridge Application Score in a month (amber)."""),
            ],
        ),
        ("h1", "10. Record keeping and policy breaches"),
        (
            "p",
            para("""
                Credit files, including the affordability assessment, the credit score and the
                valuation report, are retained for ten years after the loan is repaid or written
                off. Any breach of this policy must be reported to Retail Credit Risk and to
                Compliance within 24 hours of discovery using the Policy Breach form PB-1.
                Questions about this policy can be sent to
                retail.credit.policy@northbridge-bank.example.
            """),
        ),
    ],
]


class PolicyPDF(FPDF):
    """FPDF with the Northbridge header and footer."""

    def header(self) -> None:
        self.set_font("Helvetica", "I", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"{BANK} - Retail Credit Policy (RCP-04)", align="L")
        self.cell(0, 5, "INTERNAL", align="R", new_x="LMARGIN", new_y="NEXT")
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(6)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "I", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")


def _pdf_block(pdf: FPDF, kind: str, payload: object) -> None:
    """Render one content block on the current page."""
    width = pdf.epw
    if kind == "title":
        pdf.set_font("Helvetica", "B", 22)
        pdf.cell(0, 10, BANK, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "B", 18)
        pdf.cell(0, 10, str(payload), new_x="LMARGIN", new_y="NEXT")
    elif kind == "subtitle":
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, str(payload), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    elif kind == "h1":
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 13)
        pdf.cell(0, 8, str(payload), new_x="LMARGIN", new_y="NEXT")
    elif kind == "h2":
        pdf.ln(1)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, str(payload), new_x="LMARGIN", new_y="NEXT")
    elif kind == "caption":
        pdf.ln(1)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 7, str(payload), new_x="LMARGIN", new_y="NEXT")
    elif kind == "p":
        pdf.set_font("Helvetica", "", 10.5)
        pdf.multi_cell(width, 5.4, str(payload), align="J", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    elif kind == "bullets":
        assert isinstance(payload, list)
        pdf.set_font("Helvetica", "", 10.5)
        for item in payload:
            pdf.set_x(pdf.l_margin + 4)
            pdf.cell(5, 5.4, "-")
            pdf.multi_cell(width - 9, 5.4, str(item), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    elif kind == "table":
        assert isinstance(payload, list)
        pdf.set_font("Helvetica", "", 9.5)
        headings = FontFace(emphasis="BOLD", fill_color=(220, 226, 235))
        with pdf.table(
            col_widths=(58, 24, 24, 64),
            text_align=("LEFT", "CENTER", "CENTER", "LEFT"),
            borders_layout="ALL",
            headings_style=headings,
            line_height=5.5,
            padding=1.5,
        ) as table:
            for row in payload:
                cells = table.row()
                for value in row:
                    cells.cell(value)
        pdf.ln(4)
    else:
        raise ValueError(f"unknown block kind {kind!r}")


def build_pdf(path: Path) -> None:
    """Write the five-page retail credit policy, one explicit page per PDF_PAGES entry."""
    pdf = PolicyPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(20, 15, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_creation_date(FIXED_DATETIME)
    pdf.set_title("Retail Credit Policy RCP-04 v4.2")
    pdf.set_author("Retail Credit Risk, Northbridge Bank")
    pdf.set_subject("Retail lending standards")
    pdf.set_creator("bench/demo/make_corpus.py")
    pdf.set_lang("en-GB")
    for number, blocks in enumerate(PDF_PAGES, start=1):
        pdf.add_page()
        for kind, payload in blocks:
            _pdf_block(pdf, kind, payload)
        if pdf.page != number:
            raise RuntimeError(f"PDF content for page {number} overflowed onto a new page")
    pdf.output(str(path))


# --------------------------------------------------------------------------------------------
# 2. aml-kyc-procedure.docx
# --------------------------------------------------------------------------------------------

AML_RISK_TABLE: list[tuple[str, str, str, str]] = [
    ("Customer risk rating", "RiskScore range", "Periodic KYC review", "Onboarding approval"),
    ("Low", "0 - 35", "Every 5 years", "Relationship manager"),
    ("Medium", "36 - 65", "Every 3 years", "Team leader of the onboarding team"),
    (
        "High",
        "66 - 100",
        "Every 12 months",
        "Head of Financial Crime Compliance (or named delegate)",
    ),
    (
        "Politically exposed person (PEP)",
        "Any score",
        "Every 12 months",
        "Head of Financial Crime Compliance and a member of the Executive Committee",
    ),
    (
        "Prohibited",
        "Any score",
        "Not applicable - relationship not accepted",
        "Exit within 60 days if identified after onboarding",
    ),
]


def _docx_core(document: DocxDocument, title: str, author: str, lang: str) -> None:
    props = document.core_properties
    props.title = title
    props.author = author
    props.last_modified_by = author
    props.language = lang
    props.created = FIXED_NAIVE
    props.modified = FIXED_NAIVE
    props.last_printed = FIXED_NAIVE
    props.revision = 1
    props.comments = ""


def _docx_table(document: DocxDocument, rows: Sequence[Sequence[str]]) -> None:
    table = document.add_table(rows=0, cols=len(rows[0]))
    table.style = "Table Grid"
    for index, row in enumerate(rows):
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = value
            if index == 0:
                for run in cell.paragraphs[0].runs:
                    run.bold = True


def build_aml_docx(path: Path) -> None:
    """Write the AML/KYC procedure (headings, paragraphs, bullets, risk-rating table)."""
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(11)
    document.add_heading("Anti-Money Laundering and Know Your Customer Procedure", level=0)
    document.add_paragraph(
        "Procedure FCC-PR-03, version 5.1. Owner: Financial Crime Compliance (FCC). "
        "Effective 1 February 2025. Classification: Internal."
    )

    document.add_heading("1. Purpose and scope", level=1)
    document.add_paragraph(
        para("""
        This procedure describes how Northbridge Bank identifies its customers, assesses their
        money laundering and terrorist financing risk, monitors their transactions and reports
        suspicions. It applies to every employee, contractor and agent who opens or services
        customer relationships, in all business lines and countries of operation.
    """)
    )

    document.add_heading("2. Customer due diligence", level=1)
    document.add_heading("2.1 Identification and verification", level=2)
    document.add_paragraph(
        para("""
        Individuals must present a valid government-issued photo identity document and a proof
        of address dated within the last three months. Identity is verified electronically
        through the VerifyPoint e-IDV service; when the electronic check fails, the customer
        must attend a branch with the original document. For legal entities, the onboarding
        team obtains a commercial register extract that is not older than 30 days, the articles
        of association and the list of directors.
    """)
    )
    document.add_heading("2.2 Beneficial ownership", level=2)
    document.add_paragraph(
        para("""
        For every legal entity, the bank identifies and verifies each natural person who owns or
        controls more than 25% of the shares or voting rights. For customers rated High, the
        threshold is lowered to 10%. Where no natural person meets the threshold, the senior
        managing official is recorded as beneficial owner and the reason is documented in the
        KYC file.
    """)
    )
    document.add_heading("2.3 Enhanced due diligence", level=2)
    document.add_paragraph(
        "Enhanced due diligence (EDD) is mandatory when any of the following applies:"
    )
    for item in [
        "the customer is rated High or is a politically exposed person (PEP), a family member "
        "of a PEP or a known close associate;",
        "the customer or a beneficial owner resides in a country on the Northbridge high-risk "
        "jurisdictions list, which FCC updates every quarter;",
        "the ownership structure has more than three layers of legal entities;",
        "the customer operates a cash-intensive business such as a car wash, bar or currency "
        "exchange office;",
        "the customer is a private banking client with assets above EUR 2 million;",
        "the relationship is a correspondent banking relationship.",
    ]:
        document.add_paragraph(item, style="List Bullet")
    document.add_paragraph(
        para("""
        EDD requires documentary evidence of the source of wealth and of the source of funds,
        an adverse media search, and the approval level shown in the table in section 3.
    """)
    )

    document.add_heading("3. Customer risk rating and periodic review", level=1)
    document.add_paragraph(
        para("""
        Each customer receives a risk rating at onboarding from the RiskScore engine, based on
        customer type, geography, products, channels and expected activity. The rating drives
        the frequency of the periodic KYC review and the level of approval needed to accept the
        customer, as shown below.
    """)
    )
    _docx_table(document, AML_RISK_TABLE)
    document.add_paragraph()
    document.add_paragraph(
        para("""
        Independently of the periodic cycle, an event-driven review must be completed within
        30 days when a trigger occurs, for example adverse media, a move to a high-risk
        jurisdiction, an unexplained change in activity or a production order from the
        authorities.
    """)
    )

    document.add_heading("4. Transaction monitoring", level=1)
    document.add_paragraph(
        para("""
        Transactions are screened by the Sentinel monitoring system. Level 1 analysts must
        review and close, or escalate, every alert within 10 business days of its creation.
        Cash deposits of EUR 10,000 or more, in a single operation or in linked operations over
        seven days, require the customer to complete source-of-funds declaration form FC-02
        before the funds are credited.
    """)
    )

    document.add_heading("5. Suspicious activity reporting", level=1)
    document.add_paragraph(
        para("""
        Any employee who knows or suspects that a transaction or customer may be linked to money
        laundering or terrorist financing must file an internal suspicious activity report
        (form FC-07) with the Money Laundering Reporting Officer (MLRO), Priya Raman, within
        24 hours of forming the suspicion. The MLRO alone decides whether to file a report with
        the Financial Intelligence Unit. Employees must never inform the customer or any third
        party that a report has been or may be made (tipping-off prohibition).
    """)
    )

    document.add_heading("6. Record keeping and training", level=1)
    document.add_paragraph(
        para("""
        KYC documents, transaction records and internal reports are kept for seven years after
        the end of the business relationship or after the date of an occasional transaction.
        Every employee completes the annual AML e-learning by 31 March each year; the pass mark
        is 80% and three failed attempts trigger a classroom session with FCC.
    """)
    )

    _docx_core(document, "AML/KYC Procedure FCC-PR-03", "Financial Crime Compliance", "en-GB")
    document.save(str(path))
    normalize_ooxml(path)


# --------------------------------------------------------------------------------------------
# 3. politique-teletravail.docx (French)
# --------------------------------------------------------------------------------------------

TELETRAVAIL_TABLE: list[tuple[str, str]] = [
    ("Temps de travail contractuel", "Jours de télétravail maximum par semaine"),
    ("Temps plein (100 %)", "2 jours"),
    ("Temps partiel à 90 %", "2 jours"),
    ("Temps partiel à 80 %", "1 jour"),
    ("Temps partiel inférieur à 80 %", "Pas de télétravail régulier"),
]


def build_teletravail_docx(path: Path) -> None:
    """Write the French remote-work policy."""
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(11)
    document.add_heading("Politique de télétravail", level=0)
    document.add_paragraph(
        "Northbridge Bank – Direction des Ressources Humaines. Référence RH-POL-07, version 2.0, "
        "en vigueur à compter du 1er janvier 2025."
    )

    document.add_heading("1. Objet et champ d’application", level=1)
    document.add_paragraph(
        para("""
        La présente politique définit les conditions dans lesquelles les collaborateurs de
        Northbridge Bank peuvent exercer une partie de leur activité depuis leur domicile. Elle
        s’applique à l’ensemble des salariés en contrat à durée indéterminée ou déterminée, à
        l’exception des postes dont les missions exigent une présence physique permanente
        (agences, salle des coffres, accueil du siège).
    """)
    )

    document.add_heading("2. Éligibilité", level=1)
    document.add_paragraph(
        para("""
        Le télétravail n’est pas possible pendant les trois premiers mois suivant l’embauche,
        afin de permettre l’intégration du collaborateur dans son équipe. Les alternants et les
        stagiaires ne sont pas éligibles. Le collaborateur doit disposer à son domicile d’un
        espace de travail adapté et d’une connexion internet d’au moins 20 Mbit/s.
    """)
    )

    document.add_heading("3. Nombre de jours de télétravail", level=1)
    document.add_paragraph(
        para("""
        Un collaborateur à temps plein peut télétravailler jusqu’à deux jours par semaine. Les
        jours non utilisés ne sont ni reportables d’une semaine à l’autre ni cumulables. La
        présence sur site est obligatoire le mardi, journée d’équipe commune à toutes les
        directions. Le tableau ci-dessous précise la règle selon le temps de travail.
    """)
    )
    _docx_table(document, TELETRAVAIL_TABLE)
    document.add_paragraph()

    document.add_heading("4. Demande et approbation", level=1)
    document.add_paragraph(
        para("""
        La demande est saisie dans l’outil PeopleHub. Elle est d’abord approuvée par le manager
        direct (N+1), qui dispose de 10 jours ouvrés pour répondre, puis validée par le Business
        Partner RH. L’accord prend la forme d’un avenant au contrat de travail, conclu pour une
        durée d’un an et renouvelable. Tout refus doit être motivé par écrit ; le collaborateur
        peut alors demander un réexamen par le Directeur des Ressources Humaines.
    """)
    )

    document.add_heading("5. Équipement et indemnités", level=1)
    document.add_paragraph(
        para("""
        La banque fournit un ordinateur portable, un écran et un casque. Une allocation
        d’équipement de 300 € brut, versée une seule fois sur la paie du mois suivant
        l’approbation, permet l’achat d’un siège ou d’un bureau ergonomique. En complément, une
        indemnité forfaitaire de 2,50 € par jour télétravaillé, plafonnée à 22 € par mois,
        couvre les frais d’électricité et de connexion.
    """)
    )

    document.add_heading("6. Sécurité et confidentialité", level=1)
    document.add_paragraph(
        "En télétravail, le collaborateur s’engage à respecter les règles suivantes :"
    )
    for item in [
        "se connecter exclusivement via le VPN de la banque ;",
        "ne jamais imprimer de documents clients à son domicile ;",
        "verrouiller sa session à chaque absence, même brève ;",
        "ne pas traiter de dossiers clients depuis un lieu public (café, train, espace de "
        "coworking) ;",
        "signaler sans délai tout incident de sécurité à l’assistance informatique.",
    ]:
        document.add_paragraph(item, style="List Bullet")

    document.add_heading("7. Télétravail depuis l’étranger", level=1)
    document.add_paragraph(
        para("""
        Le télétravail depuis l’étranger est limité à 10 jours ouvrés par année civile. Il
        nécessite l’accord préalable du DRH et de la Conformité et n’est possible que depuis un
        pays de l’Union européenne.
    """)
    )

    document.add_heading("8. Joignabilité et réversibilité", level=1)
    document.add_paragraph(
        para("""
        Le collaborateur en télétravail doit être joignable de 9 h 30 à 12 h 00 et de 14 h 00 à
        16 h 30. Chacune des parties peut mettre fin au télétravail régulier moyennant un
        préavis d’un mois, sauf accord mutuel pour un délai plus court.
    """)
    )

    _docx_core(
        document, "Politique de télétravail RH-POL-07", "Direction des Ressources Humaines", "fr-FR"
    )
    document.save(str(path))
    normalize_ooxml(path)


# --------------------------------------------------------------------------------------------
# 4. fee-schedule.xlsx
# --------------------------------------------------------------------------------------------

FeeRow = tuple[str, str, str, float | None, str | None, str, str]

FEE_HEADER = (
    "Fee code",
    "Product / service",
    "Fee description",
    "Fixed amount (EUR)",
    "Rate (% of amount)",
    "Frequency",
    "Conditions",
)

# fmt: off
ACCOUNT_FEES: list[FeeRow] = [
    ("ACC-01", "Everyday Current Account", "Account maintenance", 4.50, None, "Monthly",
     "Waived if the average monthly balance is EUR 2,500 or more"),
    ("ACC-02", "Premier Current Account", "Account maintenance", 14.00, None, "Monthly",
     "Includes travel insurance and two free replacement cards per year"),
    ("ACC-03", "Student Account", "Account maintenance", 0.00, None, "Monthly",
     "Customers aged 18 to 25 in full-time education"),
    ("ACC-04", "All current accounts", "Paper statement by post", 2.00, None, "Per statement",
     "E-statements are free"),
    ("ACC-05", "All current accounts", "Replacement debit card", 7.50, None, "Per card",
     "Free if the card is faulty or was compromised in a fraud"),
    ("ACC-06", "All current accounts", "Unarranged overdraft fee", 12.00, None, "Per occurrence",
     "Maximum of 3 charges per calendar month"),
    ("ACC-07", "All accounts", "Account closure within 6 months of opening", 15.00, None,
     "One-off", "Not charged during the 14-day cooling-off period"),
    ("ACC-08", "All accounts", "Audit or balance confirmation letter", 35.00, None, "Per letter",
     "Issued within 5 business days"),
    ("ACC-09", "Safe deposit box", "Small box rental (up to 10 litres)", 90.00, None, "Yearly",
     "Available in Harbour Street and Kingsgate branches only"),
]

PAYMENT_FEES: list[FeeRow] = [
    ("PAY-01", "SEPA credit transfer", "Online or mobile app", 0.00, None, "Per payment", "None"),
    ("PAY-02", "SEPA credit transfer", "Ordered in branch", 5.00, None, "Per payment",
     "Free for customers aged 70 and over"),
    ("PAY-03", "SEPA Instant credit transfer", "Online or mobile app", 0.50, None, "Per payment",
     "Maximum EUR 100,000 per payment"),
    ("PAY-04", "Urgent euro payment (TARGET2)", "Same-day value", 30.00, None, "Per payment",
     "Must be ordered before the urgent payment cut-off"),
    ("PAY-05", "International payment (SWIFT, outgoing)", "Shared charges (SHA)", None, "0.15%",
     "Per payment", "Minimum EUR 25, maximum EUR 120 per payment"),
    ("PAY-06", "International payment (SWIFT, incoming)", "Credited to the account", 12.00, None,
     "Per payment", "Free for amounts below EUR 100"),
    ("PAY-07", "Payment recall or investigation", "Request to trace or recall a payment", 40.00,
     None, "Per request", "Charged even if the recall is unsuccessful"),
    ("PAY-08", "Standing order", "Set-up or amendment in branch", 2.00, None, "Per instruction",
     "Free online"),
    ("PAY-09", "Card payment outside the euro area", "Foreign currency transaction", None,
     "2.75%", "Per transaction", "No fixed fee"),
]
# fmt: on


def _fee_sheet(sheet: Worksheet, rows: Sequence[FeeRow]) -> None:
    sheet.append(FEE_HEADER)
    for row in rows:
        sheet.append(row)
    header_fill = PatternFill("solid", fgColor="DCE2EB")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for row_cells in sheet.iter_rows(min_row=2, min_col=4, max_col=4):
        for cell in row_cells:
            cell.number_format = "#,##0.00"
    for column, width in zip("ABCDEFG", (10, 38, 38, 14, 12, 16, 60), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def build_fee_xlsx(path: Path) -> None:
    """Write the fee schedule workbook (sheets Accounts and Payments)."""
    workbook = openpyxl.Workbook()
    accounts = workbook.active
    accounts.title = "Accounts"
    _fee_sheet(accounts, ACCOUNT_FEES)
    _fee_sheet(workbook.create_sheet("Payments"), PAYMENT_FEES)
    props = workbook.properties
    props.title = "Northbridge Bank retail fee schedule - effective 1 January 2025"
    props.creator = "Retail Products"
    props.lastModifiedBy = "Retail Products"
    props.created = FIXED_NAIVE
    props.modified = FIXED_NAIVE
    workbook.save(str(path))
    normalize_ooxml(path)


# --------------------------------------------------------------------------------------------
# 5. new-joiner-onboarding.pptx
# --------------------------------------------------------------------------------------------

Bullet = str | tuple[int, str]

ONBOARDING_SLIDES: list[tuple[str, list[Bullet]]] = [
    (
        "Your first week",
        [
            "Day 1: arrive at 8:45 at the Harbour Street head office reception",
            (1, "Bring photo ID: Security (ground floor) issues your access badge"),
            "Day 1 afternoon: collect your laptop and enrol in multi-factor authentication",
            "Day 2: meet your onboarding buddy, who supports you for your first 90 days",
            "Day 3: HR induction session, 14:00 to 16:00, room 4.02",
            "Within 3 days: complete your personal and bank details in PeopleHub",
            "Day 5: first check-in with your line manager to agree your 30-60-90 day plan",
        ],
    ),
    (
        "System access",
        [
            "Laptop and accounts are prepared before your start date by the IT Service Desk",
            (1, "Collect them at the IT Service Desk, 2nd floor, room 2.14"),
            "Enrol in MFA with the Northbridge Authenticator app on day 1",
            "Request any additional application access through the AccessNow portal",
            (1, "Approved by your line manager and by the system owner"),
            (1, "Service level: 3 business days from final approval"),
            "Access to customer data is granted only after the AML and Information Security "
            "trainings are completed",
        ],
    ),
    (
        "Mandatory trainings and deadlines",
        [
            "Code of Conduct: within 5 business days of your start date",
            "Information Security Essentials: within 14 days",
            "AML and Sanctions Fundamentals: within 30 days",
            "Data Protection (GDPR): within 30 days",
            "Anti-Bribery and Corruption: within 60 days",
            "All trainings are on the LearnHub platform",
            (
                1,
                "Overdue trainings are escalated to your line manager after 7 days and to your "
                "department head after 21 days",
            ),
        ],
    ),
    (
        "Key contacts and tools",
        [
            "IT Service Desk: extension 4357 (H-E-L-P), 7:00 to 20:00 on business days",
            "HR Service Centre: extension 2200 or hr.services@northbridge-bank.example",
            "Intranet: The Bridge, for policies, news and the staff directory",
            "Expense claims: submitted in the Spendwise tool",
            "Facilities and desk booking: DeskFinder app",
        ],
    ),
    (
        "Probation and next steps",
        [
            "Probation period: 6 months",
            (1, "Mid-probation review with your line manager after 3 months"),
            (1, "Final probation review in the last 2 weeks of month 6"),
            "New joiner feedback survey sent on day 30",
            "New joiner welcome breakfast with the Executive Committee: first Friday of each "
            "quarter",
        ],
    ),
]


def _add_bullets(frame: TextFrame, bullets: Sequence[Bullet]) -> None:
    first = True
    for bullet in bullets:
        level, text = bullet if isinstance(bullet, tuple) else (0, bullet)
        paragraph = frame.paragraphs[0] if first else frame.add_paragraph()
        first = False
        paragraph.text = text
        paragraph.level = level
        paragraph.font.size = PptPt(20 if level == 0 else 16)


def build_onboarding_pptx(path: Path) -> None:
    """Write the six-slide new-joiner onboarding deck."""
    presentation = pptx.Presentation()
    title_slide = presentation.slides.add_slide(presentation.slide_layouts[0])
    title_slide.shapes.title.text = "Welcome to Northbridge Bank"
    title_slide.placeholders[
        1
    ].text = "New joiner onboarding guide - People & Culture - edition January 2025"
    for title, bullets in ONBOARDING_SLIDES:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        _add_bullets(slide.placeholders[1].text_frame, bullets)
    props = presentation.core_properties
    props.title = "New joiner onboarding"
    props.author = "People & Culture"
    props.last_modified_by = "People & Culture"
    props.created = FIXED_NAIVE
    props.modified = FIXED_NAIVE
    props.last_printed = FIXED_NAIVE
    props.revision = 1
    presentation.save(str(path))
    normalize_ooxml(path)


# --------------------------------------------------------------------------------------------
# 6. Text formats: HTML (EN + FR), Markdown, e-mail, plain text
# --------------------------------------------------------------------------------------------

TRAVEL_HTML = """
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Travel and Expenses Policy - Northbridge Bank</title>
<style>
  body { font-family: Arial, sans-serif; max-width: 52em; margin: 2em auto; line-height: 1.45; }
  table { border-collapse: collapse; }
  th, td { border: 1px solid #999; padding: 4px 10px; text-align: left; }
  th { background: #dce2eb; }
</style>
</head>
<body>
<h1>Travel and Expenses Policy</h1>
<p>Policy HR-POL-12, version 3.0, owned by Group Finance. Effective 1 January 2025. This policy
applies to all employees and contractors of Northbridge Bank travelling on business or incurring
expenses on behalf of the bank.</p>

<h2>1. Before you travel</h2>
<p>Business travel must be approved in advance by your line manager in the Spendwise tool. All
flights, trains and hotels are booked through the bank's travel agency, TravelDesk, at least
14 days before departure whenever possible; bookings made outside TravelDesk are not reimbursed
unless TravelDesk could not offer a comparable option.</p>
<p>Economy class is the standard for all flights. Business class is allowed only for flights
with a scheduled duration of more than 6 hours, and requires the approval of a Director. First
class air travel is never reimbursed. For rail journeys, standard class is the rule; first class
is permitted for journeys longer than 3 hours.</p>

<h2>2. Accommodation and meals</h2>
<p>Hotel costs are reimbursed up to the nightly cap for the destination city, excluding
breakfast when breakfast is included in the room rate. The daily meal allowance covers lunch,
dinner and non-alcoholic drinks; it is reduced by half on the day of departure and the day of
return. Amounts are in local currency.</p>
<table>
  <caption>Per-diem limits by city</caption>
  <thead>
    <tr><th>City</th><th>Currency</th><th>Hotel cap per night</th><th>Meals per day</th></tr>
  </thead>
  <tbody>
    <tr><td>London</td><td>GBP</td><td>220</td><td>75</td></tr>
    <tr><td>Paris</td><td>EUR</td><td>210</td><td>70</td></tr>
    <tr><td>Frankfurt</td><td>EUR</td><td>180</td><td>60</td></tr>
    <tr><td>Luxembourg</td><td>EUR</td><td>190</td><td>65</td></tr>
    <tr><td>Brussels</td><td>EUR</td><td>170</td><td>58</td></tr>
    <tr><td>New York</td><td>USD</td><td>320</td><td>95</td></tr>
    <tr><td>Singapore</td><td>SGD</td><td>350</td><td>110</td></tr>
    <tr><td>Any other destination</td><td>EUR</td><td>150</td><td>50</td></tr>
  </tbody>
</table>

<h2>3. Transport on site</h2>
<p>Use public transport where practical. Taxis and ride-hailing services are reimbursed for
journeys between 22:00 and 06:00, when carrying heavy equipment, or when no public transport is
available. Employees who use their own car on business are reimbursed at EUR 0.30 per
kilometre, plus parking and tolls; commuting between home and the usual place of work is not
reimbursed.</p>

<h2>4. Client entertainment</h2>
<p>Client entertainment is capped at EUR 80 per person, including the employees attending.
Any event with a total cost above EUR 500 requires prior approval from your department head
and must be recorded in the Gifts and Entertainment Register within 5 business days.</p>

<h2>5. Submitting expense claims</h2>
<p>Claims are submitted in Spendwise within 30 days of returning from the trip, or of the
expense date for other expenses. An itemised receipt is required for any expense above EUR 25.
Claims submitted more than 90 days after the expense are rejected. Approved claims are paid
with the next monthly salary if approved before the 15th of the month.</p>
</body>
</html>
"""

RECLAMATIONS_HTML = """
<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>Procédure de traitement des réclamations clients – Northbridge Bank</title>
</head>
<body>
<h1>Procédure de traitement des réclamations clients</h1>
<p>Référence PRC-11, version 3, mise à jour le 15 janvier 2025. Propriétaire : Service Relations
Clientèle. Cette procédure s'applique à toutes les agences et à tous les canaux de Northbridge
Bank.</p>

<h2>1. Qu'est-ce qu'une réclamation ?</h2>
<p>Une réclamation est toute déclaration actant le mécontentement d'un client envers la banque,
quel que soit le canal utilisé. Une demande d'information, d'avis ou de prestation n'est pas une
réclamation. En cas de doute, l'interlocuteur du client enregistre la demande comme une
réclamation.</p>

<h2>2. Canaux de réception</h2>
<p>Le client peut déposer sa réclamation en agence, par téléphone, dans l'application mobile,
par courriel à l'adresse reclamations@northbridge-bank.example ou par courrier adressé au
Service Relations Clientèle. Toute réclamation est enregistrée le jour même dans l'outil
« Écoute Client », avec sa catégorie, son canal et sa date de réception.</p>

<h2>3. Délais de traitement</h2>
<p>La banque accuse réception de la réclamation sous 2 jours ouvrables, sauf si une réponse
définitive est apportée dans ce délai. La réponse définitive est envoyée au plus tard 30 jours
calendaires après la réception de la réclamation.</p>
<p>Pour les réclamations relatives à un service de paiement (virement, carte, prélèvement), la
réponse est apportée dans un délai de 15 jours ouvrables. Dans des situations exceptionnelles,
ce délai peut être porté à 35 jours ouvrables, à condition d'envoyer au client une lettre
d'attente motivée avant l'expiration du délai de 15 jours.</p>

<h2>4. Niveaux de traitement et escalade</h2>
<table border="1">
  <thead>
    <tr><th>Niveau</th><th>Interlocuteur</th><th>Délai de réponse</th>
    <th>Geste commercial maximal</th></tr>
  </thead>
  <tbody>
    <tr><td>Niveau 1</td><td>Conseiller ou directeur d'agence</td>
    <td>10 jours ouvrables</td><td>150 €</td></tr>
    <tr><td>Niveau 2</td><td>Service Relations Clientèle</td>
    <td>30 jours calendaires à compter de la réclamation initiale</td><td>1 000 €</td></tr>
    <tr><td>Niveau 3</td><td>Médiateur de Northbridge Bank</td>
    <td>90 jours à compter de la réception du dossier complet</td>
    <td>Sans objet (avis du médiateur)</td></tr>
  </tbody>
</table>
<p>Au-delà de 1 000 €, tout geste commercial doit être validé par le Directeur de la Clientèle
de détail.</p>

<h2>5. Saisine du médiateur</h2>
<p>Si la réponse du Service Relations Clientèle ne le satisfait pas, ou en l'absence de réponse
dans un délai de deux mois à compter de sa réclamation écrite, le client peut saisir
gratuitement le médiateur. Le médiateur de Northbridge Bank, M. Laurent Mercier, exerce sa
mission en toute indépendance ; il est saisi par courriel à mediateur@northbridge-bank.example
ou par courrier. Le client doit d'abord avoir tenté de résoudre le litige directement auprès de
la banque. Le médiateur rend son avis dans un délai de 90 jours ; cet avis ne lie pas les
parties, mais la banque s'engage à s'y conformer pour les litiges d'un montant inférieur à
5 000 €.</p>
<p>Les coordonnées du médiateur figurent obligatoirement dans chaque réponse de niveau 2 ainsi
que dans les conditions générales et sur le site internet de la banque.</p>

<h2>6. Suivi et contrôle</h2>
<p>Le registre des réclamations est analysé chaque mois par le Comité Conformité. Lorsque plus
de trois réclamations portant sur le même produit ou le même dysfonctionnement sont reçues au
cours d'un mois, une analyse des causes est menée par le responsable du produit concerné. Les
réclamations émanant de clients vulnérables sont traitées en priorité et suivies par un
référent dédié dans chaque région.</p>
</body>
</html>
"""

IT_FAQ_MD = """
# IT Security FAQ

*Northbridge Bank - Information Security Office. Last reviewed: 10 February 2025.*

This FAQ answers the questions employees most often ask the Information Security Office. The
rules come from the Information Security Policy (ISP-01); where this FAQ and the policy differ,
the policy applies.

## How long must my password be, and how often do I change it?

Passwords must be at least 14 characters long and must not contain your name or user ID.
Standard user accounts must change their password every 180 days; privileged and administrator
accounts must change it every 60 days. You cannot reuse any of your last 12 passwords. After 5
failed login attempts your account is locked for 30 minutes.

## Where is multi-factor authentication (MFA) required?

MFA is required for remote access (VPN), for webmail and Microsoft 365 from outside the bank's
network, and for every privileged or administrator account. MFA uses number matching in the
Northbridge Authenticator app; SMS codes are not accepted. If you lose or replace your phone,
contact the IT Service Desk to re-enrol before you try to log in.

## I received a suspicious e-mail. How do I report phishing?

Do not click links, open attachments or reply. Use the "Report Phish" button in Outlook, or
forward the message as an attachment to phishing@northbridge-bank.example. The Security
Operations Centre (SOC) reviews every report within 4 hours during business days.

## I already clicked a link or entered my password. What now?

Call the Security Operations Centre immediately on extension 7070 (staffed 24/7), then change
your password from a different, trusted device. Reporting quickly is what matters: nobody is
disciplined for reporting a genuine mistake.

## Can I use a USB stick or external hard drive?

No. USB mass-storage devices are blocked on all Northbridge laptops and desktops. If you have a
business need, request an exception with form SEC-12; it must be approved by the Chief
Information Security Officer's office, is valid for at most 30 days, and only encrypted
bank-issued USB drives can be used. To share files with clients, use the secure file transfer
service SecureShare.

## When does my screen lock automatically?

Your screen locks after 5 minutes of inactivity. Lock it yourself (Windows key + L) every time
you leave your desk, even for a moment.

## Can I forward work e-mails to my personal mailbox?

No. Automatic or manual forwarding of bank e-mail to personal accounts is prohibited and is
detected by data loss prevention controls.

## I lost my laptop or phone. What should I do?

Report the loss to the IT Service Desk and to the SOC within 1 hour of noticing it, so the
device can be wiped remotely. If it was stolen, also file a police report and upload the
reference to your incident ticket.

## Can I install software myself?

Only from the Company Portal catalogue. Any other software needs a request through the IT
Service Desk and a security review, which takes up to 10 business days.

## May I use public generative AI tools at work?

You must never paste customer data, personal data or confidential bank information into public
generative AI tools. Use only the internal tools approved by the Information Security Office.

## Is it safe to work on public Wi-Fi?

Only with the VPN connected. The VPN must be active at all times when you work outside a bank
building.
"""


def build_wire_eml(path: Path) -> None:
    """Write the plain-text e-mail announcing new wire cut-off times."""
    message = EmailMessage()
    message["From"] = "Payments Operations <payments.ops@northbridge-bank.example>"
    message["To"] = "All branch staff <all-branches@northbridge-bank.example>"
    message["Cc"] = "Marta Kowalski <marta.kowalski@northbridge-bank.example>"
    message["Subject"] = "Change to wire transfer cut-off times from 7 April 2025"
    sent = dt.datetime(2025, 3, 3, 9, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    message["Date"] = format_datetime(sent)
    message["Message-ID"] = "<20250303091500.cutoff-change@northbridge-bank.example>"
    message.set_content(
        """Dear colleagues,

From Monday 7 April 2025, the cut-off times for customer payment orders will
change as shown below. All times are Central European Time (CET/CEST). Orders
received after the cut-off are executed on the next business day.

  Payment type                        Current cut-off   New cut-off
  SEPA credit transfer                16:00             15:30
  Urgent euro payment (TARGET2)       17:00             16:15
  International payment (non-EUR)     14:00             13:00
  USD payment with same-day value     12:00             11:30
  SEPA Instant credit transfer        24/7              24/7 (no change)

The earlier cut-offs are needed because our new correspondent bank settles
and reconciles earlier in the day. Branch payment forms, the customer website
and the mobile app will be updated on 31 March 2025, and customers will be
informed by a message in online banking from 17 March 2025.

Branches must not accept urgent or international orders after the new cut-off
with a promise of same-day execution. Exceptions for large corporate clients
can only be agreed by the Payments Operations duty manager (extension 3145).

If you have any questions, please contact Marta Kowalski, Head of Payments
Operations, on extension 3140.

Kind regards,
Payments Operations
Northbridge Bank
"""
    )
    path.write_bytes(bytes(message))


BRANCH_HOURS_TXT = """
NORTHBRIDGE BANK - BRANCH OPENING HOURS
Valid from 1 March 2025. Published by Branch Network Operations.

HARBOUR STREET (head office branch)
  40 Harbour Street. Phone: 0800 410 100
  Monday to Friday: 09:00 - 17:00
  Saturday: 09:30 - 13:00
  Sunday: closed
  Safe deposit boxes: accessible Monday to Friday, 10:00 - 15:00, by appointment.

KINGSGATE
  2 Kingsgate Square. Phone: 0800 410 120
  Monday to Friday: 09:30 - 16:30
  Saturday and Sunday: closed

RIVERSIDE
  118 Quay Road. Phone: 0800 410 140
  Monday to Wednesday and Friday: 09:00 - 16:30
  Thursday: 09:00 - 19:00 (late opening; mortgage advisers available until 18:30)
  Saturday: 10:00 - 12:30

OLD TOWN
  7 Market Lane. Phone: 0800 410 160
  Monday to Friday: 09:30 - 16:00 (closed daily for lunch 12:30 - 13:30)
  Closed for refurbishment from 14 July 2025 to 8 August 2025 inclusive.
  During the works, customers are served at the Kingsgate branch.

AIRPORT KIOSK (Terminal 2, arrivals hall)
  Every day, including public holidays: 06:00 - 22:00
  Foreign currency exchange and card services only; no cash deposits.

PUBLIC HOLIDAYS
  All branches except the Airport kiosk are closed on public holidays.
  On 24 December and 31 December, branches close at 12:30.

Customer service by phone (0800 410 000) is available Monday to Saturday,
08:00 - 20:00. Lost or stolen cards can be blocked 24/7 on 0800 410 999.
"""


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

BUILDERS: list[tuple[str, Callable[[Path], None]]] = [
    ("retail-credit-policy.pdf", build_pdf),
    ("aml-kyc-procedure.docx", build_aml_docx),
    ("fee-schedule.xlsx", build_fee_xlsx),
    ("new-joiner-onboarding.pptx", build_onboarding_pptx),
    ("travel-and-expenses.html", lambda path: write_text(path, TRAVEL_HTML)),
    ("it-security-faq.md", lambda path: write_text(path, IT_FAQ_MD)),
    ("wire-cutoff-change.eml", build_wire_eml),
    ("branch-opening-hours.txt", lambda path: write_text(path, BRANCH_HOURS_TXT)),
    ("politique-teletravail.docx", build_teletravail_docx),
    ("procedure-reclamations.html", lambda path: write_text(path, RECLAMATIONS_HTML)),
]


def main() -> None:
    """Build every corpus file into ``OUT_DIR``."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, builder in BUILDERS:
        path = OUT_DIR / name
        builder(path)
        print(f"{path.relative_to(HERE.parent.parent)}  {path.stat().st_size:>7} bytes")


if __name__ == "__main__":
    main()
