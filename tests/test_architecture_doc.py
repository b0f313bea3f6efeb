"""docs/architecture.md: the worked example "adding a method in 30 lines" runs as written."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _example() -> str:
    text = DOC.read_text()
    section = text.split("## Adding a method in 30 lines", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 1, "the section has no python block"
    return blocks[0]


def test_the_example_is_at_most_30_lines_of_code():
    code = [line for line in _example().splitlines()
            if line.strip() and not line.startswith(("import ", "from "))]
    assert len(code) <= 30, len(code)


def test_the_example_runs_and_registers_a_working_method():
    from mer_lab import methods as M

    namespace: dict = {}
    try:
        exec(compile(_example(), str(DOC), "exec"), namespace)
        assert "block_change" in M.METHODS and M.available_methods()["block_change"] == "ok"
        pipe = namespace["pipe"]
        assert [name for name, _ in pipe.steps] == list(M.STEPS)
        assert pipe.get_params()["tim__n_frames"] == 10 and pipe.get_params()["features__grid"] == 2
        assert len(namespace["predicted"]) == len(namespace["corpus"])
        with pytest.raises(ValueError, match="grid"):
            M.make_pipeline("block_change", grid=0)
    finally:
        if "block_change" in M.METHODS:
            M.unregister_method("block_change")
