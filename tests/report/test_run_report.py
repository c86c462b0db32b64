"""Reports that open anywhere: offline Data Docs, the run report page, the Prefect artifact.

The browser tests drive Debian's headless Chromium over the DevTools protocol (on a pipe, so
no port is opened) with name resolution and proxying pointed at nothing. They record every
request a page makes and read computed styles, so "renders styled and fetches nothing" is
observed in a real browser rather than inferred from grepping HTML.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.models import Article, Paragraph
from tasks.output.validate import ValidationReport, run_checkpoints
from tasks.report.docs_offline import (
    ASSETS,
    VENDOR_SUBDIR,
    external_resources,
    local_target,
    make_docs_offline,
)
from tasks.report.run_report import (
    ARTIFACT_KEY,
    RunSummary,
    artifact_markdown,
    duplicate_clusters,
    publish_prefect_artifact,
    render_html,
)
from tasks.report.run_report import write_report as write_run_report
from tasks.stats import StepStats, Unit

from ..builders import articles_table, paragraphs_table

LOCAL_SCHEMES = {"file", "data", "blob", "about"}

# ---------------------------------------------------------------------------------------------
# Real Data Docs from a real GX checkpoint: two tiny tables, suites written for the test (so
# the pipeline's own suites can evolve freely), one expectation failing on purpose so that the
# failure rendering (unexpected-value tables) is part of what gets checked.

SUITES = {
    "articles": {
        "name": "articles",
        "expectations": [
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "article_id"}},
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "word_count", "min_value": 1, "max_value": 10_000},
            },
        ],
    },
    "paragraphs": {
        "name": "paragraphs",
        "expectations": [
            {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "paragraph_id"}},
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "label", "value_set": ["title", "body", "ad", "duplicate"]},
            },
        ],
    },
}


@dataclass(frozen=True)
class Docs:
    """Pristine GX output (never modified) and the validation report that produced it."""

    root: Path
    report: ValidationReport


@pytest.fixture(scope="session")
def gx_docs(tmp_path_factory: pytest.TempPathFactory) -> Docs:
    base = tmp_path_factory.mktemp("gx")
    suites_dir = base / "expectations"
    suites_dir.mkdir()
    for name, suite in SUITES.items():
        (suites_dir / f"{name}.json").write_text(json.dumps(suite), encoding="utf-8")
    tables = {
        "articles": pa.table({"article_id": ["a1", "a2", "a3"], "word_count": [120, 0, 431]}),
        "paragraphs": pa.table(
            {
                "paragraph_id": ["a1-0", "a1-1", "a2-0", "a3-0"],
                "label": ["title", "body", "promo", "body"],
            }
        ),
    }
    docs = base / "data_docs"
    report = run_checkpoints(tables, {}, suites_dir, docs)
    assert report.data_docs_index and not report.success
    return Docs(docs, report)


@pytest.fixture
def docs_copy(gx_docs: Docs, tmp_path: Path) -> Path:
    """A private copy of the Data Docs for a test that rewrites them."""
    target = tmp_path / "reports" / "data_docs"
    shutil.copytree(gx_docs.root, target)
    return target


def _pages(docs: Path) -> list[Path]:
    vendor = docs / VENDOR_SUBDIR
    return sorted(p for p in docs.rglob("*.html") if vendor not in p.parents)


def _stylesheets(docs: Path) -> list[Path]:
    vendor = docs / VENDOR_SUBDIR
    return sorted(p for p in docs.rglob("*.css") if vendor not in p.parents)


_LOCAL_REF = re.compile(r"""<(?:script|link|img)\b[^>]*?\s(?:src|href)=["']([^"']+)["']""", re.I)


@pytest.mark.slow
def test_gx_pages_load_cdn_assets_and_all_of_them_are_vendored(gx_docs: Docs):
    """The problem exists, and every external asset GX uses has a local copy."""
    pages = _pages(gx_docs.root)
    assert len(pages) >= 5  # index, two suites, two validation results
    found = {url for page in pages for url in external_resources(page.read_text("utf-8"))}
    found |= {
        url
        for css in _stylesheets(gx_docs.root)
        for url in external_resources(css.read_text(), css=True)
    }
    assert any("bootstrap" in url for url in found)
    unknown = sorted(url for url in found if local_target(url) is None)
    assert unknown == [], f"GX loads assets make_docs_offline does not vendor: {unknown}"


@pytest.mark.slow
def test_make_docs_offline_leaves_no_external_resource(docs_copy: Path):
    make_docs_offline(docs_copy)
    for page in _pages(docs_copy):
        text = page.read_text(encoding="utf-8")
        assert external_resources(text) == [], page
        assert "integrity=" not in text and "crossorigin" not in text, page
        for ref in _LOCAL_REF.findall(text):
            if ref.startswith("data:"):
                continue
            target = (page.parent / unquote(ref.split("?")[0])).resolve()
            assert target.is_file(), f"{page.relative_to(docs_copy)} -> {ref}"
    for css in _stylesheets(docs_copy):
        assert external_resources(css.read_text(encoding="utf-8"), css=True) == [], css
    # Plain hyperlinks are not loads: they stay (and open the real site when clicked).
    assert 'href="https://greatexpectations.io"' in (docs_copy / "index.html").read_text()
    vendor = docs_copy / VENDOR_SUBDIR
    for source in ASSETS.rglob("*"):
        if source.is_file():
            assert (vendor / source.relative_to(ASSETS)).read_bytes() == source.read_bytes()


def _snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_make_docs_offline_is_idempotent(docs_copy: Path):
    make_docs_offline(docs_copy)
    first = _snapshot(docs_copy)
    make_docs_offline(docs_copy)
    assert _snapshot(docs_copy) == first


@pytest.mark.slow
def test_vendored_files_are_the_exact_bytes_gx_pins(gx_docs: Docs):
    """Where GX pins a file by Subresource Integrity, the local copy has that very hash."""
    tag = re.compile(r"<script\b[^>]*>", re.I)
    checked = 0
    for match in tag.finditer((gx_docs.root / "index.html").read_text(encoding="utf-8")):
        integrity = re.search(r'integrity="sha384-([^"]+)"', match.group(0))
        src = re.search(r'src="([^"]+)"', match.group(0))
        if integrity and src:
            target = local_target(src.group(1))
            assert target is not None
            data = (ASSETS / target.removeprefix(f"{VENDOR_SUBDIR}/")).read_bytes()
            digest = base64.b64encode(hashlib.sha384(data).digest()).decode()
            assert digest == integrity.group(1), src.group(1)
            checked += 1
    assert checked == 2  # popper.js and bootstrap.js


def test_every_vendored_package_ships_its_licence():
    packages = [p for p in ASSETS.iterdir() if p.is_dir()]
    assert len(packages) == 11
    for package in packages:
        assert any(f.name.startswith("LICENSE") for f in package.iterdir()), package.name


def test_unknown_external_resources_are_neutralised(tmp_path: Path, caplog):
    page = tmp_path / "sub" / "page.html"
    page.parent.mkdir()
    page.write_text(
        "<html><head><script src='https://evil.example/x.js' integrity='sha384-x' "
        'crossorigin="anonymous"></script>'
        '<link rel="stylesheet" href="//cdn.example/a.css">'
        '<style>body{background:url("https://cdn.example/bg.png")}'
        "@import 'http://cdn.example/more.css';</style></head><body>"
        '<img srcset="https://img.example/a.png 1x, local.png 2x">'
        '<img src="data:image/png;base64,AAAA">'
        '<a href="https://example.org/">a plain link stays</a>'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
        "</body></html>",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="tasks.report.docs_offline"):
        make_docs_offline(tmp_path)
    text = page.read_text(encoding="utf-8")
    assert external_resources(text) == []
    assert '<a href="https://example.org/">' in text
    assert 'src="../static/vendor/jquery-3.7.1/dist/jquery.min.js"' in text
    assert "integrity" not in text and "crossorigin" not in text
    assert "local.png 2x" in text and 'src="data:image/png;base64,AAAA"' in text
    warned = " ".join(r.getMessage() for r in caplog.records)
    for url in ("https://evil.example/x.js", "//cdn.example/a.css", "https://img.example/a.png"):
        assert url in warned


# ---------------------------------------------------------------------------------------------
# The run report page.


def _summary(docs_index: Path | None, **changes: object) -> RunSummary:
    fields: dict[str, object] = {
        "run_id": "20260101T000000Z-abcdef12",
        "started_at": "2026-01-01T00:00:00+00:00",
        "finished_at": "2026-01-01T00:00:42+00:00",
        "inputs": {
            "files": 6,
            "total": 6,
            "published": 0,
            "skipped": 1,
            "quarantined": 2,
            "not_published_validation_failed": 3,
        },
        "stages": [
            StepStats("read", Unit.DOCUMENTS, 6, 5, Counter({"read": 1}), 0.01).as_dict(),
            StepStats("clean", Unit.DOCUMENTS, 5, 3, Counter({"extract": 1}), 0.2).as_dict(),
            {
                "name": "deduplicate",
                "unit": "paragraphs",
                "total": 40,
                "kept": 37,
                "dropped": {"duplicate": 3},
                "seconds": 0.1,
            },
        ],
        "removed_by_label": {"boilerplate": 5, "ad": 3, "duplicate": 3},
        "removed_by_rule": {
            "ad_marker": 3,
            "exact_duplicate": 3,
            "copyright_line": 2,
            "tag_list": 3,
        },
        "duplicate_clusters": [
            {
                "kept": "a1-00001",
                "copies": ["a2-00003", "a3-00002"],
                "size": 3,
                "text": "Same text.",
            }
        ],
        "quarantine": [
            {
                "source": "in/empty.txt",
                "stage": "read",
                "reason": "file is empty",
                "input_sha256": None,
            },
            {
                "source": "in/<script>alert(1)</script>.html",
                "stage": "extract",
                "reason": "HTML page has no visible text",
                "input_sha256": "ab" * 32,
            },
        ],
        "skipped": [{"source": "in/again.txt", "reason": "already published by an earlier run"}],
        "validation": {
            "success": False,
            "evaluated_expectations": 26,
            "failures": [
                {
                    "suite": "paragraphs",
                    "expectation": "expect_column_value_lengths_to_be_between",
                    "column": "text",
                    "unexpected_count": 1,
                    "sample": ["word " * 50_000, "short | sample"],
                }
            ],
            "data_docs_index": str(docs_index) if docs_index else None,
        },
        "published": False,
        "outputs": {
            "articles": "/out/articles",
            "files": [],
            "data_docs": str(docs_index) if docs_index else None,
        },
        "config": '{"dedup": {}}',
        "dedup_index": "rebuilt",
    }
    fields.update(changes)
    return RunSummary(**fields)  # type: ignore[arg-type]


def test_report_page_is_self_contained_and_escapes_its_data():
    page = render_html(_summary(None))
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower().replace("&lt;script&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<link" not in page and "src=" not in page  # nothing to fetch
    assert len(page) < 40_000  # the 250,000-character sample is clipped
    assert "(250,000 characters)" in page
    for heading in (
        "Inputs",
        "Stages",
        "Removed paragraphs",
        "Duplicate clusters",
        "Quarantined inputs",
        "Skipped inputs",
        "Validation",
    ):
        assert f"<h2>{heading}" in page
    assert page.count('class="bar"') == 4 + 3  # one bar per rule and per label


def test_report_templates_ship_with_the_package_and_escape_every_value():
    """The page comes from autoescaped templates that the wheel ships (package-data): markup
    in any value of the summary (notes, clusters, examples, failures, URLs, config) is text."""
    import fnmatch
    import tomllib

    import lxml.html

    report_dir = Path(render_html.__code__.co_filename).parent
    templates = sorted(p.relative_to(report_dir).as_posix() for p in report_dir.glob("templates/*"))
    assert "templates/run_report.html.j2" in templates
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    shipped = pyproject["tool"]["setuptools"]["package-data"]["tasks.report"]
    assert all(any(fnmatch.fnmatch(t, pattern) for pattern in shipped) for t in templates)

    mark = "<b class='x'>bold</b> & \"q\""
    summary = _summary(
        None,
        notes=[mark],
        dedup_index=mark,
        config=mark,
        removed_examples={"ad_marker": [{"label": "ad", "text": mark, "source": mark}]},
        duplicate_clusters=[
            {
                "kept": mark,
                "copies": [mark],
                "size": 2,
                "text": mark,
                "articles": [{"article_id": "a", "title": mark, "source": mark, "kept": True}],
            }
        ],
        skipped=[{"source": mark, "url": mark, "reason": mark}],
    )
    summary.validation["failures"][0]["sample"] = [mark]
    summary.stages[0]["name"] = mark
    tree = lxml.html.document_fromstring(render_html(summary))
    assert tree.findall(".//b") == []
    assert tree.text_content().count(mark) == 15  # each value above, once, as text


def test_the_stage_tables_say_what_each_step_counts():
    summary = _summary(None)
    page = render_html(summary)
    stages = page.split('<section id="stages">')[1].split("</section>")[0]
    assert "<th>unit</th>" in stages
    for name, unit in (
        ("read", "documents"),
        ("clean", "documents"),
        ("deduplicate", "paragraphs"),
    ):
        assert f"<td>{name}</td><td>{unit}</td>" in stages
    markdown = artifact_markdown(summary)
    assert "| stage | unit | total | kept | dropped |" in markdown
    assert "| deduplicate | paragraphs | 40 | 37 | duplicate: 3 |" in markdown


def test_report_page_without_anything_to_show():
    page = render_html(
        _summary(
            None,
            removed_by_label={},
            removed_by_rule={},
            duplicate_clusters=[],
            quarantine=[],
            skipped=[],
            validation={"success": True, "evaluated_expectations": 3, "failures": []},
            published=True,
        )
    )
    for note in (
        "Nothing removed.",
        "No duplicates.",
        "Nothing quarantined.",
        "Nothing skipped.",
        "No failed expectations.",
    ):
        assert note in page
    assert '<svg class="chart"' not in page


# ---------------------------------------------------------------------------------------------
# Headless Chromium over the DevTools protocol.

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    # No network: every host name fails to resolve and every proxied request (which, with
    # loopback bypass removed, is every request) goes to the closed discard port.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--window-size=1200,900",
    "--hide-scrollbars",
]


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    """Debian's chromium, which the set-up installs (`make test` runs `make chromium`).

    Fails, never skips, when it is missing: a browser check that did not run must not pass for
    one that did.
    """
    found = shutil.which("chromium")
    if not found:
        pytest.fail("chromium is not installed: `make chromium` as root installs Debian's package")
    return found


class Chromium:
    """Minimal DevTools client over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out, NUL-framed)."""

    def __init__(self, binary: str, profile: Path) -> None:
        commands_read, commands_write = os.pipe()
        replies_read, replies_write = os.pipe()
        # bash puts them on fds 3 and 4 for the child; keep the originals clear of those numbers.
        child_in = fcntl.fcntl(commands_read, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(replies_write, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(commands_read)
        os.close(replies_write)
        self.stderr_path = profile / "chromium-stderr.log"
        command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe"]
        script = f'exec "$@" 3<&{child_in} 4>&{child_out} {child_in}<&- {child_out}>&-'
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                ["bash", "-c", script, "bash", *command],
                pass_fds=(child_in, child_out),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        os.close(child_in)
        os.close(child_out)
        self._commands = os.fdopen(commands_write, "wb", buffering=0)
        self._inbox: queue.Queue[dict | None] = queue.Queue()
        self._backlog: list[dict] = []
        self._next_id = 0
        threading.Thread(target=self._read, args=(replies_read,), daemon=True).start()

    def _read(self, fd: int) -> None:
        buffer = b""
        with os.fdopen(fd, "rb", buffering=0) as stream:
            while chunk := stream.read(1 << 16):
                *messages, buffer = (buffer + chunk).split(b"\0")
                for message in messages:
                    self._inbox.put(json.loads(message))
        self._inbox.put(None)

    def _receive(self, deadline: float) -> dict | None:
        try:
            message = self._inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if message is None:
            log = self.stderr_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"chromium closed the DevTools pipe:\n{log}")
        return message

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message: dict[str, object] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._commands.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 60
        while (reply := self._receive(deadline)) is not None:
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._backlog.append(reply)
        raise TimeoutError(method)

    def events(self, session: str, quiet: float = 0.7, timeout: float = 30) -> list[dict]:
        """Events of ``session`` until the page has loaded and gone quiet for ``quiet`` s."""
        collected = [e for e in self._backlog if e.get("sessionId") == session]
        self._backlog = [e for e in self._backlog if e.get("sessionId") != session]
        loaded = any(e.get("method") == "Page.loadEventFired" for e in collected)
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            message = self._receive(min(deadline, time.monotonic() + 0.1))
            if message is None:
                if loaded and time.monotonic() - last >= quiet:
                    return collected
                continue
            last = time.monotonic()
            if message.get("sessionId") != session:
                continue
            collected.append(message)
            loaded = loaded or message.get("method") == "Page.loadEventFired"
        raise TimeoutError(f"page did not finish loading: {len(collected)} events")

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close")
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._commands.close()


@dataclass
class Visit:
    requests: list[str]
    failed: list[str]
    exceptions: list[str]
    checks: dict
    screenshot: Path

    @property
    def non_local(self) -> list[str]:
        return [url for url in self.requests if urlsplit(url).scheme not in LOCAL_SCHEMES]


@pytest.fixture(scope="session")
def browser(chromium_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    chromium = Chromium(chromium_binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield chromium
    finally:
        chromium.close()


def visit(browser: Chromium, page: Path, checks: str, screenshot: Path) -> Visit:
    """Open ``page`` in a fresh tab, wait until it is quiet, evaluate ``checks``, screenshot."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    try:
        for domain in ("Network", "Page", "Runtime"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        events = browser.events(session)
        result = browser.send(
            "Runtime.evaluate",
            {"expression": f"JSON.stringify(({checks})())", "returnByValue": True},
            session=session,
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"check script failed: {result['exceptionDetails']}")
        shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    finally:
        browser.send("Target.closeTarget", {"targetId": target})
    by_id = {
        e["params"]["requestId"]: e["params"]["request"]["url"]
        for e in events
        if e.get("method") == "Network.requestWillBeSent"
    }
    return Visit(
        requests=list(by_id.values()),
        failed=[
            f"{by_id.get(e['params']['requestId'], '?')}: {e['params'].get('errorText')}"
            for e in events
            if e.get("method") == "Network.loadingFailed"
        ],
        exceptions=[
            e["params"]["exceptionDetails"].get("exception", {}).get("description", "")
            or e["params"]["exceptionDetails"].get("text", "")
            for e in events
            if e.get("method") == "Runtime.exceptionThrown"
        ],
        checks=json.loads(result["result"]["value"]),
        screenshot=screenshot,
    )


def assert_png(path: Path, minimum: int = 10_000) -> None:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > minimum, path


DATA_DOCS_CHECKS = """() => {
  const navbar = document.querySelector('nav.navbar');
  const fa = document.querySelector('.fas, .fa-solid, .fa');
  return {
    navbarDisplay: navbar && getComputedStyle(navbar).display,
    bodyFont: getComputedStyle(document.body).fontFamily,
    jquery: typeof window.jQuery,
    bootstrapTable: typeof (window.jQuery && window.jQuery.fn.bootstrapTable),
    vega: typeof window.vegaEmbed,
    iconFontDefined: [...document.fonts].some(f => f.family === 'Font Awesome 6 Free'),
    // Fonts load when first used; pages without icons never fetch them.
    iconFontUsable: !fa || document.fonts.check('900 16px "Font Awesome 6 Free"'),
    icons: document.querySelectorAll('.fas, .fa-solid, .fa').length,
    stylesheets: document.styleSheets.length,
  };
}"""


@pytest.mark.browser
def test_data_docs_render_offline_in_chromium(browser: Chromium, docs_copy: Path, tmp_path: Path):
    make_docs_offline(docs_copy)
    pages = [docs_copy / "index.html", *sorted((docs_copy / "validations").rglob("*.html"))]
    pages.append(docs_copy / "expectations" / "articles.html")
    for i, page in enumerate(pages):
        seen = visit(browser, page, DATA_DOCS_CHECKS, tmp_path / f"data-docs-{i}.png")
        where = page.relative_to(docs_copy)
        assert seen.non_local == [], f"{where} reached for the network: {seen.non_local}"
        assert seen.failed == [], f"{where}: local files failed to load: {seen.failed}"
        assert seen.exceptions == [], f"{where}: script errors: {seen.exceptions}"
        assert len(seen.requests) > 15, where  # the vendored CSS and JS did load, from file:
        checks = seen.checks
        assert checks["navbarDisplay"] == "flex", (where, checks)  # Bootstrap's .navbar
        assert checks["bodyFont"].startswith("-apple-system"), (where, checks)  # Bootstrap reboot
        assert checks["jquery"] == checks["bootstrapTable"] == "function", (where, checks)
        assert checks["vega"] == "function", (where, checks)
        assert checks["iconFontDefined"] and checks["iconFontUsable"], (where, checks)
        assert_png(seen.screenshot)


@pytest.mark.browser
def test_chromium_check_catches_cdn_assets(browser: Chromium, gx_docs: Docs, tmp_path: Path):
    """Control: the same check on GX's own output sees the CDN requests and no styling."""
    seen = visit(browser, gx_docs.root / "index.html", DATA_DOCS_CHECKS, tmp_path / "cdn.png")
    hosts = {urlsplit(url).hostname for url in seen.non_local}
    assert {"maxcdn.bootstrapcdn.com", "code.jquery.com", "cdn.jsdelivr.net"} <= hosts
    assert all(any(h in f for h in hosts) for f in seen.failed)  # blocked, not served
    assert seen.checks["navbarDisplay"] != "flex"
    assert seen.checks["jquery"] == "undefined"
    assert any("$ is not defined" in e for e in seen.exceptions)


REPORT_CHECKS = """() => {
  const badge = document.querySelector('.badge');
  const table = document.querySelector('#stages table');
  const bars = [...document.querySelectorAll('svg.chart rect.bar')];
  return {
    badgeBackground: getComputedStyle(badge).backgroundColor,
    badgeColour: getComputedStyle(badge).color,
    tableCollapse: getComputedStyle(table).borderCollapse,
    mainWidth: document.querySelector('main').getBoundingClientRect().width,
    bars: bars.length,
    barWidths: bars.map(b => b.getBoundingClientRect().width),
    links: [...document.querySelectorAll('a[href]')].map(a => [a.textContent, a.href]),
  };
}"""


@pytest.mark.browser
def test_run_report_renders_offline_in_chromium(
    browser: Chromium, docs_copy: Path, gx_docs: Docs, tmp_path: Path
):
    make_docs_offline(docs_copy)
    reports = docs_copy.parent
    summary = _summary(docs_copy / "index.html")
    summary.validation["failures"] = [f.as_dict() for f in gx_docs.report.failures]
    write_run_report(summary, reports)
    seen = visit(browser, reports / "latest.html", REPORT_CHECKS, tmp_path / "report.png")
    assert seen.requests == [(reports / "latest.html").resolve().as_uri()]
    assert seen.failed == [] and seen.exceptions == []
    checks = seen.checks
    assert checks["badgeBackground"] == "rgb(179, 38, 30)"  # .badge.fail
    assert checks["badgeColour"] == "rgb(255, 255, 255)"
    assert checks["tableCollapse"] == "collapse"
    assert checks["mainWidth"] <= 72 * 16 + 1  # max-width: 72rem
    assert checks["bars"] == 7 and min(checks["barWidths"]) > 0
    links = dict(checks["links"])
    assert {"Data Docs", "articles validation", "paragraphs validation", "JSON"} <= set(links)
    for name, href in checks["links"]:
        assert href.startswith("file://"), (name, href)
        assert Path(unquote(urlsplit(href).path)).is_file(), (name, href)
    # The links are relative, so a copied output directory keeps working.
    moved = tmp_path / "moved"
    shutil.copytree(reports, moved)
    html = (moved / "latest.html").read_text(encoding="utf-8")
    assert (
        'href="data_docs/index.html"' in html and str(reports) not in html.split("<h2>Outputs")[0]
    )
    assert_png(seen.screenshot, minimum=30_000)


# ---------------------------------------------------------------------------------------------
# The Prefect artifact, created inside a real flow run and read back through the API.


@pytest.mark.slow
def test_summary_is_published_as_a_prefect_artifact(tmp_path: Path):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )
    from prefect.runtime import flow_run

    summary = _summary(None)

    @flow(name="newsclean-artifact-test", validate_parameters=False)
    def publishing_flow(summary: RunSummary) -> str:
        publish_prefect_artifact(summary, report_html=tmp_path / "latest.html")
        return str(flow_run.id)

    run_id = publishing_flow(summary)
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[ARTIFACT_KEY]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
            )
        )
    assert len(artifacts) == 1
    artifact = artifacts[0]
    assert artifact.type == "markdown" and str(artifact.flow_run_id) == run_id
    assert summary.run_id in (artifact.description or "")
    markdown = str(artifact.data)
    assert f"# newsclean run `{summary.run_id}`: **not published**" in markdown
    assert "| ad_marker | 3 |" in markdown and "| boilerplate | 5 |" in markdown
    assert "| in/empty.txt | read | file is empty |" in markdown
    assert "&lt;script>alert(1)&lt;/script>" in markdown
    assert "expect_column_value_lengths_to_be_between" in markdown
    assert "| in/again.txt | already published by an earlier run |" in markdown
    assert str(tmp_path / "latest.html") in markdown


