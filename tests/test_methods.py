"""The methods registry: thesis defaults, schema validation, lazy functions, extraction."""

import numpy as np
import pytest

from mer_lab import methods as M
from mer_lab.cube import make_cube

THESIS_METHODS = ["lbp_top", "mdmo", "sparse_mdmo", "hoof", "biwoof", "fdm", "lbp_xyot", "lbp_sip", "lbp_mop",
                  "elbp_top", "hog_top", "higo_top", "baseline"]


def test_every_named_method_is_registered_and_reports_a_status():
    status = M.available_methods()
    assert set(THESIS_METHODS) <= set(status)
    for name, text in status.items():
        assert text == "ok" or text.startswith(("not importable", "TIM", "fold stage")) or "does not take" in text
    table = M.list_methods()
    assert set(THESIS_METHODS) <= set(table.index)


def test_thesis_defaults_section_4_2():
    lbp = M.method_params("lbp_top")
    assert lbp["tim"] == 10 and lbp["blocks"] == (8, 8, 1)
    assert lbp["points"] == (8, 8, 8) and lbp["radii"] == (1, 1, 1)
    mdmo = M.method_params("mdmo")
    assert mdmo["lam"] == 0.9 and mdmo["tim"] is None
    sp = M.method_params("sparse_mdmo", dataset="samm")
    assert sp == M.method_params("sparse_mdmo", dataset="casme2")   # SAMM takes CASME II's settings
    assert sp["n_frames"] == 10 and sp["lam"] == 0.9
    assert M.method_params("biwoof", dataset="smic")["blocks"] == (8, 8)
    assert M.method_params("biwoof", dataset="casme2")["blocks"] == (5, 5)
    megc = M.method_params("lbp_top", dataset="megc")
    assert megc["points"] == (4, 4, 4) and megc["radii"] == (1, 1, 4) and megc["blocks"] == (5, 5, 1)
    assert M.get_method("lbp_top").gamma_step == 0.1 and M.get_method("mdmo").gamma_step == 0.01


def test_schema_defaults_agree_with_parameters():
    for name in THESIS_METHODS:
        params = M.method_params(name)
        for p in M.param_schema(name):
            if p["name"] == "evm_alpha":  # the optional pre-step is absent while it is off
                assert p["default"] == 0 and "evm_alpha" not in params
                continue
            assert p["name"] in params, (name, p["name"])
            assert params[p["name"]] == p["default"], (name, p["name"])


def test_overrides_are_validated():
    assert M.method_params("lbp_top", tim=20, blocks=[4, 4, 1])["blocks"] == (4, 4, 1)
    assert M.method_params("mdmo", tim=None)["tim"] is None
    with pytest.raises(ValueError, match="no parameter.*'radius'.*parameters are"):
        M.method_params("lbp_top", radius=2)
    with pytest.raises(ValueError, match="tim must be >= 2"):
        M.method_params("lbp_top", tim=1)
    with pytest.raises(ValueError, match="engine"):
        M.method_params("mdmo", engine="horn_schunck")
    with pytest.raises(ValueError, match="blocks must have 3 entries"):
        M.method_params("hog_top", blocks=(4, 4))
    with pytest.raises(ValueError, match="lam must be <= 1"):
        M.method_params("mdmo", lam=1.5)
    with pytest.raises(ValueError, match="method"):
        M.method_params("lbp_three")


def frames_seen(cube, *, scale=1.0):
    return np.array([cube.sizes["time"] * scale, float(cube.values.mean())])


def test_registered_callable_method_with_tim():
    m = M.Method(name="toy_frames", title="toy", function=frames_seen, defaults={"scale": 1.0}, tim=5,
                 schema=(M.Param("scale", "float", 1.0, low=0.0),))
    M.register_method(m)
    try:
        assert M.available_methods()["toy_frames"] == "ok"
        rng = np.random.default_rng(0)
        cube = make_cube(rng.integers(0, 255, (12, 16, 16)).astype(np.uint8), fps=100)
        v = M.extract(cube, "toy_frames")
        assert v[0] == 5                                  # TIM ran first
        assert M.extract(cube, "toy_frames", M.method_params("toy_frames", tim=None, scale=2.0))[0] == 24
        assert M.feature_names("toy_frames", n_features=2) == ["toy_frames_0", "toy_frames_1"]
        with pytest.raises(ValueError, match="exists"):
            M.register_method(m)
    finally:
        M.unregister_method("toy_frames")
    assert "toy_frames" not in M.METHODS


def test_missing_module_is_reported_not_raised():
    m = M.Method(name="ghost", title="ghost", function="mer_lab.features.ghost:ghost_top", defaults={})
    M.register_method(m)
    try:
        assert M.available_methods()["ghost"].startswith("not importable")
        with pytest.raises(ImportError):
            M.extract(None, "ghost")
    finally:
        M.unregister_method("ghost")


