"""Word lists the demo world draws people, companies and subjects from.

Every company lives on a ``.example`` domain (RFC 2606) so no demo address can ever belong to
a real organisation; the personal-mail senders use real free-mail domains on purpose, because
the matcher must recognise those as personal.
"""

from __future__ import annotations

import re

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas",
    "Keira", "Liam", "Maya", "Noah", "Olivia", "Priya", "Quinn", "Rafael", "Sofia", "Tomas",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Carmen", "Dmitri",
    "Esther", "Felix", "Greta", "Hassan", "Ingrid", "Jamal", "Kenji", "Lucia", "Mateo", "Nadia",
)  # fmt: skip

LAST_NAMES = (
    "Abbott", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Hughes", "Ito",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero",
    "Rossi", "Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Alvarez",
    "Brennan", "Chen", "Dalton", "Ellis", "Fontaine", "Gallagher", "Horvat", "Iqbal", "Juarez",
)  # fmt: skip

COMPANY_PREFIXES = (
    "Acme", "Blue Harbor", "Cedar", "Delta", "Evergreen", "Fjord", "Granite", "Helix",
    "Ironwood", "Juniper", "Keystone", "Lumen", "Meridian", "Northstar", "Orchid", "Pioneer",
    "Quantum", "Redwood", "Summit", "Tidewater", "Union", "Vertex", "Willow", "Zenith",
)  # fmt: skip

#: Company suffix → the Account Industry picklist value it suggests.
COMPANY_SUFFIXES = {
    "Analytics": "Technology", "Robotics": "Technology", "Software": "Technology",
    "Systems": "Technology", "Labs": "Technology", "Health": "Healthcare",
    "Clinics": "Healthcare", "Bank": "Finance", "Capital": "Finance", "Retail": "Retail",
    "Foods": "Retail", "Logistics": "Other", "Freight": "Other", "Energy": "Other",
    "Manufacturing": "Other",
}  # fmt: skip

COUNTRIES = ("United States", "United Kingdom", "Germany", "France", "Canada", "Netherlands")

TITLES = (
    "VP Operations", "Head of Procurement", "CFO", "IT Director", "Operations Manager",
    "Chief Technology Officer", "Finance Controller", "Project Lead", "Purchasing Manager",
)  # fmt: skip

PRODUCTS = ("Platform", "Analytics add-on", "Fleet licence", "Renewal", "Expansion", "Pilot")

#: Opening lines of customer threads (subject, first-message sentence).
CUSTOMER_TOPICS = (
    ("Pricing for the {product}", "Following our call, here is the pricing we discussed."),
    ("Next steps on the {product}", "Could we agree on next steps for the rollout?"),
    ("Security questionnaire", "Attached are our answers to your security questionnaire."),
    ("Contract redlines", "Legal returned the redlines; the main change is the liability cap."),
    ("Kick-off agenda", "Here is a draft agenda for the kick-off, let me know what to add."),
    ("Quote for {product}", "Please find the revised quote with the volume discount."),
    ("Pilot results", "The pilot numbers are in and they look encouraging."),
    ("Renewal timeline", "Your renewal comes up next quarter; can we plan the review?"),
)

REPLIES = (
    "Thanks, this looks good. Let me check with the team and come back to you.",
    "Could you send the updated figures before Thursday?",
    "We are aligned internally; please go ahead with the paperwork.",
    "One question on the payment terms: is net 60 possible?",
    "Great, I have put it on the agenda for our steering meeting.",
)

INTERNAL_TOPICS = (
    "Pipeline review this week",
    "Forecast call prep",
    "Territory planning",
    "Deal desk approval needed",
    "Team offsite logistics",
)

NEWSLETTERS = (
    ("digest@saasweekly.example", "SaaS Weekly", "This week in SaaS: pricing pages that convert"),
    ("updates@revops-insider.example", "RevOps Insider", "Five forecasting mistakes"),
    ("events@cloudsummit.example", "Cloud Summit", "Early-bird tickets end Friday"),
)

AUTOMATED = (
    ("no-reply@billing.cloudvendor.example", "Your invoice is available"),
    ("notifications@calendarapp.example", "Reminder: 3 meetings tomorrow"),
    ("mailer-daemon@northwind-mx.example", "Undelivered Mail Returned to Sender"),
)

PERSONAL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com")

UNKNOWN_COMPANIES = (
    "Brightfield Analytics", "Copperline Media", "Driftwood Consulting", "Emberlight Studio",
    "Foxglove Partners", "Glasshouse Digital", "Harborview Events", "Inkwell Research",
)  # fmt: skip

LEAD_COMPANIES = (
    "Aurora Biotech", "Beacon Outdoor", "Cobalt Freight", "Dune Solar", "Echo Dental",
    "Falcon Aviation", "Garnet Hotels", "Halo Fitness", "Indigo Textiles", "Jade Logistics",
)  # fmt: skip


def slug(name: str) -> str:
    """Lower-case letters and digits only: ``"Blue Harbor Labs"`` → ``"blueharborlabs"``."""
    return "".join(re.findall(r"[a-z0-9]+", name.lower()))


def local_part(first: str, last: str) -> str:
    """``first.last`` in lower case."""
    return f"{slug(first)}.{slug(last)}"