def _tables_of(pages: list[Article]) -> tuple[pa.Table, pa.Table]:
    """The paragraphs and articles tables of ``pages``, as the report's tallies read them."""
    return paragraphs_table(pages, "r"), articles_table(
        pages, "r", datetime(2026, 1, 1, tzinfo=UTC)
    )


def _cluster_page(article_id: str, texts: list[str], duplicate_of: list[str | None]) -> Article:
    paragraphs = []
    for position, (text, kept) in enumerate(zip(texts, duplicate_of, strict=True)):
        paragraph = Paragraph(position, text, "body" if kept is None else "duplicate", "", 0, 0)
        paragraph.duplicate_of = paragraph.cluster_id = kept
        paragraphs.append(paragraph)
    return Article(article_id, f"{article_id}.txt", article_id, "text", "utf-8", "text", paragraphs)


def test_duplicate_clusters_give_the_kept_text_largest_first():
    # "b1-00000" keeps a paragraph whose copy "a1-00000" comes first in article order; "old"
    # was kept by an earlier run, so its first copy's text stands in for it.
    pages = [
        _cluster_page("a1", ["Copy of b.", "Reprint."], ["b1-00000", "old-00003"]),
        _cluster_page("b1", ["Kept b.", "Reprint again."], [None, "old-00003"]),
        _cluster_page("c1", ["Reprint, third.", "Copy of b, again."], ["old-00003", "b1-00000"]),
    ]
    pages[1].paragraphs[0].cluster_id = "b1-00000"
    clusters = [
        {k: v for k, v in c.items() if k != "articles"}
        for c in duplicate_clusters(*_tables_of(pages))
    ]
    assert clusters == [
        {
            "kept": "old-00003",
            "copies": ["a1-00001", "b1-00001", "c1-00000"],
            "size": 4,
            "text": "Reprint.",
        },
        {"kept": "b1-00000", "copies": ["a1-00000", "c1-00001"], "size": 3, "text": "Kept b."},
    ]
    assert [c["kept"] for c in duplicate_clusters(*_tables_of(pages), limit=1)] == ["old-00003"]


