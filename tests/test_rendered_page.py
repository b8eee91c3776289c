"""Every built chapter page, opened in a real headless Chromium with networking off.

Run after the book is built (``make test`` builds it first). The page is served from
127.0.0.1; every other host is unresolvable and any request to one is aborted and
recorded. From the live DOM we check that plotly drew its figures, that MathJax typeset
the math, that the ipywidgets manager rendered the slider, and that nothing was fetched
from outside (no CDN). A screenshot is written to ``_build/screenshots/``.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
PAGES = [f"book/{p.stem}.html" for p in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))]
SHOTS = ROOT / "_build" / "screenshots"

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (CI installs Debian's chromium)"),
    pytest.mark.skipif(not (HTML / "index.html").exists(), reason=f"the book is not built: {HTML}/index.html missing"),
]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module", params=PAGES)
def page_report(server, request):
    """Load each chapter page once; return what the DOM and the network log say."""
    page_path = request.param
    assert (HTML / page_path).exists(), f"{page_path} was not built"
    external, failed = [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                # networking off: every name but the loopback server is unresolvable
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 2200})

        def route(r):
            if urlparse(r.request.url).hostname == "127.0.0.1":
                r.continue_()
            else:
                external.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.on("requestfailed", lambda req: failed.append(req.url))
        page.on("response", lambda resp: resp.status >= 400 and failed.append(f"{resp.status} {resp.url}"))
        page.goto(f"{server}/{page_path}", wait_until="load")
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=20_000)
        # attached, not visible: math in a heading is also typeset in the collapsed "on this page" menu
        page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
        state = page.locator('script[type="application/vnd.jupyter.widget-state+json"]')
        has_widgets = state.count() > 0 and "SliderModel" in state.first.inner_text()
        if has_widgets:
            page.wait_for_selector(".widget-slider", timeout=20_000)  # the widget manager rendered the saved state
        page.wait_for_load_state("networkidle")
        report = page.evaluate(
            r"""() => ({
                plots: document.querySelectorAll('.js-plotly-plot').length,
                plotsWithSvg: [...document.querySelectorAll('.js-plotly-plot')]
                    .filter(p => p.querySelector('.cartesianlayer .trace, .cartesianlayer .hm')).length,
                sliders: document.querySelectorAll('.js-plotly-plot .slider-container').length,
                math: document.querySelectorAll('mjx-container').length,
                rawMath: [...document.querySelectorAll('.math')]
                    .filter(e => !e.querySelector('mjx-container')).length,
                widgets: document.querySelectorAll('.widget-slider, .jupyter-widgets.widget-slider').length,
                mathJaxSource: (document.querySelector('script[src*="tex-chtml"]') || {}).src || '',
                // a Markdown table printed by a cell but left as text: "| a | b |" lines in a paragraph
                rawTables: [...document.querySelectorAll('.cell_output p')]
                    .filter(p => /\|\s*-{3,}/.test(p.textContent)).length,
            })"""
        )
        report["has_widgets"] = has_widgets
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / page_path.replace("book/", "").replace(".html", ".png")), full_page=False)
        browser.close()
    return report, external, failed


def test_plotly_drew_every_figure(page_report):
    report, _, _ = page_report
    assert report["plots"] >= 2
    assert report["plotsWithSvg"] == report["plots"]
    assert report["sliders"] >= 1, "every chapter has a plotly slider (or animation) that works without a kernel"


def test_mathjax_typeset_the_math(page_report):
    report, _, _ = page_report
    assert report["math"] >= 3
    assert report["rawMath"] == 0, "some math was left as raw TeX"
    assert "/_static/mathjax/" in report["mathJaxSource"]


def test_printed_tables_are_rendered_as_tables(page_report):
    report, _, _ = page_report
    assert report["rawTables"] == 0, "a Markdown table output was rendered as plain text"


def test_widgets_render_from_saved_state(page_report):
    report, _, _ = page_report
    if not report["has_widgets"]:
        pytest.skip("this chapter has no ipywidgets slider")
    assert report["widgets"] >= 1


def test_nothing_was_fetched_from_outside(page_report):
    _, external, failed = page_report
    assert external == [], f"requests to other hosts (a CDN?): {external}"
    assert failed == [], f"requests that failed on the local site: {failed}"
