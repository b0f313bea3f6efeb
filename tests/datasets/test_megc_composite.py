"""MEGC 2019 composite over CASME II + SAMM + SMIC-HS fixture corpora."""

import warnings

from dataset_fixtures import make_casme2, make_samm, make_smic
from mer_lab.datasets import composite, load_casme2, load_samm, load_smic


def test_megc2019_labels_and_exclusions(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = [load_casme2(make_casme2(tmp_path / "c2").root), load_samm(make_samm(tmp_path / "samm").root),
                 load_smic(make_smic(tmp_path / "smic").root)]
    comp = composite(parts, name="megc2019", mapping="megc2019")
    labels = comp.samples["label"].to_dict()
    assert set(labels.values()) == {"negative", "positive", "surprise"}
    assert labels["casme2/sub01/EP02_01f"] == "positive"          # happiness
    assert labels["casme2/sub02/EP19_06x"] == "negative"          # repression
    assert labels["samm/006_1_2"] == "negative"                   # contempt
    assert labels["samm/011_2_3"] == "surprise"
    assert labels["smic_hs/s1_po_01"] == "positive"
    # others / other / unknown labels are excluded, and counted in the issues
    assert "casme2/sub02/EP01_11f" not in labels and "samm/007_7_2" not in labels and "samm/021_2_1" not in labels
    excluded = set(comp.issues.loc[comp.issues["action"] == "excluded by mapping", "sample"])
    assert {"sub02/EP01_11f", "007_7_2", "021_2_1"} <= excluded
    # subjects stay distinct across datasets (LOSO groups)
    assert {"casme2/sub01", "samm/006", "smic_hs/s1"} <= set(comp.groups)
    # a composite cube goes through the right loader
    assert comp.cube("samm/006_1_3").attrs["dataset"] == "samm"
    assert comp.cube("smic_hs/s1_ne_01").attrs["dataset"] == "smic_hs"