# ---------------------------------------------------------------------------------------------
# Data Docs are safe whatever the pages said: a user's expectation on a text column fails on
# titles that are markup, and opening the docs runs none of it.

PAYLOADS = [
    "<script>window.__pwned = 'script'; document.title = 'PWNED'</script>",
    "<img src=x onerror=\"window.__pwned = 'img'; document.title = 'PWNED'\">",
    "<svg onload=\"window.__pwned = 'svg'\"></svg>",
    "<iframe src=\"javascript:parent.__pwned = 'iframe'\"></iframe>",
    '<a id="pwnlink" href="javascript:window.__pwned = \'link\'">click me</a>',
    'A & B say "hi" <b>bold</b>',
]

XSS_CHECKS = """() => {
  const link = document.getElementById('pwnlink');
  if (link) link.click();
  const attrs = [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]);
  return {
    title: document.title,
    pwned: window.__pwned || null,
    // GX's own pages have onclick handlers; none may carry a payload's code.
    handlers: attrs.filter(a => /^on/i.test(a.name) && a.value.includes('__pwned')).length,
    jsUrls: attrs.filter(a => /^\\s*javascript:/i.test(a.value)).map(a => a.value),
    payloadScripts: [...document.scripts].filter(s => s.text.includes('__pwned')).length,
    text: document.body.innerText,
  };
}"""


