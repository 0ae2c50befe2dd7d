"""Generate a SYNTHETIC directory of N services as HSDS 3.0 ndjson, for the import/export benchmark.

    .venv/bin/python tests/benchmarks/generate.py OUT.ndjson --services 100000 [--seed 1] [--text realistic]

Everything here is invented and says so: every organization and service name starts with "Synthetic",
every description says it is benchmark data, web addresses are on example.org. What is meant to be
realistic is the shape: several services per organization, 1-4 needs each from our own vocabularies
(resources/demo_data/vocabularies.json, the terms carried in full as our export writes them), people
served, trafficking types, a mix of languages that fits each city, most services at places in a dozen
metro areas (real city coordinates, time zones and ISO 3166-2 subdivisions), places shared by the
services of one organization, some confidential shelters, national hotlines with a country-wide
service area and 24/7 hours, state-wide services, phone numbers that libphonenumber accepts as valid
for their country (random digits, checked; never the 555 fictional ranges, which are not valid), and
weekly opening hours. By default each text is one short line (what the import benchmark has always
used); `--text realistic` gives names and descriptions of realistic length and variety instead (a short
paragraph, sometimes long, with common, uncommon and rare words), drawn from a separate random stream so
that everything else in the file stays the same (the search benchmark, bench_search.py, uses it).

The same seed gives the same file, byte for byte. Only the standard library and `phonenumbers` (a
project requirement) are used, so it runs without Django.
"""

import argparse
import datetime
import json
import random
import sys
import uuid
from collections import namedtuple
from pathlib import Path

import phonenumbers

ROOT = Path(__file__).resolve().parents[2]
VOCABULARIES = ROOT / "resources" / "demo_data" / "vocabularies.json"
LAST_MODIFIED = "2026-01-15T09:30:00Z"
SYNTHETIC = "Synthetic benchmark data, not a real service."

LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "vi": "Vietnamese",
    "zh": "Chinese",
    "ko": "Korean",
    "tl": "Tagalog",
    "ru": "Russian",
    "pl": "Polish",
    "ro": "Romanian",
    "sq": "Albanian",
    "lg": "Ganda",
    "sw": "Swahili",
    "yo": "Yoruba",
    "fr": "French",
    "th": "Thai",
    "my": "Burmese",
    "ar": "Arabic",
}


