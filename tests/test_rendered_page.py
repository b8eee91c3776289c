"""Every built chapter page, opened in a real headless Chromium with networking off.

Run after the book is built (``make test`` builds it first). The page is served from
127.0.0.1; every other host is unresolvable and any request to one is aborted and
recorded. From the live DOM we check that plotly drew its figures, that MathJax typeset
the math, that no live ipywidgets control (which would move and change nothing without a
kernel) reached the page, that no code or output block runs past the text column at 1280 px,
that the browser console stayed free of errors, and that nothing was fetched from outside (no
CDN). One screenshot per section of every page is written to ``_build/screenshots/<page>/``.
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
    external, failed, console = [], [], []
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
        page.on("console", lambda msg: msg.type == "error" and console.append(msg.text))
        page.on("pageerror", lambda err: console.append(f"uncaught: {err}"))
        page.goto(f"{server}/{page_path}", wait_until="load")
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=20_000)
        # attached, not visible: math in a heading is also typeset in the collapsed "on this page" menu
        page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
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
                widgets: document.querySelectorAll('.jupyter-widgets, .widget-slider').length,
                widgetState: document.querySelectorAll(
                    'script[type="application/vnd.jupyter.widget-state+json"]').length,
                // code and output blocks wider than the column (their text is cut off or scrolls)
                overflowing: [...document.querySelectorAll(
                        'article .highlight pre, article .cell_output pre, article .cell_output .output')]
                    .filter(e => e.scrollWidth > e.clientWidth + 1)
                    .map(e => `${e.scrollWidth - e.clientWidth}px too wide: ${e.textContent.trim().slice(0, 60)}`),
                mathJaxSource: (document.querySelector('script[src*="tex-chtml"]') || {}).src || '',
                // a Markdown table printed by a cell but left as text: "| a | b |" lines in a paragraph
                rawTables: [...document.querySelectorAll('.cell_output p')]
                    .filter(p => /\|\s*-{3,}/.test(p.textContent)).length,
            })"""
        )
        shots = SHOTS / page_path.replace("book/", "").replace(".html", "")
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "00-top.png"))
        sections = page.locator("article section section[id]:not(section section section)")  # the ## sections
        report["sections"] = sections.count()
        for k in range(sections.count()):
            section = sections.nth(k)
            section.scroll_into_view_if_needed()
            section.screenshot(path=str(shots / f"{k + 1:02d}-{section.get_attribute('id')[:60]}.png"))
        browser.close()
    return report, external, failed, console


def test_plotly_drew_every_figure(page_report):
    report, *_ = page_report
    assert report["plots"] >= 2
    assert report["plotsWithSvg"] == report["plots"]
    assert report["sliders"] >= 1, "every chapter has a plotly slider (or animation) that works without a kernel"


def test_mathjax_typeset_the_math(page_report):
    report, *_ = page_report
    assert report["math"] >= 3
    assert report["rawMath"] == 0, "some math was left as raw TeX"
    assert "/_static/mathjax/" in report["mathJaxSource"]


def test_printed_tables_are_rendered_as_tables(page_report):
    report, *_ = page_report
    assert report["rawTables"] == 0, "a Markdown table output was rendered as plain text"


def test_no_live_widget_reaches_the_static_page(page_report):
    report, *_ = page_report
    assert report["widgets"] == 0 and report["widgetState"] == 0, \
        "an ipywidgets control needs a kernel: build with SNNLIB_STATIC_BOOK=1 (make book) and use viz.interact"


def test_every_code_and_output_block_fits_the_column(page_report):
    report, *_ = page_report
    assert report["overflowing"] == [], "blocks run past the text column at 1280 px:\n" + "\n".join(
        report["overflowing"])


def test_the_console_stays_free_of_errors(page_report):
    *_, console = page_report
    assert console == [], f"browser console errors: {console}"


def test_every_section_has_a_screenshot(page_report):
    report, *_ = page_report
    assert report["sections"] >= 3


def test_nothing_was_fetched_from_outside(page_report):
    _, external, failed, _ = page_report
    assert external == [], f"requests to other hosts (a CDN?): {external}"
    assert failed == [], f"requests that failed on the local site: {failed}"
