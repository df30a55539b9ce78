"""CITATION.cff: valid YAML, the software's and the model's versions, DOIs from the evidence table."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import omsbayes

CITATION = Path(__file__).resolve().parents[1] / "CITATION.cff"


def test_citation_file_names_this_software_and_model(model):
    cff = yaml.safe_load(CITATION.read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert cff["version"] == omsbayes.__version__
    assert cff["license"] == "MIT" and cff["authors"] == [{"name": "omsbayes developers"}]
    (model_ref,) = [r for r in cff["references"] if r["type"] == "data"]
    assert model_ref["title"].startswith(f"{model.name}: ") and model_ref["version"] == model.version


def test_cited_literature_matches_the_evidence_table(model):
    cff = yaml.safe_load(CITATION.read_text(encoding="utf-8"))
    articles = [r for r in cff["references"] if r["type"] == "article"]
    firsts = {a["authors"][0]["family-names"] for a in articles}
    assert {"Pranzatelli", "Rudnick", "Armangué", "Garone", "Brunklaus"} <= firsts
    sources = " ".join(e.source for e in model.spec.evidence.values())
    for article in articles:
        if "doi" in article:  # every DOI given is one the evidence table cites
            assert f"doi:{article['doi']}" in sources, article["doi"]
        first_author = article["authors"][0]["family-names"][:6]  # Armangué is Armangue in the evidence table
        assert re.search(rf"{first_author}\w* \w+[,.].*{article['year']}", sources), article["title"]