# A metro area: real coordinates, time zone and ISO 3166-2 code (its state_province resolves to it);
# phone prefixes (country and area code) and how many national digits follow; languages (the first one
# always offered); weight (its share of the organizations).
Metro = namedtuple(
    "Metro",
    "city country state_province subdivision latitude longitude timezone phone_prefixes phone_digits postcode "
    "languages weight",
)
METROS = [
    Metro(
        city="Houston",
        country="US",
        state_province="TX",
        subdivision="US-TX",
        latitude=29.7604,
        longitude=-95.3698,
        timezone="America/Chicago",
        phone_prefixes=["+1713", "+1832"],
        phone_digits=7,
        postcode="770",
        languages=["en", "es", "vi", "ar"],
        weight=14,
    ),
    Metro(
        city="Los Angeles",
        country="US",
        state_province="CA",
        subdivision="US-CA",
        latitude=34.0522,
        longitude=-118.2437,
        timezone="America/Los_Angeles",
        phone_prefixes=["+1213", "+1323"],
        phone_digits=7,
        postcode="900",
        languages=["en", "es", "ko", "tl", "zh"],
        weight=16,
    ),
    Metro(
        city="New York",
        country="US",
        state_province="NY",
        subdivision="US-NY",
        latitude=40.7128,
        longitude=-74.006,
        timezone="America/New_York",
        phone_prefixes=["+1212", "+1718"],
        phone_digits=7,
        postcode="100",
        languages=["en", "es", "zh", "ru"],
        weight=16,
    ),
    Metro(
        city="Chicago",
        country="US",
        state_province="IL",
        subdivision="US-IL",
        latitude=41.8781,
        longitude=-87.6298,
        timezone="America/Chicago",
        phone_prefixes=["+1312", "+1773"],
        phone_digits=7,
        postcode="606",
        languages=["en", "es", "pl"],
        weight=10,
    ),
    Metro(
        city="Atlanta",
        country="US",
        state_province="GA",
        subdivision="US-GA",
        latitude=33.749,
        longitude=-84.388,
        timezone="America/New_York",
        phone_prefixes=["+1404", "+1678"],
        phone_digits=7,
        postcode="303",
        languages=["en", "es"],
        weight=8,
    ),
    Metro(
        city="Toronto",
        country="CA",
        state_province="ON",
        subdivision="CA-ON",
        latitude=43.6532,
        longitude=-79.3832,
        timezone="America/Toronto",
        phone_prefixes=["+1416", "+1647"],
        phone_digits=7,
        postcode="M5",
        languages=["en", "fr", "zh"],
        weight=6,
    ),
    Metro(
        city="London",
        country="GB",
        state_province="London, City of",
        subdivision="GB-LND",
        latitude=51.5074,
        longitude=-0.1278,
        timezone="Europe/London",
        phone_prefixes=["+4420"],
        phone_digits=8,
        postcode="EC1",
        languages=["en", "pl", "ro", "sq"],
        weight=8,
    ),
    Metro(
        city="Kampala",
        country="UG",
        state_province="Kampala",
        subdivision="UG-102",
        latitude=0.3476,
        longitude=32.5825,
        timezone="Africa/Kampala",
        phone_prefixes=["+25641"],
        phone_digits=7,
        postcode="",
        languages=["en", "lg", "sw"],
        weight=5,
    ),
    Metro(
        city="Manila",
        country="PH",
        state_province="National Capital Region",
        subdivision="PH-00",
        latitude=14.5995,
        longitude=120.9842,
        timezone="Asia/Manila",
        phone_prefixes=["+632"],
        phone_digits=8,
        postcode="10",
        languages=["en", "tl"],
        weight=5,
    ),
    Metro(
        city="Lagos",
        country="NG",
        state_province="Lagos",
        subdivision="NG-LA",
        latitude=6.5244,
        longitude=3.3792,
        timezone="Africa/Lagos",
        phone_prefixes=["+234803"],
        phone_digits=7,
        postcode="10",
        languages=["en", "yo"],
        weight=4,
    ),
    Metro(
        city="Mexico City",
        country="MX",
        state_province="Ciudad de México",
        subdivision="MX-CMX",
        latitude=19.4326,
        longitude=-99.1332,
        timezone="America/Mexico_City",
        phone_prefixes=["+5255"],
        phone_digits=8,
        postcode="06",
        languages=["es", "en"],
        weight=5,
    ),
    Metro(
        city="Bangkok",
        country="TH",
        state_province="Krung Thep Maha Nakhon",
        subdivision="TH-10",
        latitude=13.7563,
        longitude=100.5018,
        timezone="Asia/Bangkok",
        phone_prefixes=["+662"],
        phone_digits=7,
        postcode="10",
        languages=["th", "en", "my"],
        weight=3,
    ),
]
# National hotlines: country, name, toll-free prefixes, national digits after them, time zone, languages.
NATIONAL = [
    ("US", "United States", ["+1888", "+1877", "+1866"], 7, "America/New_York", ["en", "es"]),
    ("GB", "United Kingdom", ["+44800"], 7, "Europe/London", ["en"]),
    ("CA", "Canada", ["+1888", "+1877"], 7, "America/Toronto", ["en", "fr"]),
    ("UG", "Uganda", ["+256800"], 6, "Africa/Kampala", ["en", "lg"]),
]
KINDS = [
    ("Legal Aid Clinic", ["legal-aid", "legal-aid-civil", "record-clearing", "legal-aid-criminal"]),
    ("Immigration Project", ["immigration-relief", "t-visa", "u-visa", "continued-presence"]),
    ("Emergency Shelter", ["emergency-shelter", "basic-needs", "case-management"]),
    ("Housing Program", ["housing", "case-management", "financial-help"]),
    ("Health Clinic", ["medical-care", "mental-health", "substance-use"]),
    ("Counselling Center", ["mental-health", "peer-support"]),
    ("Job Training", ["employment", "education", "financial-help"]),
    ("Case Management", ["case-management", "basic-needs", "family-children", "reintegration"]),
    ("Outreach Program", ["prevention-training", "reporting-trafficking"]),
    ("Repatriation Support", ["repatriation", "reintegration", "case-management"]),
]
WEEKDAYS = "MO,TU,WE,TH,FR"
TEXTS = ("short", "realistic")