def test_lbp_top_through_the_registry_matches_the_function():
    from mer_lab.features.lbp import lbp_top
    from mer_lab.preprocess.tim import tim

    rng = np.random.default_rng(1)
    cube = make_cube(rng.integers(0, 255, (14, 24, 24)).astype(np.uint8), fps=100)
    params = M.method_params("lbp_top", blocks=(2, 2, 1))
    v = M.extract(cube, "lbp_top", params)
    ref = lbp_top(tim(cube, 10), radii=(1, 1, 1), points=(8, 8, 8), mapping="u2", blocks=(2, 2, 1))
    np.testing.assert_array_equal(v, ref)
    assert v.size == 3 * 59 * 4
    assert len(M.feature_names("lbp_top", params, n_features=v.size)) == v.size


def test_fold_stage_of_sparse_mdmo():
    stage = M.fold_stage("sparse_mdmo", M.method_params("sparse_mdmo", n_atoms=16))
    if M.available_methods()["sparse_mdmo"] != "ok":
        pytest.skip("sparse MDMO not importable")
    assert stage.n_atoms == 16 and stage.lam == 0.9
    assert M.fold_stage("lbp_top") is None


def test_evm_pre_step_is_offered_and_changes_the_features():
    import numpy as np

    from mer_lab.datasets.synthetic import make_corpus
    from mer_lab.methods import extract, method_params, param_schema

    assert "evm_alpha" in [p["name"] for p in param_schema("lbp_top")]
    assert "evm_alpha" not in [p["name"] for p in param_schema("baseline")]
    # alpha 0 is "no magnification": the same parameters (and cache keys) as without
    assert method_params("hoof", evm_alpha=0) == method_params("hoof")
    cube = make_corpus(n_subjects=1, clips_per_subject=1, size=48).cube(0)
    plain = extract(cube, "hoof", method_params("hoof", engine="farneback"))
    magnified = extract(cube, "hoof", method_params("hoof", engine="farneback", evm_alpha=15))
    assert not np.allclose(plain, magnified)
    import pytest

    with pytest.raises(ValueError, match="evm_alpha"):
        method_params("hoof", evm_alpha=-1)


# --------------------------------------------------------------------------- method x input
def _flow_corpus(tmp_path):
    import importlib.util
    import warnings
    from pathlib import Path

    from mer_lab.datasets import load_flow_images

    spec = importlib.util.spec_from_file_location("dataset_fixtures_methods",
                                                  Path(__file__).parent / "datasets" / "fixtures.py")
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    t = fx.make_megc_flow_images(tmp_path, layout="table")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_flow_images(t.root, label_map="megc2019"), t.root


def test_registry_says_which_methods_take_flow_images():
    assert M.flow_methods() == {"hoof": {}, "biwoof": {}, "fdm": {"segments": 1}, "ststnet": {}, "off_apexnet": {}}
    assert M.METHODS["lbp_top"].inputs == ("frames",) and "flow" not in M.METHODS["mdmo"].inputs
    assert M.METHODS["fdm"].flow_params == {"segments": 1}
    table = M.list_methods()
    assert table.loc["fdm", "inputs"] == "frames, flow (segments=1)" and table.loc["lbp_top", "inputs"] == "frames"


def test_unsupported_method_on_flow_images_is_a_clear_error(tmp_path):
    from mer_lab.evaluation.experiment import compute_features

    corpus, _ = _flow_corpus(tmp_path)
    with pytest.raises(ValueError, match=r"'lbp_top' cannot run on precomputed flow images.*hoof, biwoof, "
                                         r"fdm \(segments=1\)"):
        compute_features(corpus, "lbp_top", cache=False, progress=False)
    with pytest.raises(ValueError, match=r"'fdm' runs on flow images only with segments=1.*got segments=4"):
        compute_features(corpus, "fdm", cache=False, progress=False)
    X, _ = compute_features(corpus, "fdm", params={"segments": 1}, cache=False, progress=False)
    assert X.shape[0] == len(corpus)
    assert compute_features(corpus, "biwoof", cache=False, progress=False)[0].shape[0] == len(corpus)


def test_cli_lists_flow_methods_and_refuses_others(tmp_path, capsys):
    from mer_lab.cli import main

    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "On precomputed flow images (the flow_images dataset) only: hoof, biwoof, fdm (segments=1)" in help_text
    _, root = _flow_corpus(tmp_path)
    code = main(["evaluate", "--dataset", "flow_images", "--root", str(root), "--load", "label_map=megc2019",
                 "--method", "mdmo", "--quiet", "--no-cache"])
    assert code == 2 and "'mdmo' cannot run on precomputed flow images" in capsys.readouterr().err