@pytest.mark.browser
def test_data_docs_show_markup_in_failed_values_as_text_in_chromium(
    browser: Chromium, tmp_path: Path
):
    suites = tmp_path / "expectations"
    suites.mkdir()
    suite = {
        "name": "articles",
        "expectations": [
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "title", "regex": "^[A-Za-z ]+$"},
            },
            {
                "type": "expect_column_distinct_values_to_be_in_set",
                "kwargs": {"column": "title", "value_set": ["A plain title"]},
            },
        ],
    }
    (suites / "articles.json").write_text(json.dumps(suite), encoding="utf-8")
    docs = tmp_path / "reports" / "data_docs"
    tables = {"articles": pa.table({"title": [*PAYLOADS, "A plain title"]})}
    report = run_checkpoints(tables, {}, suites, docs, run_name="run-xss")
    make_docs_offline(docs)
    # The run report still says exactly what failed, raw values included.
    assert report.failures and set(report.failures[0].sample) <= set(PAYLOADS)
    assert PAYLOADS[0] in report.failures[0].sample
    pages = sorted((docs / "validations").rglob("*.html"))
    assert [p.relative_to(docs / "validations").parts[:2] for p in pages] == [
        ("articles", "run-xss")
    ]
    seen = visit(browser, pages[0], XSS_CHECKS, tmp_path / "xss.png")
    checks = seen.checks
    assert checks["pwned"] is None, checks["pwned"]
    assert "PWNED" not in checks["title"]
    assert checks["handlers"] == 0 and checks["jsUrls"] == [], checks
    assert checks["payloadScripts"] == 0
    # Shown as text, character for character (escaped once, not twice).
    for payload in PAYLOADS:
        assert payload in checks["text"], payload
    assert "&lt;" not in checks["text"] and "&amp;" not in checks["text"]
    assert seen.non_local == []


