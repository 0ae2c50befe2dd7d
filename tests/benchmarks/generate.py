"""Generate a SYNTHETIC directory of N services as HSDS 3.0 ndjson, for the import/export benchmark.

    .venv/bin/python tests/benchmarks/generate.py OUT.ndjson --services 100000 [--seed 1]

Everything here is invented and says so: every organization and service name starts with "Synthetic",
every description says it is benchmark data, web addresses are on example.org. What is meant to be
realistic is the shape: several services per organization, 1-4 needs each from our own vocabularies
(resources/demo_data/vocabularies.json, the terms carried in full as our export writes them), people
served, trafficking types, a mix of languages that fits each city, most services at places in a dozen
metro areas (real city coordinates, time zones and ISO 3166-2 subdivisions), places shared by the
services of one organization, some confidential shelters, national hotlines with a country-wide
service area and 24/7 hours, state-wide services, phone numbers that libphonenumber accepts as valid
for their country (random digits, checked; never the 555 fictional ranges, which are not valid), and
weekly opening hours.

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
    def __init__(self, seed=1):
        self.random = random.Random(seed)
        self.terms = vocabulary_terms()
        self.metro_weights = [metro.weight for metro in METROS]
        self.count = 0

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


def generate(path, services, *, seed=1):
    """Write `services` synthetic service documents to `path` as ndjson; return how many."""
    generator = Generator(seed)
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        for document in generator.organizations(services):
            stream.write(json.dumps(document, ensure_ascii=False) + "\n")
    return generator.count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="the ndjson file to write")
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(argv)
    started = datetime.datetime.now()
    count = generate(options.path, options.services, seed=options.seed)
    seconds = (datetime.datetime.now() - started).total_seconds()
    print(f"Generated {count} synthetic services in {options.path} in {seconds:.1f} s.", file=sys.stderr)


if __name__ == "__main__":
    main()