# Realistic prose (opt-in, --text realistic): names and descriptions of the lengths and variety real listings
# have, so that keyword search has common words, rare words and long texts to work through. Every sentence
# below was written for this benchmark; none describes a real service.
NAME_FIRST = [
    "New",
    "Bright",
    "Safe",
    "Open",
    "Free",
    "Common",
    "United",
    "Restored",
    "Rising",
    "True North",
    "Second",
    "Blue",
    "Golden",
    "Morning",
    "Steady",
    "Wide",
    "Kind",
    "Clear",
]
NAME_SECOND = [
    "Harbor",
    "Beacon",
    "Bridge",
    "Path",
    "Light",
    "Dawn",
    "Haven",
    "Anchor",
    "Door",
    "Horizon",
    "Compass",
    "Garden",
    "River",
    "Star",
    "Ground",
    "Way",
    "Road",
    "Hands",
]
ORGANIZATION_KINDS = [
    "Alliance",
    "Coalition",
    "Center",
    "Collective",
    "Project",
    "Foundation",
    "Services",
    "Partners",
    "Network",
    "Society",
    "Initiative",
    "Outreach",
]
SERVED = ["Women", "Youth", "Families", "Men", "Foreign Nationals", "Survivors", "Young Adults"]
ORGANIZATION_SENTENCES = [
    "We are a community organization founded by survivors, social workers and lawyers.",
    "Our staff and volunteers work with survivors of human trafficking and people at risk of exploitation.",
    "We partner with hospitals, schools, faith communities and local government to find and support survivors.",
    "Our programs are free, confidential and open to people of every nationality, gender and age.",
    "We train police officers, nurses and teachers to recognise the signs of trafficking.",
    "Everything we do starts with what the survivor wants, at their own pace.",
]
# Per kind: how a listing of that kind usually opens, and what it usually says next.
KIND_OPENINGS = {
    "Legal Aid Clinic": [
        "Free and confidential legal help for survivors of trafficking in and around {city}.",
        "Our attorneys and paralegals help survivors with criminal, civil and family court cases in {city}.",
        "Legal advice and representation for people who were forced to work or to sell sex.",
    ],
    "Immigration Project": [
        "Immigration legal help for survivors of trafficking and crime in the {city} area.",
        "We help foreign nationals who were trafficked apply for T visas, U visas and Continued Presence.",
        "Free immigration consultations for survivors, whatever their status, in {city}.",
    ],
    "Emergency Shelter": [
        "A safe place to stay tonight for survivors of trafficking in {city}, open day and night.",
        "Emergency shelter with meals, clothing and an advocate, at a confidential address in {city}.",
        "Short-term emergency housing for people leaving a trafficking situation.",
    ],
    "Housing Program": [
        "Transitional and long-term housing for survivors who are ready to leave emergency shelter.",
        "Apartments with rent support and a case manager for survivors in the {city} area.",
        "Help finding, paying for and keeping a home after trafficking.",
    ],
    "Health Clinic": [
        "Medical, dental and mental health care for survivors of trafficking in {city}.",
        "A walk-in clinic where survivors can see a doctor or nurse without insurance or ID.",
        "Primary care, sexual health care and substance use treatment in one place.",
    ],
    "Counselling Center": [
        "Counselling and therapy for survivors of trafficking and their families in {city}.",
        "Individual and group counselling with therapists trained in trauma-informed care.",
        "Mental health support for adults and young people recovering from exploitation.",
    ],
    "Job Training": [
        "Job training, paid internships and help finding work for survivors in {city}.",
        "Education and employment programs that lead to a steady job and a regular income.",
        "Skills classes, resume help and interview practice for people rebuilding their lives.",
    ],
    "Case Management": [
        "A case manager who stays with you and helps you get what you need, step by step.",
        "Comprehensive case management for survivors of trafficking in the {city} area.",
        "Help with food, clothing, transport, benefits and appointments for survivors and their children.",
    ],
    "Outreach Program": [
        "Street and online outreach to people who may be trafficked in {city}.",
        "Training and awareness sessions about trafficking for schools, employers and community groups.",
        "Outreach workers who meet people where they are and explain what help exists.",
    ],
    "Repatriation Support": [
        "Help going home safely, and support to rebuild life after returning.",
        "Safe return and family reunification for survivors who want to go back to their country.",
        "Travel documents, tickets and a contact at home for survivors who choose to return.",
    ],
}
KIND_DETAILS = {
    "Legal Aid Clinic": [
        "We can help clear criminal records for offences committed while someone was being trafficked.",
        "Lawyers help with protective orders, custody, divorce, housing disputes and unpaid wages.",
        "We accompany survivors who choose to report to the police or testify in court.",
        "Civil lawsuits against traffickers can recover lost wages and damages.",
    ],
    "Immigration Project": [
        "Attorneys prepare applications, gather evidence and go with clients to interviews.",
        "We also help with work permits, green cards and bringing family members to safety.",
        "Immigration status is never a reason to refuse help, and we do not share information with enforcement.",
        "Our accredited representatives have helped hundreds of survivors get lawful status.",
    ],
    "Emergency Shelter": [
        "Beds are available for women, men and families, with separate spaces for young people.",
        "Residents can stay up to 90 days while they plan their next steps with a case manager.",
        "The shelter provides hot meals, toiletries, laundry and a quiet place to rest.",
        "Pets can often be accommodated; ask when you call.",
    ],
    "Housing Program": [
        "Residents pay no more than a third of their income in rent and keep their own lease when they leave.",
        "Each household has a case manager who helps with budgeting, benefits and school enrolment.",
        "Furniture, kitchen supplies and a first grocery shop are included at move-in.",
        "The waiting list is usually short for survivors referred by an advocate.",
    ],
    "Health Clinic": [
        "Nurses can treat injuries, test for infections and provide contraception and prenatal care.",
        "Psychiatrists and counsellors work alongside the doctors.",
        "Medication-assisted treatment is available for opioid and alcohol use.",
        "We see patients regardless of insurance, ability to pay or immigration status.",
    ],
    "Counselling Center": [
        "Therapists help with nightmares, anxiety, depression and the effects of long-term trauma.",
        "Weekly peer support groups are led by survivors who trained as facilitators.",
        "Art, music and movement therapy groups meet on weekday evenings.",
        "Family counselling helps parents and children talk about what happened.",
    ],
    "Job Training": [
        "Courses cover computer skills, customer service, food handling and workplace English.",
        "Participants earn a stipend while they train, and graduates get help with job placement.",
        "We work with employers who understand trauma and offer flexible schedules.",
        "Financial literacy classes cover banking, credit repair and saving.",
    ],
    "Case Management": [
        "Case managers help with benefits applications, identity documents and opening a bank account.",
        "We can pay for urgent needs such as a phone, bus passes, groceries or a night in a motel.",
        "Children and teenagers get help enrolling in school and finding childcare.",
        "Support continues for as long as you need it, often for a year or more.",
    ],
    "Outreach Program": [
        "Outreach teams visit truck stops, massage businesses, farms and online forums.",
        "We give out hygiene kits, phone numbers and information cards in several languages.",
        "Presentations can be tailored for hotels, airlines, hospitals and faith groups.",
        "Anyone can call to report a concern; you do not have to give your name.",
    ],
    "Repatriation Support": [
        "We work with embassies and partner organizations abroad to plan each return.",
        "A partner organization meets survivors on arrival and helps with housing and work.",
        "Support includes medical checks, travel documents and reintegration grants.",
        "Survivors who decide to stay instead are referred to local services.",
    ],
}
GENERAL_SENTENCES = [
    "An advocate meets you within two days of your first call and helps you make a safety plan.",
    "We can help with transportation to appointments, court dates and interviews.",
    "Childcare is available during appointments.",
    "You do not need to show ID or proof of immigration status to get help.",
    "We work closely with local shelters, clinics and legal aid partners to connect you with what you need.",
    "Walk-ins are welcome during office hours; after hours, leave a message and we will call back.",
    "Survivors of labour and sex trafficking of any age, gender or nationality are welcome.",
    "Support groups meet weekly, led by survivors who have been through the program.",
    "We can help you replace lost or confiscated documents such as passports and birth certificates.",
    "Our team includes bilingual social workers trained in trauma-informed care.",
    "Referrals from police, hospitals and schools are accepted, but you can also contact us yourself.",
    "Emergency financial help may cover rent, utilities or a phone.",
    "We offer help over the phone, by text and in person at our office.",
    "Services for minors may need a parent or guardian's consent unless the law allows otherwise.",
    "Video appointments are available for people who cannot travel.",
    "Volunteers provide mentoring, tutoring and help with job applications.",
    "We respect your choices: you decide what help you want and when.",
    "Everything you tell us stays confidential unless you ask us to share it.",
    "Staff can help you apply for food assistance, health insurance and cash benefits.",
    "There is a quiet room for children and a private space to talk.",
    "The office is wheelchair accessible and close to public transport.",
    "We can arrange an interpreter for almost any language at no cost to you.",
    "Our program is funded by grants and donations, so there is never a fee.",
    "If you are in danger right now, call the emergency number first.",
    "We also support family members and friends who are worried about someone.",
    "Appointments usually last about an hour; the first one is mostly about listening.",
    "We help survivors plan for the long term: school, work, housing and health.",
    "Please call ahead if you need help with mobility, hearing or vision.",
]
# Rare details: each appears in about `share` of the services, so some words are rare at any size.
RARE_SENTENCES = [
    ("Trauma therapy can include EMDR with a licensed clinician.", 0.01),
    ("A doula can accompany pregnant clients to appointments and to the birth.", 0.004),
    ("Information is available in braille and large print.", 0.002),
    ("Interpreters for Tigrinya and Amharic can be arranged.", 0.002),
    ("We file vacatur motions to clear convictions linked to trafficking.", 0.005),
    ("Halal and kosher meals are available on request.", 0.003),
    ("Equine therapy sessions take place on a partner farm.", 0.001),
    ("Tattoo removal for branding marks is offered free of charge.", 0.001),
    ("We help people harmed by notario fraud correct their immigration filings.", 0.002),
    ("A beekeeping apprenticeship pays a weekly stipend.", 0.0003),
    ("Kinyarwanda speakers can ask for a peer mentor who speaks their language.", 0.0002),
    ("Cosmetology licence fees are covered for graduates.", 0.001),
]
HOTLINE_SENTENCES = [
    "Call or text any time, day or night, to talk to a trained advocate in confidence.",
    "Advocates can connect you with shelter, legal help, health care and transport near you.",
    "You can report a tip about a possible trafficking situation, and you can stay anonymous.",
    "Interpreters are available in more than 200 languages.",
    "The line is free from any phone and does not appear on most phone bills.",
    "Advocates will not contact police or immigration without your consent unless someone is in danger.",
    "Family members, employers, teachers and neighbours can call for advice too.",
]