def test_duplicate_clusters_name_their_articles_earlier_runs_included(tmp_path: Path):
    """Titles and sources of each cluster's articles; a kept copy of an earlier run is looked
    up in the published articles table."""
    pages = [
        _cluster_page("a1", ["Reprint."], ["0ld-00003"]),
        _cluster_page("b1", ["Reprint again."], ["0ld-00003"]),
    ]
    pages[0].title = "Storm <b>closes</b> bridge"
    (tmp_path / "articles").mkdir()
    pq.write_table(
        pa.table(
            {"article_id": ["0ld", "zzz"], "title": ["Original", "x"], "source": ["o.txt", "z"]}
        ),
        tmp_path / "articles" / "part-run0.parquet",
    )
    (cluster,) = duplicate_clusters(*_tables_of(pages), output=tmp_path)
    assert cluster["articles"] == [
        {"article_id": "0ld", "title": "Original", "source": "o.txt", "kept": True},
        {
            "article_id": "a1",
            "title": "Storm <b>closes</b> bridge",
            "source": "a1.txt",
            "kept": False,
        },
        {"article_id": "b1", "title": None, "source": "b1.txt", "kept": False},
    ]
    page = render_html(_summary(None, duplicate_clusters=[cluster]))
    section = page.split('id="duplicates"')[1].split("</section>")[0]
    assert "Original (kept)" in section and "<code>o.txt</code>" in section
    assert "Storm &lt;b&gt;closes&lt;/b&gt; bridge" in section and "(no title)" in section


