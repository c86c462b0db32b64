"""Make Great Expectations Data Docs open anywhere: every CDN asset served from the docs dir.

GX 1.x pages load Bootstrap, jQuery, Font Awesome and Vega from public CDNs and the GX logo
from S3, so opened offline they render unstyled, and opened online they leak a request per
asset. ``make_docs_offline`` copies the vendored files (``tasks/assets/vendor``, unmodified
npm releases of exactly the versions GX names) into ``<docs>/static/vendor/`` and rewrites
every page and stylesheet to reference them by relative path, which works from ``file://``
and from any static web server alike.

Only references that make a browser load something count (``src``/``href`` of resource tags,
CSS ``url()``/``@import``); plain ``<a href>`` hyperlinks to external sites stay as they are.
An external resource this module does not know (a GX upgrade adding one) is replaced by an
empty ``data:`` URL and logged: the page may lose a feature but never reaches the network.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from tasks.files import write_atomically

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent / "assets" / "vendor"
VENDOR_SUBDIR = "static/vendor"
# Stand-in for unknown external resources: loads nothing, needs no network.
EMPTY_RESOURCE = "data:,"

# CDN URL (as GX 1.24 templates write it) -> file under tasks/assets/vendor/.
_VENDORED: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap-4.3.1/dist/css/bootstrap.min.css"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap-4.3.1/dist/js/bootstrap.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table-1.19.1/dist/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table-1.19.1/dist/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": (
        "bootstrap-table-1.19.1/dist/extensions/filter-control/"
        "bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": (
        "bootstrap-table-1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": (
        "bootstrap-table-1.19.0/dist/extensions/filter-control/"
        "bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": (
        "bootstrap-datepicker-1.9.0/dist/css/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": (
        "bootstrap-datepicker-1.9.0/dist/js/bootstrap-datepicker.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": ("bootstrap-dark-1.1.0/dist/css/bootstrap-prefers-dark.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome-free-6.6.0/css/all.min.css"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "popper.js-1.12.9/dist/umd/popper.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/build/vega-embed.min.js",
}
# GX's navbar loads its logo from S3 although the site build copies it into static/images/.
# There is no local dark-mode logo; the light one stands in for it.
_GX_IMAGES_URL = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
_GX_IMAGES = {"logo-long.png": "logo-long.png", "full_logo_dark.png": "logo-long.png"}

# Tags whose src/href/... makes the browser fetch something (unlike <a href>).
_RESOURCE_TAG = re.compile(
    r"<(?:script|link|img|iframe|frame|source|embed|video|audio|track|object|input)\b[^>]*>",
    re.IGNORECASE,
)
_RESOURCE_ATTR = re.compile(
    r"""(\s(?:src|href|poster|data|srcset)\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL
)
_CSS_URL = re.compile(r"""(url\(\s*)(["']?)([^"')]*)(\2\s*\))""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""(@import\s+)(["'])([^"']*)(\2)""", re.IGNORECASE)
# Attributes that only make sense for a cross-origin fetch: from file:// a script marked
# crossorigin is blocked outright, and SRI needs CORS. The files are the same bytes anyway.
_CORS_ATTRS = re.compile(r"""\s(?:integrity|crossorigin)(?:\s*=\s*(["'])[^"']*\1)?""", re.I)
_EXTERNAL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)


def is_external(url: str) -> bool:
    """True for http(s) and protocol-relative URLs: the ones that leave the machine."""
    return bool(_EXTERNAL.match(url))


def _srcset_urls(value: str) -> list[str]:
    return [part.split()[0] for part in value.split(",") if part.split()]


def external_resources(text: str, *, css: bool = False) -> list[str]:
    """External URLs an HTML page (or, with ``css=True``, a stylesheet) would load."""
    found: list[str] = []
    if not css:
        for tag in _RESOURCE_TAG.finditer(text):
            for attr in _RESOURCE_ATTR.finditer(tag.group(0)):
                name = attr.group(1).strip().rstrip("=").strip().lower()
                value = attr.group(3)
                urls = _srcset_urls(value) if name == "srcset" else [value.strip()]
                found.extend(url for url in urls if is_external(url))
    for pattern in (_CSS_URL, _CSS_IMPORT):
        found.extend(m.group(3).strip() for m in pattern.finditer(text) if is_external(m.group(3)))
    return found


def local_target(url: str) -> str | None:
    """Where the local copy of ``url`` lives, relative to the docs dir; None if unknown."""
    url = url.strip()
    bare = url.split("#", 1)[0].split("?", 1)[0]
    for candidate in (url, bare):
        if candidate in _VENDORED:
            return f"{VENDOR_SUBDIR}/{_VENDORED[candidate]}"
    if bare.startswith(_GX_IMAGES_URL):
        name = _GX_IMAGES.get(bare[len(_GX_IMAGES_URL) :])
        if name:
            return f"static/images/{name}"
    return None


