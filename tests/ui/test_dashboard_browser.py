"""The dashboard in a real browser: it loads, compares, reacts to a widget, draws the class maps."""

import re
import time

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

BASELINE_ROW = ".tabulator-row"
TITLES_JS = """() => { const out = [];
  for (const d of Bokeh.documents) for (const m of d._all_models.values()) {
    const kind = m.type || (m.constructor && m.constructor.name);
    if (String(kind).includes('Title') && m.text) out.push(m.text); }
  return out; }"""


def _baseline_cells(page):
    row = page.locator(BASELINE_ROW, has_text="majority baseline")
    row.wait_for(timeout=180_000)
    return [c for c in row.inner_text().split() if re.fullmatch(r"[0-9.]+", c)]


def _wait_for_change(page, before, timeout_s=180):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        cells = _baseline_cells(page)
        if cells != before:
            return cells
        page.wait_for_timeout(500)
    raise AssertionError(f"the baseline row stayed {before} for {timeout_s} s after the widget changed")


def test_page_compares_methods_and_reacts_to_a_widget(page, served_app, artifacts):
    page.set_viewport_size({"width": 1500, "height": 1100})
    page.goto(served_app)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=60_000)
    before = _baseline_cells(page)
    assert float(before[0]) == pytest.approx(0.2)  # 5 balanced classes
    for method in ("hoof", "biwoof"):
        assert page.locator(BASELINE_ROW, has_text=method).count() == 1
    page.screenshot(path=str(artifacts / "dashboard-comparison.png"), full_page=True)

    # a class-mapping change (5 classes -> MEGC's 3) moves the shown baseline and scores
    page.locator("select:has(option[value='megc2019'])").select_option("megc2019")
    after = _wait_for_change(page, before)
    assert float(after[0]) == pytest.approx(0.5)  # negative is 8 of the 16 mapped clips
    assert page.get_by_text("What changed").count() >= 1

    # the per-class average apex flow maps: one panel per class, with n in the title
    page.get_by_text("Apex flow maps").click()
    page.wait_for_function(f"() => ({TITLES_JS})().filter(t => t.includes('(n=')).length >= 3", timeout=180_000)
    titles = [t for t in page.evaluate(TITLES_JS) if "(n=" in t]
    assert sorted(t.split(" (n=")[0] for t in titles) == ["negative", "positive", "surprise"]
    page.screenshot(path=str(artifacts / "dashboard-apex-maps.png"), full_page=True)


def test_impossible_protocol_shows_a_message_not_a_traceback(page, served_app):
    page.goto(served_app)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=60_000)
    _baseline_cells(page)
    page.locator("select:has(option[value='cross'])").select_option("cross")
    message = page.get_by_text(re.compile("Cannot compare with these settings"))
    message.wait_for(timeout=120_000)
    assert "Traceback" not in page.content()
    # the app keeps working: back to LOSO brings the scores back
    page.locator("select:has(option[value='cross'])").select_option("loso")
    page.locator(BASELINE_ROW, has_text="hoof").wait_for(timeout=120_000)


def test_two_sessions_are_independent(browser, served_app):
    one, two = browser.new_page(), browser.new_page()
    for page in (one, two):
        page.goto(served_app)
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=60_000)
    first = _baseline_cells(one)
    assert _baseline_cells(two) == first
    one.locator("select:has(option[value='megc2019'])").select_option("megc2019")
    assert _wait_for_change(one, first) != first
    two.wait_for_timeout(1000)
    assert _baseline_cells(two) == first  # the other session kept its own settings
    one.close()
    two.close()