def test_report_shows_escaped_clipped_examples_of_what_each_rule_removed():
    long_text = "Subscribe now " * 100
    summary = _summary(
        None,
        removed_by_rule={"ad_marker": 2, "newsletter": 1},
        removed_examples={
            "ad_marker": [
                {
                    "label": "ad",
                    "text": "<script>alert(1)</script> ADVERTISEMENT",
                    "source": "a.txt",
                },
                {"label": "ad", "text": "Sponsored", "source": "b & c.html"},
            ],
            "newsletter": [{"label": "promo", "text": long_text, "source": "c.txt"}],
        },
    )
    page = render_html(summary)
    section = page.split('id="removed"')[1].split("</section>")[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ADVERTISEMENT" in section
    assert "<script" not in section
    assert "<cite>b &amp; c.html</cite>" in section
    assert long_text not in section and "Subscribe now" in section  # clipped
    examples = [
        (rule, examples)
        for rule, examples in re.findall(
            r"<tr><td>(\w+)</td><td[^>]*>\d+</td><td>(.*?)</td>", section
        )
    ]
    assert [(rule, e.count("<blockquote>")) for rule, e in examples] == [
        ("ad_marker", 2),
        ("newsletter", 1),
    ]


def test_removal_examples_are_distinct_clipped_and_a_few_per_rule():
    from tasks.report.run_report import EXAMPLE_CHARS, removal_examples

    texts = ["Advertisement", "Advertisement", "Ad one", "Ad two", "Ad three", "x" * 1000]
    page = Article(
        "p1",
        "p1.txt",
        "p1",
        "text",
        "utf-8",
        "text",
        [Paragraph(i, t, "ad", "ad_marker", i, i) for i, t in enumerate(texts[:5])]
        + [Paragraph(5, texts[5], "boilerplate", "template_residue", 5, 5)],
    )
    examples = removal_examples(*_tables_of([page]))
    assert [e["text"] for e in examples["ad_marker"]] == ["Advertisement", "Ad one", "Ad two"]
    (long,) = examples["template_residue"]
    assert len(long["text"]) < EXAMPLE_CHARS + 40 and long["source"] == "p1.txt"


def test_report_draws_a_trend_over_the_runs_of_the_output_folder(tmp_path: Path):
    reports = tmp_path / "reports"
    runs = [
        ("20260101T000000Z-aaaaaaaa", 5, {"ad": 3}),
        ("20260102T000000Z-bbbbbbbb", 9, {"ad": 1, "duplicate": 4}),
        ("20260103T000000Z-cccccccc", 2, {"boilerplate": 7}),
    ]
    for run_id, published, removed in runs:
        summary = _summary(
            None,
            run_id=run_id,
            started_at=f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T00:00:00+00:00",
            removed_by_label=removed,
        )
        summary.inputs = {**summary.inputs, "published": published}
        write_run_report(summary, reports)
    (reports / "run-20251231T000000Z-broken.json").write_text("{not json")
    page = (reports / "latest.html").read_text(encoding="utf-8")
    trend = page.split('id="trend"')[1].split("</section>")[0]
    assert "Across runs (3)" in trend
    assert trend.count("<polyline") == 3 + 3  # published/skipped/quarantined; ad/boilerplate/dup
    for run_id, published, _ in runs:
        assert f"<title>{run_id}: {published} published</title>" in trend
    assert "<title>20260102T000000Z-bbbbbbbb: 4 duplicate</title>" in trend
    assert "http" not in trend  # inline SVG, nothing fetched


def test_report_links_the_tables_files_and_json(tmp_path: Path):
    out = tmp_path / "out"
    for table in ("articles", "paragraphs", "quarantine"):
        (out / table).mkdir(parents=True)
        (out / table / "part-r.parquet").write_bytes(b"PAR1")
    summary = _summary(
        None,
        outputs={
            **{t: str(out / t) for t in ("articles", "paragraphs", "quarantine")},
            "files": [str(out / t / "part-r.parquet") for t in ("articles", "paragraphs")],
        },
    )
    reports = out / "reports"
    write_run_report(summary, reports)
    page = (reports / "latest.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'<a href="([^"]+)"', page)
    assert {"../articles", "../paragraphs", "../quarantine", f"run-{summary.run_id}.json"} <= set(
        hrefs
    )
    assert "../articles/part-r.parquet" in hrefs and "../paragraphs/part-r.parquet" in hrefs
    for href in hrefs:
        assert (reports / unquote(href)).exists(), href


def test_a_report_says_it_completed_an_interrupted_run():
    from tasks.report.run_report import completed_note

    summary = _summary(None, notes=[completed_note("20260101T000000Z-deadbeef")])
    page = render_html(summary)
    header = page.split("</header>")[0]
    assert 'class="notice"' in header and "interrupted run 20260101T000000Z-deadbeef" in header
    assert "run-20260101T000000Z-deadbeef.html" in header