class _Rewriter:
    """Rewrites one file's external references to paths relative to that file."""

    def __init__(self, docs_dir: Path, path: Path) -> None:
        self.docs_dir = docs_dir
        self.base = path.parent
        self.unknown: list[str] = []

    def relative(self, target: Path) -> str:
        return Path(os.path.relpath(target, self.base)).as_posix()

    def url(self, url: str) -> str:
        if not is_external(url):
            return self.repaired(url)
        target = local_target(url)
        if target is None:
            self.unknown.append(url.strip())
            return EMPTY_RESOURCE
        return self.relative(self.docs_dir / target)

    def repaired(self, url: str) -> str:
        """Re-anchor a broken relative link into the docs' ``static/`` at the docs root.

        GX writes the favicon link of validation pages one directory too shallow, so even a
        fully offline page makes a failing request for it.
        """
        path = url.strip().split("#", 1)[0].split("?", 1)[0]
        if not path or path.startswith("/") or ":" in path.split("/", 1)[0]:
            return url
        if "static/" not in path or (self.base / path).exists():
            return url
        target = self.docs_dir / path[path.index("static/") :]
        return self.relative(target) if target.is_file() else url

    def attr(self, match: re.Match[str]) -> str:
        name = match.group(1).strip().rstrip("=").strip().lower()
        value = match.group(3)
        if name == "srcset":
            candidates = [part.split() for part in value.split(",") if part.split()]
            if not any(is_external(words[0]) for words in candidates):
                return match.group(0)
            new = ", ".join(" ".join([self.url(w[0]), *w[1:]]) for w in candidates)
        else:
            new = self.url(value)
        return f"{match.group(1)}{match.group(2)}{new}{match.group(2)}"

    def tag(self, match: re.Match[str]) -> str:
        tag = match.group(0)
        new = _RESOURCE_ATTR.sub(self.attr, tag)
        return _CORS_ATTRS.sub("", new) if new != tag else tag

    def css(self, match: re.Match[str]) -> str:
        return f"{match.group(1)}{match.group(2)}{self.url(match.group(3))}{match.group(4)}"

    def html_text(self, text: str) -> str:
        text = _RESOURCE_TAG.sub(self.tag, text)
        return self.css_text(text)

    def css_text(self, text: str) -> str:
        text = _CSS_URL.sub(self.css, text)
        return _CSS_IMPORT.sub(self.css, text)


def _write_if_changed(path: Path, data: bytes) -> bool:
    """Atomic replace, and only when the bytes differ: a rerun leaves files (and mtimes) alone."""
    if path.exists() and path.read_bytes() == data:
        return False
    write_atomically(path, data)
    return True


def copy_vendor_assets(docs_dir: Path) -> Path:
    """Copy ``tasks/assets/vendor`` (with licences) to ``<docs>/static/vendor``; return it."""
    destination = docs_dir / VENDOR_SUBDIR
    for source in sorted(ASSETS.rglob("*")):
        if source.is_file():
            _write_if_changed(destination / source.relative_to(ASSETS), source.read_bytes())
    return destination


def _docs_files(docs_dir: Path, suffix: str) -> Iterator[Path]:
    vendor = docs_dir / VENDOR_SUBDIR
    for path in sorted(docs_dir.rglob(f"*{suffix}")):
        if path.is_file() and vendor not in path.parents:
            yield path


def make_docs_offline(docs_dir: Path) -> None:
    """Point every Data Docs page and stylesheet under ``docs_dir`` at local asset copies.

    Idempotent: a second call finds nothing external and rewrites nothing.
    """
    docs_dir = docs_dir.resolve()
    if not docs_dir.is_dir():
        raise FileNotFoundError(f"Data Docs directory not found: {docs_dir}")
    copy_vendor_assets(docs_dir)
    unknown: set[str] = set()
    jobs: list[tuple[str, Callable[[_Rewriter, str], str]]] = [
        (".html", _Rewriter.html_text),
        (".css", _Rewriter.css_text),
    ]
    for suffix, rewrite in jobs:
        for path in _docs_files(docs_dir, suffix):
            text = path.read_text(encoding="utf-8")
            rewriter = _Rewriter(docs_dir, path)
            _write_if_changed(path, rewrite(rewriter, text).encode("utf-8"))
            unknown.update(rewriter.unknown)
    for url in sorted(unknown):
        logger.warning("Data Docs: no local copy of %s; replaced by an empty resource", url)
