"""Offline: a notebook's HoloViews plot, exported to HTML, draws in Chromium with the network cut."""

import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CELLS = [
    "import holoviews as hv\nfrom mer_lab import viz\n\nviz.setup_notebook()",
    "hv.Curve([(0, 0.0), (1, 1.0), (2, 0.5)], 'frame', 'magnitude').opts(title='offline curve')",
]


@pytest.fixture(scope="module")
def exported_notebook(tmp_path_factory):
    """A two-cell notebook as the course writes them, executed and exported to HTML."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nbconvert = pytest.importorskip("nbconvert")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    path = tmp_path_factory.mktemp("offline") / "offline.html"
    path.write_text(html)
    return path


def test_exported_notebook_plot_draws_without_network(page, exported_notebook, artifacts):
    blocked = []

    def only_local(route):
        url = route.request.url
        if url.startswith(("file://", "http://127.0.0.1", "http://localhost", "data:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(exported_notebook.as_uri())
    # BokehJS came from the notebook itself, and the plot's document was built
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=60_000)
    titles = page.evaluate("""() => { const out = [];
      for (const d of Bokeh.documents) for (const m of d._all_models.values()) {
        if (String(m.type || m.constructor.name).includes('Title') && m.text) out.push(m.text); }
      return out; }""")
    assert "offline curve" in titles
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / "offline-notebook-plot.png"))
    # no script of bokeh, holoviews or panel was asked of a CDN (a few of panel's theme
    # stylesheets are, and are not needed: the plot above drew without them)
    scripts = [u for u in blocked if u.split("?")[0].endswith(".js")
               and any(k in u.lower() for k in ("bokeh", "holoviews", "panel", "holoviz"))]
    assert not scripts, json.dumps(blocked)
