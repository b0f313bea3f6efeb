"""The methods registry: named methods are scikit-learn pipelines with the thesis's defaults."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, cross_val_predict
from sklearn.pipeline import Pipeline

from mer_lab import methods as M
from mer_lab.cube import make_cube
from mer_lab.features.base import CubeFeatures

THESIS_METHODS = ["lbp_top", "mdmo", "sparse_mdmo", "hoof", "biwoof", "fdm", "lbp_xyot", "lbp_sip", "lbp_mop",
                  "elbp_top", "hog_top", "higo_top", "baseline"]


@pytest.fixture(scope="module")
def tiny():
    """Three subjects x four clips of two classes, 48x48 faces: (cubes, labels, subjects)."""
    from mer_lab.datasets.synthetic import make_corpus

    corpus = make_corpus(n_subjects=3, clips_per_subject=4, size=48, classes=["happiness", "surprise"], seed=2)
    cubes = [cube for _uid, cube in corpus.cubes()]
    return cubes, corpus.labels, corpus.groups


def test_every_named_method_is_registered_and_builds_a_pipeline():
    status = M.available_methods()
    assert set(THESIS_METHODS) <= set(status)
    assert all(text == "ok" for text in status.values()), status
    table = M.list_methods()
    assert set(THESIS_METHODS) <= set(table.index)
    for name in THESIS_METHODS:
        pipe = M.make_pipeline(name)
        assert isinstance(pipe, Pipeline) and [n for n, _ in pipe.steps] == list(M.STEPS)


def test_thesis_defaults_section_4_2_live_in_one_table():
    p = M.make_pipeline("lbp_top").get_params()
    assert p["tim__n_frames"] == 10 and p["features__blocks"] == (8, 8, 1)
    assert p["features__points"] == (8, 8, 8) and p["features__radii"] == (1, 1, 1)
    assert p["magnify"] == "passthrough" and p["scale"] == "passthrough" and p["stage"] == "passthrough"
    assert p["classifier__kernel"] == "poly" and p["classifier__degree"] == 3
    mdmo = M.make_pipeline("mdmo")
    assert mdmo.get_params()["features__lam"] == 0.9 and mdmo.get_params()["tim"] == "passthrough"
    sp = M.make_pipeline("sparse_mdmo", dataset="samm").get_params()
    assert sp["features__n_frames"] == 10 and sp["stage__lam"] == 0.9 and sp["stage__n_atoms"] == 128
    assert type(sp["scale"]).__name__ == "StandardScaler"
    assert M.make_pipeline("biwoof", dataset="smic").get_params()["features__blocks"] == (8, 8)
    assert M.make_pipeline("biwoof", dataset="smic_hs").get_params()["features__blocks"] == (8, 8)
    assert M.make_pipeline("biwoof", dataset="casme2").get_params()["features__blocks"] == (5, 5)
    megc = M.make_pipeline("lbp_top", dataset="megc").get_params()
    assert megc["features__points"] == (4, 4, 4) and megc["features__radii"] == (1, 1, 4)
    assert megc["features__blocks"] == (5, 5, 1)
    assert M.method_defaults("biwoof", dataset="smic")["blocks"] == (8, 8)
    assert M.get_method("lbp_top").gamma_step == 0.1 and M.get_method("mdmo").gamma_step == 0.01


def test_flat_names_and_step_names_reach_the_same_parameter():
    assert M.param_aliases("lbp_top")["tim"] == "tim__n_frames"
    assert M.param_aliases("lbp_top")["evm_alpha"] == "magnify__alpha"
    assert M.param_aliases("sparse_mdmo")["n_atoms"] == "stage__n_atoms"
    flat = M.make_pipeline("lbp_top", tim=20, blocks=[4, 4, 1]).get_params()
    step = M.make_pipeline("lbp_top", tim__n_frames=20, features__blocks=(4, 4, 1)).get_params()
    assert flat["features__blocks"] == step["features__blocks"] == (4, 4, 1)   # a list becomes the tuple
    assert flat["tim__n_frames"] == step["tim__n_frames"] == 20
    assert M.make_pipeline("mdmo", tim=12).get_params()["tim__n_frames"] == 12    # switched on
    assert M.make_pipeline("lbp_top", tim=None).get_params()["tim"] == "passthrough"
    on = M.make_pipeline("hoof", evm_alpha=15).get_params()
    assert on["magnify__alpha"] == 15
    assert M.make_pipeline("hoof", evm_alpha=0).get_params()["magnify"] == "passthrough"
    assert M.make_pipeline("hog_top", classifier="knn", classifier__n_neighbors=1).get_params()[
        "classifier__n_neighbors"] == 1


def test_bad_parameters_name_the_parameter_and_what_is_accepted(tiny):
    with pytest.raises(ValueError, match=r"no parameter.*'radius'.*parameters are \[.*'radii'"):
        M.make_pipeline("lbp_top", radius=2)
    with pytest.raises(ValueError, match="tim__n_frames \\(tim\\): n_frames must be >= 2"):
        M.make_pipeline("lbp_top", tim=1)
    with pytest.raises(ValueError, match="magnify__alpha \\(evm_alpha\\): alpha must be >= 0|alpha must be > 0"):
        M.make_pipeline("hoof", evm_alpha=-1)
    with pytest.raises(ValueError, match="stage__n_atoms \\(n_atoms\\)"):
        M.make_pipeline("sparse_mdmo", n_atoms=0)
    with pytest.raises(ValueError, match="method"):
        M.make_pipeline("lbp_three")
    # feature transformers check their own parameters when they run
    with pytest.raises(ValueError, match="blocks"):
        M.make_pipeline("hog_top", blocks=(4, 4)).fit(tiny[0][:2], tiny[1][:2])
    with pytest.raises(ValueError, match="engine"):
        M.make_pipeline("hoof", engine="horn_schunck").fit(tiny[0][:2], tiny[1][:2])


def test_lbp_top_pipeline_matches_the_function():
    from mer_lab.features.lbp import lbp_top
    from mer_lab.preprocess.tim import tim

    rng = np.random.default_rng(1)
    cube = make_cube(rng.integers(0, 255, (14, 24, 24)).astype(np.uint8), fps=100)
    pipe = M.make_pipeline("lbp_top", blocks=(2, 2, 1))
    v = pipe[:3].fit_transform([cube])[0]
    ref = lbp_top(tim(cube, 10), radii=(1, 1, 1), points=(8, 8, 8), mapping="u2", blocks=(2, 2, 1))
    np.testing.assert_array_equal(v, ref)
    assert v.size == 3 * 59 * 4
    assert len(pipe.named_steps["features"].get_feature_names_out()) == v.size


def test_cross_val_predict_and_grid_search_on_a_named_method(tiny):
    cubes, y, groups = tiny
    pipe = M.make_pipeline("lbp_top", blocks=(2, 2, 1), classifier="svm_linear")
    pred = cross_val_predict(pipe, cubes, y, groups=groups, cv=LeaveOneGroupOut())
    assert pred.shape == (len(cubes),) and set(pred) <= set(y)
    search = GridSearchCV(M.make_pipeline("lbp_top", classifier="svm_linear"),
                          {"features__blocks": [(1, 1, 1), (2, 2, 1)], "classifier__C": [0.1, 10.0]},
                          cv=LeaveOneGroupOut())
    search.fit(cubes, y, groups=groups)
    assert search.best_params_["features__blocks"] in [(1, 1, 1), (2, 2, 1)]
    assert len(search.cv_results_["params"]) == 4
    assert search.predict(cubes).shape == (len(cubes),)


@pytest.mark.parametrize("name, params", [("mdmo", {}), ("hoof", {}), ("sparse_mdmo", {"n_atoms": 8, "n_iter": 3})])
def test_flow_methods_run_under_cross_val_predict(tiny, name, params):
    # MDMO places its regions on the landmarks the synthetic clips carry (attrs["landmarks"])
    cubes, y, groups = tiny
    assert cubes[0].attrs["landmarks"].shape == (136,)
    pipe = M.make_pipeline(name, classifier="svm_linear", **params)
    pred = cross_val_predict(pipe, cubes, y, groups=groups, cv=LeaveOneGroupOut())
    assert pred.shape == (len(cubes),) and set(pred) <= set(y)


def test_synthetic_cubes_carry_their_first_frames_ground_truth_landmarks():
    from mer_lab.datasets.synthetic import make_corpus
    from mer_lab.preprocess.steps import TIM, Magnify

    corpus = make_corpus(n_subjects=2, clips_per_subject=2, size=48, seed=5)
    for uid in corpus.uids:
        cube = corpus.cube(uid)
        truth = corpus.ground_truth(uid)["landmarks"].isel(time=0).values
        np.testing.assert_allclose(np.asarray(cube.attrs["landmarks"]).reshape(68, 2), truth, atol=1e-4)
        for step in (TIM(n_frames=5), Magnify(alpha=5.0)):   # the cube steps keep them
            out = step.fit_transform([cube])[0]
            np.testing.assert_array_equal(out.attrs["landmarks"], cube.attrs["landmarks"])


def test_evm_step_changes_the_features(tiny):
    cube = tiny[0][0]
    plain = M.make_pipeline("hoof")[:3].fit_transform([cube])
    magnified = M.make_pipeline("hoof", evm_alpha=15)[:3].fit_transform([cube])
    assert plain.shape == magnified.shape and not np.allclose(plain, magnified)


class FramesSeen(CubeFeatures):
    """Frames of the clip times ``scale``, and its mean grey level."""

    def __init__(self, *, scale=1.0):
        self.scale = scale

    def _check_params(self):
        if self.scale < 0:
            raise ValueError(f"scale must be >= 0, got {self.scale!r}")

    def _extract(self, cube):
        return np.array([cube.sizes["time"] * self.scale, float(cube.values.mean())])

    def _names(self, cube):
        return ["frames", "mean"]


def test_registered_method_is_a_transformer_and_its_defaults():
    m = M.Method(name="toy_frames", title="toy", features=FramesSeen, defaults={"scale": 1.0}, tim=5)
    M.register_method(m)
    try:
        assert M.available_methods()["toy_frames"] == "ok"
        rng = np.random.default_rng(0)
        cube = make_cube(rng.integers(0, 255, (12, 16, 16)).astype(np.uint8), fps=100)
        assert M.make_pipeline("toy_frames")[:3].fit_transform([cube])[0, 0] == 5      # TIM ran first
        assert M.make_pipeline("toy_frames", tim=None, scale=2)[:3].fit_transform([cube])[0, 0] == 24
        assert M.make_pipeline("toy_frames", scale=2).get_params()["features__scale"] == 2.0   # the default's type
        with pytest.raises(ValueError, match="features__scale \\(scale\\): scale must be >= 0"):
            M.make_pipeline("toy_frames", scale=-1)
        with pytest.raises(ValueError, match="exists"):
            M.register_method(m)
    finally:
        M.unregister_method("toy_frames")
    assert "toy_frames" not in M.METHODS
    with pytest.raises(TypeError, match="features must be a transformer class"):
        M.register_method(M.Method(name="bad", title="bad", features="mer_lab.features.lbp:lbp_top"))


def test_a_method_that_cannot_be_built_is_reported_not_raised():
    def broken(**params):
        raise ImportError("no module named 'ghost_features'")

    M.register_method(M.Method(name="ghost", title="ghost", features=broken))
    try:
        assert M.available_methods()["ghost"].startswith("not importable")
    finally:
        M.unregister_method("ghost")


def test_old_string_resolution_layer_is_gone():
    for old in ("Param", "extract", "sample_function", "fold_stage", "param_schema", "feature_names",
                "method_params", "_import", "_accepts"):
        assert not hasattr(M, old), old


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
    X = compute_features(corpus, "fdm", params={"segments": 1}, cache=False, progress=False).values
    assert X.shape[0] == len(corpus)
    assert compute_features(corpus, "biwoof", cache=False, progress=False).values.shape[0] == len(corpus)


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
