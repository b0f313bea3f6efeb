"""The installable truth (pyproject.toml) and the conda environment agree."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# pip name -> conda-forge name, where they differ
PIP_TO_CONDA = {
    "opencv-contrib-python-headless": "py-opencv",
    "dlib-bin": "dlib",
    "face-recognition-models": "face_recognition_models",
    "torch": "pytorch",
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower()


def _conda_names():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            names.add(_name(dep))
    return names


def test_environment_lists_every_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["faces"],
              *project["optional-dependencies"]["notebooks"], *project["optional-dependencies"]["deep"]]
    conda = _conda_names()
    missing = [r for r in wanted if PIP_TO_CONDA.get(_name(r), _name(r)) not in conda]
    assert not missing, f"environment.yml lacks {missing}"


def test_environment_has_nothing_pyproject_lacks():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_names = {_name(r) for group in [project["dependencies"], *project["optional-dependencies"].values()]
                 for r in group}
    conda_known = {PIP_TO_CONDA.get(n, n) for n in pip_names} | {"python", "pip"}
    extra = _conda_names() - conda_known
    assert not extra, f"environment.yml lists packages pyproject.toml does not: {sorted(extra)}"


def test_opencv_is_pinned_below_5_in_both():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (cv,) = [r for r in project["dependencies"] if _name(r) == "opencv-contrib-python-headless"]
    assert "<5" in cv
    env = (ROOT / "environment.yml").read_text()
    assert re.search(r"py-opencv>=4\.\d+,<5", env)


def test_ci_calls_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()
    assert "make dashboard" in (ROOT / "README.md").read_text()


def test_torch_is_pinned_to_the_cpu_wheel_and_installed_by_make_test():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"]["deep"] == ["torch==2.13.0"]
    assert not any(_name(r) == "torch" for r in project["dependencies"]), "torch must stay optional"
    assert re.search(r"pytorch==2\.13\.0", (ROOT / "environment.yml").read_text())
    assert re.search(r'\.\[faces,notebooks,dev,deep\]', (ROOT / "Makefile").read_text())
