"""The practitioner deck's deployment facts that lesson 08 quotes (data/*.csv).

The expected values are read off the Koul, Ganju, Kasam deck (slides named per test), not
from the files under test.
"""

import pytest

from mobilecourse.data import paper_table

TABLES = ["deployment_facts", "cloud_vision_benchmark", "fine_tuning_decision"]


@pytest.mark.parametrize("name", TABLES)
def test_quoted_tables_name_the_deck_and_point_nowhere(name):
    table = paper_table(name)
    assert len(table) >= 3
    assert table["source"].str.contains("Koul, Ganju, Kasam deck, slide").all()
    for column in table.columns:
        if table[column].dtype != "int64" and table[column].dtype != "float64":
            assert not table[column].fillna("").str.contains("http|www\\.").any(), column


def test_every_fact_says_what_reproducing_it_needs_and_its_slide_is_in_its_source():
    facts = paper_table("deployment_facts")
    assert (facts["to_reproduce"].str.len() > 10).all()
    assert facts["slide"].between(1, 113).all()  # the deck has 113 slides
    for row in facts.itertuples():
        assert str(row.slide) in row.source, row.fact


def test_runtime_sizes_as_printed_on_slide_33_and_the_ios_limit_on_slide_44():
    facts = paper_table("deployment_facts")
    assert list(facts.query("slide == 33")["as_printed"]) == ["~75 KB", "~400 KB", "1.5 MB"]
    assert list(facts.query("slide == 44")["as_printed"]) == ["150 MB"]
    assert list(facts.query("slide == 58")["as_printed"]) == ["30", "200"]


def test_cloud_benchmark_as_printed_on_slides_13_and_16():
    cloud = paper_table("cloud_vision_benchmark").set_index("api")
    assert cloud["text_accuracy_percent"].to_dict() == {
        "Amazon Rekognition": 45.4,
        "Google Cloud Vision": 33.4,
        "Microsoft Cognitive Services": 55.4,
    }
    assert cloud["tagging_accuracy_percent"].tolist() == [65.0, 47.6, 50.0]
    assert cloud["tagging_avg_tags"].tolist() == [14, 14, 8]


def test_fine_tuning_table_has_one_answer_per_size_and_similarity():
    table = paper_table("fine_tuning_decision")
    pairs = set(zip(table["dataset_size"], table["similarity_to_original"], strict=True))
    assert pairs == {(s, t) for s in ("small", "large") for t in ("low", "high")}
    assert len(table) == 4
    answer = table.set_index(["dataset_size", "similarity_to_original"])["what_to_do"]
    assert "scratch" in answer[("large", "low")]
    assert "linear classifier" in answer[("small", "high")]
