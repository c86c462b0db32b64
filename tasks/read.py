"""Find inputs and turn their bytes into text, rejecting bad input with a specific reason."""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from charset_normalizer import from_bytes

from tasks.models import InputRef, Rejected

TEXT_SUFFIXES = frozenset({".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
WARC_SUFFIXES = (".warc", ".warc.gz")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Control characters other than tab/newline/carriage return/form feed mean binary data.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# The same characters as bytes: in UTF-8 they are single bytes that occur nowhere else.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])
_UTF8 = frozenset({"utf-8", "utf-8-sig"})
MAX_CONTROL_SHARE = 0.01
WEB_DEFAULT_TOLERANCE = 0.05


@dataclass(frozen=True, slots=True)
class RawInput:
    ref: InputRef
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def input_format(source: str) -> str:
    """``"warc"``, ``"html"`` or ``"text"``, from the file name."""
    path = Path(source)
    if path.name.lower().endswith(WARC_SUFFIXES):
        return "warc"
    return "html" if path.suffix.lower() in HTML_SUFFIXES else "text"


def _supported(name: str) -> bool:
    lowered = name.lower()
    return Path(lowered).suffix in SUPPORTED_SUFFIXES or lowered.endswith(WARC_SUFFIXES)


def _input_ref(path: Path) -> InputRef:
    """``path`` to open, and as ``source`` the same path as text every table can hold.

    A file name that is not valid UTF-8 (Latin-1 bytes from an old crawl) reaches Python with
    surrogates that Parquet refuses to write, which failed the whole run; in ``source`` its
    bad bytes are spelled ``\\xe9`` instead, so each name stays distinct and readable.
    """
    name = str(path)
    return InputRef(source=os.fsencode(name).decode("utf-8", "backslashreplace"), path=name)


def discover_inputs(paths: Iterable[str], exclude: Iterable[Path] = ()) -> list[InputRef]:
    """Expand files and folders into a sorted, de-duplicated list of supported input files.

    Folders are walked recursively; hidden files are skipped, and so is everything whose real
    path (symlinks resolved) is in or under a folder of ``exclude``: the run's output folder,
    so that a run never reads its own reports and tables back as articles. A path that does
    not exist is an infrastructure error (the user mistyped it), not a per-input rejection.
    """
    excluded = [Path(os.path.realpath(folder)) for folder in exclude]

    def is_excluded(path: Path) -> bool:
        real = Path(os.path.realpath(path))
        return any(real == root or root in real.parents for root in excluded)

    found: dict[str, InputRef] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(
                    d for d in dirs if not d.startswith(".") and not is_excluded(Path(root) / d)
                )
                for name in sorted(files):
                    child = Path(root) / name
                    if name.startswith(".") or not _supported(name) or is_excluded(child):
                        continue
                    found.setdefault(str(child.resolve()), _input_ref(child))
        elif path.exists():
            if not is_excluded(path):
                found.setdefault(str(path.resolve()), _input_ref(path))
        else:
            raise FileNotFoundError(f"input not found: {given}")
    return sorted(found.values(), key=lambda ref: ref.source)


def open_input(ref: InputRef) -> BinaryIO:
    """The input file, open for reading; rejected if it vanished, is unreadable or not a file.

    Opened without blocking and checked on the open descriptor: a named pipe among the inputs
    would otherwise block the whole run on ``open`` (nothing ever writes to it), and a device
    such as ``/dev/zero`` never ends.
    """
    try:
        fd = os.open(ref.path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as error:
        raise Rejected("read", "file vanished before it could be read") from error
    except PermissionError as error:
        raise Rejected("read", f"file cannot be read: {error.strerror}") from error
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)  # a directory opens read-only too
        kind = "is a directory" if stat.S_ISDIR(mode) else "a pipe, socket or device"
        raise Rejected("read", f"not a regular file ({kind})")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_input(ref: InputRef, max_bytes: int) -> RawInput:
    """Read an input file; a vanished, unreadable, empty or oversized file is rejected."""
    with open_input(ref) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            raise Rejected("read", f"file is {size} bytes, over the {max_bytes}-byte limit")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Rejected("read", f"file grew over the {max_bytes}-byte limit while read")
    if not data.strip():
        raise Rejected("read", "file is empty")
    return RawInput(ref, data)


def _declared_html_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    if not match:
        return None
    name = match.group(1).decode("ascii", "ignore")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode(data: bytes, *, declared: str | None = None, is_html: bool = False) -> tuple[str, str]:
    """Decode bytes to text; return ``(text, encoding)``.

    Order: byte-order mark, the declared charset (HTTP header, then HTML meta tag), strict
    UTF-8, then statistical detection. Binary data and bytes no charset explains are rejected.
    """
    candidates: list[str] = []
    for bom, name in _BOMS:
        if data.startswith(bom):
            candidates.append(name)
            break
    if declared:
        candidates.append(declared)
    if is_html and (meta := _declared_html_charset(data)):
        candidates.append(meta)
    candidates.append("utf-8")
    if b"\x00" in data and not any(c.startswith("utf-16") or c == "utf-32" for c in candidates):
        raise Rejected("decode", "binary content: NUL bytes in a text input")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if encoding in _UTF8:
            # Counting the control bytes is ~4x cheaper than a regex over the text.
            return _checked(text, encoding, len(data) - len(data.translate(None, _CONTROL_BYTES)))
        return _checked(text, encoding)
    matches = list(from_bytes(data))
    if not matches:
        raise Rejected("decode", "undecodable: no text encoding explains these bytes")
    best = matches[0]
    # windows-1252 is the web's default legacy charset (WHATWG): prefer it over a
    # statistically similar single-byte guess, which short Latin texts often produce.
    web_default = next((m for m in matches if m.encoding == "cp1252"), None)
    if web_default is not None and web_default.chaos <= best.chaos + WEB_DEFAULT_TOLERANCE:
        best = web_default
    return _checked(str(best), best.encoding)


def _checked(text: str, encoding: str, controls: int | None = None) -> tuple[str, str]:
    """``controls``: the number of control characters in ``text`` when the caller knows it."""
    if controls is None:
        controls = len(_CONTROL.findall(text))
    if controls > MAX_CONTROL_SHARE * max(len(text), 1):
        raise Rejected("decode", f"binary content: control characters after decoding as {encoding}")
    text = text.lstrip("\ufeff")
    if not text or text.isspace():
        raise Rejected("decode", "file has no text")
    return text, encoding