class Prose:
    """Names and descriptions for --text realistic. It draws from its own random stream, so the structure
    of the directory (ids, places, phones, terms) is the same whichever text it carries."""

    def __init__(self, seed):
        self.random = random.Random(f"prose-{seed}")

    def organization(self):
        pick = self.random.choice
        sentences = self.random.sample(ORGANIZATION_SENTENCES, self.random.randint(1, 3))
        return {
            "name": f"Synthetic {pick(NAME_FIRST)} {pick(NAME_SECOND)} {pick(ORGANIZATION_KINDS)}",
            "description": " ".join([*sentences, SYNTHETIC]),
        }

    def service(self, kind, city, languages):
        """Name, description and sometimes an alternate name, for a service of `kind` in `city`."""
        pick, chance = self.random.choice, self.random.random
        style = chance()
        if style < 0.4:
            name = f"Synthetic {city} {kind}"
        elif style < 0.75:
            name = f"Synthetic {pick(NAME_SECOND)} {kind}"
        else:
            name = f"Synthetic {kind} for {pick(SERVED)}"
        details = KIND_DETAILS[kind]
        sentences = [pick(KIND_OPENINGS[kind]).format(city=city)]
        sentences += self.random.sample(details, self.random.randint(1, len(details)))
        # Most listings are a short paragraph; a few run long.
        sentences += self.random.sample(
            GENERAL_SENTENCES, min(len(GENERAL_SENTENCES), int(self.random.expovariate(0.4)))
        )
        sentences += [sentence for sentence, share in RARE_SENTENCES if chance() < share]
        sentences.append(f"Staff speak {_spoken(languages)}.")
        texts = {"name": name, "description": " ".join([*sentences, SYNTHETIC])}
        if chance() < 0.25:
            texts["alternate_name"] = f"Project {pick(NAME_SECOND)}" if chance() < 0.5 else f"{pick(NAME_FIRST)} Start"
        return texts

    def hotline(self, country_name, languages):
        sentences = self.random.sample(HOTLINE_SENTENCES, self.random.randint(3, len(HOTLINE_SENTENCES)))
        opening = f"A national line for anyone in {country_name} who needs help or wants to report trafficking."
        return {"description": " ".join([opening, *sentences, f"Staff speak {_spoken(languages)}.", SYNTHETIC])}


