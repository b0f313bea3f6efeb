"""The Corpus object: samples table, lazy cubes, filtering, class mappings, composites."""

import numpy as np
import pandas as pd
import pytest

from mer_lab.cube import make_cube
from mer_lab.datasets.corpus import Corpus, class_mapping, composite


def _corpus(name, rows):
    samples = pd.DataFrame(rows)
    samples["dataset"] = name
    samples["fps"] = 100.0
    samples["n_frames"] = 5
    for c in ("onset", "apex", "offset"):
        samples[c] = [0, 2, 4][["onset", "apex", "offset"].index(c)]

    def loader(row):
        return make_cube(np.full((5, 4, 4), len(row["sample"]), np.uint8), fps=row["fps"],
                         dataset=row["dataset"], subject=row["subject"], sample=row["sample"],
                         emotion=row["emotion"], onset=0, apex=2, offset=4)

    return Corpus(samples, loader=loader, name=name)


@pytest.fixture
def casme2():
    return _corpus("casme2", [
        {"subject": "sub01", "sample": "EP01", "emotion": "happiness"},
        {"subject": "sub01", "sample": "EP02", "emotion": "others"},
        {"subject": "sub02", "sample": "EP03", "emotion": "disgust"},
        {"subject": "sub02", "sample": "EP04", "emotion": "repression"},
    ])


@pytest.fixture
def samm():
    return _corpus("samm", [
        {"subject": "006", "sample": "006_1_2", "emotion": "Anger"},
        {"subject": "007", "sample": "007_1_1", "emotion": "Surprise"},
        {"subject": "007", "sample": "007_2_1", "emotion": "Other"},
    ])


def test_table_is_indexed_by_uid_with_groups(casme2):
    assert casme2.uids[0] == "casme2/EP01"
    assert list(casme2.groups) == ["casme2/sub01", "casme2/sub01", "casme2/sub02", "casme2/sub02"]
    assert casme2.summary()["subjects"] == 2
    cube = casme2.cube("casme2/EP03")
    assert cube.attrs["label"] == "disgust" and cube.attrs["uid"] == "casme2/EP03"
    assert casme2.cube(0).attrs["sample"] == "EP01"
    with pytest.raises(KeyError, match="no sample"):
        casme2.cube("casme2/nope")


def test_filter_and_subset(casme2):
    assert len(casme2.filter(subject="sub02")) == 2
    assert len(casme2.filter(label=["happiness", "disgust"])) == 2
    assert casme2.subset(["casme2/EP04", "casme2/EP01"]).uids == ["casme2/EP04", "casme2/EP01"]
    with pytest.raises(ValueError, match="cannot filter on 'colour'"):
        casme2.filter(colour="red")


def test_megc_mapping_on_a_composite_excludes_others_and_reports_it(casme2, samm):
    comp = composite([casme2, samm], mapping="megc2019", name="megc")
    labels = dict(zip(comp.samples["sample"], comp.labels))
    assert labels == {"EP01": "positive", "EP03": "negative", "EP04": "negative",
                      "006_1_2": "negative", "007_1_1": "surprise"}
    excluded = comp.issues[comp.issues["action"] == "excluded by mapping"]
    assert sorted(excluded["sample"]) == ["007_2_1", "EP02"]
    # groups stay distinct across datasets; cubes load through the right loader
    assert comp.samples["group"].nunique() == 4
    assert comp.cube("samm/006_1_2").attrs["dataset"] == "samm"


def test_duplicate_uids_are_refused():
    with pytest.raises(ValueError, match="share the uid"):
        _corpus("x", [{"subject": "1", "sample": "a", "emotion": "e"},
                      {"subject": "2", "sample": "a", "emotion": "e"}])


def test_unknown_mapping_lists_valid_ones():
    with pytest.raises(ValueError, match="megc2019"):
        class_mapping("nope")


def test_megc_mapping_is_per_dataset():
    # CASME II's fear/sadness are not part of the MEGC composite, SAMM's are negative
    assert class_mapping("megc2019", "casme2").get("fear") is None
    assert class_mapping("megc2019", "samm")["fear"] == "negative"
    assert class_mapping("megc2019", "smic_hs")["negative"] == "negative"
    assert class_mapping("megc2019", "synthetic")["sadness"] == "negative"
    casme2 = _corpus("casme2", [{"subject": "1", "sample": "a", "emotion": "fear"},
                                {"subject": "1", "sample": "b", "emotion": "disgust"}])
    mapped = casme2.map_classes("megc2019")
    assert mapped.uids == ["casme2/b"] and list(mapped.labels) == ["negative"]


# --------------------------------------------------------------------------- exclusions are announced
def test_mapping_exclusions_warn_with_counts_and_reasons(casme2):
    from mer_lab.datasets import LoaderWarning

    with pytest.warns(LoaderWarning, match=r"1 of 4 samples excluded.*1 casme2 'others'"):
        mapped = casme2.map_classes("megc2019")
    assert len(mapped) == 3


def test_megc_mapping_keeps_labels_that_are_already_mapped():
    """The MEGC flow-image releases are labelled negative/positive/surprise already."""
    import warnings

    parts = [_corpus(ds, [{"subject": "1", "sample": f"{ds}_{e}", "emotion": e}
                          for e in ("negative", "positive", "surprise")]) for ds in ("casme2", "samm", "smic")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is excluded, so nothing to announce
        comp = composite(parts, mapping="megc2019")
    assert len(comp) == 9 and sorted(set(comp.labels)) == ["negative", "positive", "surprise"]


def test_mapping_that_empties_the_corpus_says_so():
    from mer_lab.datasets import LoaderWarning

    codes = _corpus("casme2", [{"subject": "1", "sample": f"c{i}", "emotion": str(i % 3)} for i in range(6)])
    with pytest.warns(LoaderWarning, match=r"6 of 6 samples excluded.*No sample is left"):
        mapped = codes.map_classes("megc2019")
    assert len(mapped) == 0 and (mapped.issues["action"] == "excluded by mapping").sum() == 6


def test_already_mapped_labels_are_named_in_the_warning_and_issues():
    from mer_lab.datasets import LoaderWarning

    c = _corpus("mine", [{"subject": "1", "sample": "a", "emotion": "happiness"},
                         {"subject": "1", "sample": "b", "emotion": "positive"}])
    with pytest.warns(LoaderWarning, match=r"\['positive'\] are classes of this mapping already"):
        mapped = c.map_classes({"happiness": "positive"})
    assert mapped.uids == ["mine/a"]
    assert "look mapped already" in mapped.issues["reason"].iloc[0]
