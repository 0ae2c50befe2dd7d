"""The benchmark's synthetic directory is valid HSDS that our own rules accept, and says it is synthetic."""

import json

import phonenumbers
import pytest

from resources import regions

from .benchmarks import generate
from .hsds_schemas import errors


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "synthetic.ndjson"
    assert generate.generate(path, 300, seed=7) == 300
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_document_validates_against_the_official_schema(documents):
    for document in documents:
        assert errors("service.json", document) == [], document["name"]


def test_names_and_descriptions_say_synthetic(documents):
    for document in documents:
        assert document["name"].startswith("Synthetic ")
        assert "Synthetic" in document["description"]
        assert document["organization"]["name"].startswith("Synthetic ")


def test_phone_numbers_are_valid_for_their_country(documents):
    numbers = [phone["number"] for document in documents for phone in document["phones"]]
    numbers += [
        phone["number"]
        for document in documents
        for sal in document.get("service_at_locations", [])
        for phone in sal["location"].get("phones", [])
    ]
    assert len(numbers) > 300
    for number in numbers:
        assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number


def test_places_resolve_to_their_iso_subdivision(documents):
    for metro in generate.METROS:
        assert regions.subdivision_from_state(metro.country, metro.state_province) == metro.subdivision


def test_a_realistic_mix(documents):
    organizations = {document["organization_id"] for document in documents}
    assert len(organizations) < len(documents) / 2
    need_counts = {
        sum(attribute["taxonomy_term"]["taxonomy"] == "Needs" for attribute in document["attributes"])
        for document in documents
        if "hotline" not in document
    }
    assert need_counts <= {1, 2, 3, 4}
    assert any("hotline" in document for document in documents)
    confidential = [
        sal["location"]
        for document in documents
        for sal in document.get("service_at_locations", [])
        if sal["location"].get("is_confidential")
    ]
    assert confidential
    for location in confidential:
        assert "latitude" not in location
        assert location["addresses"][0]["address_1"] == ""


def test_the_same_seed_gives_the_same_file(tmp_path):
    first, second = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    generate.generate(first, 50, seed=3)
    generate.generate(second, 50, seed=3)
    assert first.read_bytes() == second.read_bytes()