def _spoken(codes):
    names = [LANGUAGE_NAMES[code] for code in codes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def vocabulary_terms(path=VOCABULARIES):
    """{(taxonomy slug, code): term document as our export writes it}, from the demo vocabularies."""
    terms = {}
    for taxonomy in json.loads(Path(path).read_text(encoding="utf-8"))["taxonomies"]:
        detail = {key: taxonomy[key] for key in ("id", "name", "description", "slug")}

        def walk(items, parent, detail=detail):
            for position, item in enumerate(items, start=1):
                term = {key: item[key] for key in ("id", "code", "name", "description") if item.get(key)}
                term["position"] = position
                if parent:
                    term["parent_id"] = parent
                term.update(taxonomy=detail["name"], taxonomy_id=detail["id"], taxonomy_detail=detail)
                terms[detail["slug"], item["code"]] = term
                walk(item.get("children", []), item["id"])

        walk(taxonomy["terms"], None)
    return terms


class Generator:
    def __init__(self, seed=1, *, text="short"):
        self.random = random.Random(seed)
        self.terms = vocabulary_terms()
        self.metro_weights = [metro.weight for metro in METROS]
        self.count = 0
        self.prose = Prose(seed) if text == "realistic" else None

    def uuid(self):
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def phone_number(self, prefixes, digits):
        """A random number that libphonenumber accepts as valid for its country."""
        for _attempt in range(1000):
            number = self.random.choice(prefixes) + str(self.random.randint(2, 9))
            number += "".join(str(self.random.randint(0, 9)) for _ in range(digits - 1))
            if phonenumbers.is_valid_number(phonenumbers.parse(number)):
                return number
        raise ValueError(f"No valid number found under {prefixes}: check the prefixes and digits.")

    # Documents -----------------------------------------------------------------------------------------

    def organizations(self, services):
        """Yield service documents until `services` are made, a few per organization."""
        while self.count < services:
            yield from self.organization(min(self.random.randint(1, 7), services - self.count))

    def organization(self, size):
        number = self.count + 1
        organization = {
            "id": self.uuid(),
            "name": f"Synthetic Survivor Services {number}",
            "description": f"A synthetic organization made up for benchmarking. {SYNTHETIC}",
            "website": f"https://example.org/synthetic/{number}",
            "email": f"info{number}@example.org",
        }
        if self.prose:
            organization.update(self.prose.organization())
        if self.random.random() < 0.03:
            yield self.hotline(organization, self.random.choice(NATIONAL))
            size -= 1
        metro = self.random.choices(METROS, weights=self.metro_weights)[0]
        places = [self.location(organization, metro) for _ in range(self.random.choice((1, 1, 1, 2)))]
        for _ in range(size):
            yield self.service(organization, metro, places)

    def location(self, organization, metro):
        confidential = self.random.random() < 0.08
        location_id = self.uuid()
        address = {
            "id": self.uuid(),
            "address_1": "" if confidential else f"{self.random.randint(1, 9999)} Synthetic Street",
            "city": metro.city,
            "state_province": metro.state_province,
            "postal_code": "" if confidential else metro.postcode + str(self.random.randint(10, 99)),
            "country": metro.country,
            "address_type": "physical",
            "location_id": location_id,
        }
        location = {"id": location_id, "location_type": "physical"}
        if confidential:
            location["is_confidential"] = True
        else:
            location.update(
                name=f"{organization['name']} office, {metro.city}",
                description=f"Where to find us in {metro.city}. {SYNTHETIC}",
                latitude=round(metro.latitude + self.random.uniform(-0.15, 0.15), 6),
                longitude=round(metro.longitude + self.random.uniform(-0.15, 0.15), 6),
            )
        location["organization_id"] = organization["id"]
        location["addresses"] = [address]
        location["phones"] = [
            {
                "id": self.uuid(),
                "number": self.phone_number(metro.phone_prefixes, metro.phone_digits),
                "type": "voice",
                "description": "Intake line." if confidential else "Front desk.",
                "location_id": location_id,
            }
        ]
        return location

    def base_service(self, organization, name, description):
        self.count += 1
        return {
            "id": self.uuid(),
            "name": f"{name} {self.count}",
            "description": description,
            "url": f"https://example.org/synthetic/services/{self.count}",
            "email": f"help{self.count}@example.org",
            "status": "temporarily closed" if self.random.random() < 0.02 else "active",
            "application_process": "Call or walk in; an advocate will talk through the options with you.",
            "eligibility_description": "Survivors of human trafficking and people at risk.",
            "last_modified": LAST_MODIFIED,
            "is_free": self.random.random() < 0.85,
            "organization_id": organization["id"],
            "organization": organization,
        }

    def service(self, organization, metro, places):
        kind, needs = self.random.choice(KINDS)
        document = self.base_service(
            organization,
            f"Synthetic {metro.city} {kind}",
            f"{kind} for people affected by human trafficking in and around {metro.city}. {SYNTHETIC}",
        )
        service_id = document["id"]
        if self.random.random() < 0.1:
            document["minimum_age"] = 18
        if self.random.random() < 0.3:
            document["assured_date"] = f"2025-{self.random.randint(1, 12):02d}-{self.random.randint(1, 28):02d}"
        number = self.phone_number(metro.phone_prefixes, metro.phone_digits)
        document["phones"] = [self.phone(service_id, number)]
        if self.random.random() < 0.2:
            number = self.phone_number(metro.phone_prefixes, metro.phone_digits)
            document["phones"].append(self.phone(service_id, number, "text"))
        document["schedules"] = [self.schedule(service_id, metro.timezone, open_24_7=kind == "Emergency Shelter")]
        if self.random.random() < 0.1:
            document["service_areas"] = [
                {
                    "id": self.uuid(),
                    "kind": "subdivision",
                    "country": metro.country,
                    "subdivision": metro.subdivision,
                    "service_id": service_id,
                }
            ]
        document["service_at_locations"] = [
            {"id": self.uuid(), "service_id": service_id, "location_id": place["id"], "location": place}
            for place in self.random.sample(places, self.random.randint(1, len(places)))
        ]
        first, *others = metro.languages
        spoken = [first, *self.random.sample(others, self.random.randint(0, len(others)))]
        document["languages"] = [self.language(service_id, language) for language in spoken]
        if self.prose:
            document.update(self.prose.service(kind, metro.city, spoken))
        if self.random.random() < 0.1:
            document["contacts"] = [
                {
                    "id": self.uuid(),
                    "service_id": service_id,
                    "name": "Intake coordinator",
                    "email": f"intake{self.count}@example.org",
                }
            ]
        chosen = [("needs", need) for need in self.random.sample(needs, self.random.randint(1, min(4, len(needs))))]
        chosen += self.populations_and_types()
        document["attributes"] = [self.attribute(service_id, slug, code) for slug, code in chosen]
        return document

    def hotline(self, organization, national):
        country, country_name, prefixes, digits, zone, languages = national
        document = self.base_service(
            organization,
            f"Synthetic {country_name} Trafficking Helpline",
            f"A national line for anyone in {country_name} who needs help or wants to report. {SYNTHETIC}",
        )
        document["is_free"] = True
        service_id = document["id"]
        document["phones"] = [self.phone(service_id, self.phone_number(prefixes, digits))]
        document["schedules"] = [self.schedule(service_id, zone, open_24_7=True)]
        document["service_areas"] = [
            {"id": self.uuid(), "kind": "country", "country": country, "service_id": service_id}
        ]
        document["languages"] = [self.language(service_id, language) for language in languages]
        if self.prose:
            document.update(self.prose.hotline(country_name, languages))
        chosen = [("needs", "crisis-hotlines"), ("needs", "reporting-trafficking"), *self.populations_and_types()]
        document["attributes"] = [self.attribute(service_id, slug, code) for slug, code in chosen]
        document["hotline"] = {
            "operator_kind": "non_governmental",
            "confidential": "yes",
            "anonymous_allowed": "yes",
            "contacts_police": "with_consent",
            "contacts_immigration": "never",
            "asks_for_id": "no",
            "asks_immigration_status": "no",
            "what_to_expect": "A trained advocate answers, listens, and talks through options. You decide.",
            "position": 50,
        }
        return document

    def populations_and_types(self):
        populations = ["women", "men", "minors", "young-adults", "adults", "families", "foreign-nationals", "lgbtq"]
        chosen = [("populations", code) for code in self.random.sample(populations, self.random.randint(0, 2))]
        if self.random.random() < 0.5:
            chosen.append(("trafficking-types", self.random.choice(["sex-trafficking", "labour-trafficking"])))
        return chosen

    def phone(self, service_id, number, type="voice"):
        return {"id": self.uuid(), "number": number, "type": type, "service_id": service_id}

    def schedule(self, service_id, zone, *, open_24_7=False):
        if open_24_7:
            return {"id": self.uuid(), "service_id": service_id, "open_24_7": True, "timezone_name": zone}
        opens = self.random.choice((8, 9, 10))
        return {
            "id": self.uuid(),
            "service_id": service_id,
            "freq": "WEEKLY",
            "byday": WEEKDAYS,
            "opens_at": f"{opens:02d}:00:00",
            "closes_at": f"{opens + self.random.choice((6, 8, 9)):02d}:00:00",
            "timezone_name": zone,
        }

    def language(self, service_id, code):
        return {"id": self.uuid(), "name": LANGUAGE_NAMES[code], "code": code, "service_id": service_id}

    def attribute(self, service_id, slug, code):
        term = self.terms[slug, code]
        return {
            "id": self.uuid(),
            "link_id": service_id,
            "link_entity": "service",
            "taxonomy_term_id": term["id"],
            "taxonomy_term": term,
        }


def generate(path, services, *, seed=1, text="short"):
    """Write `services` synthetic service documents to `path` as ndjson; return how many. `text`: "short"
    (one-line descriptions, as the import benchmark has always used) or "realistic" (see Prose)."""
    generator = Generator(seed, text=text)
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        for document in generator.organizations(services):
            stream.write(json.dumps(document, ensure_ascii=False) + "\n")
    return generator.count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="the ndjson file to write")
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--text", choices=TEXTS, default="short", help="short one-line descriptions (default) or realistic prose"
    )
    options = parser.parse_args(argv)
    started = datetime.datetime.now()
    count = generate(options.path, options.services, seed=options.seed, text=options.text)
    seconds = (datetime.datetime.now() - started).total_seconds()
    print(f"Generated {count} synthetic services in {options.path} in {seconds:.1f} s.", file=sys.stderr)


if __name__ == "__main__":
    main()
