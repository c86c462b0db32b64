"""Find inputs and turn their bytes into text, rejecting bad input with a specific reason."""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import re
import stat
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

from charset_normalizer import from_bytes

from tasks.config import DEFAULTS, ReadConfig
from tasks.inputs.mojibake import mojibake_share, non_ascii, repair_mojibake
from tasks.models import InputRef, Rejected, SkippedInput

TEXT_SUFFIXES = frozenset({".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
WARC_SUFFIXES = (".warc", ".warc.gz")
GZIP_SUFFIX = ".gz"
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES
UNSUPPORTED_TYPE = "unsupported type"

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
REPLACEMENT = "\ufffd"
# Rounds of mojibake repair: a site that encoded its text three times needs two.
_MAX_REPAIRS = 3


@dataclass(frozen=True, slots=True)
class RawInput:
    ref: InputRef
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _inner_name(name: str) -> str:
    """The file name without a ``.gz`` ending (``page.html.gz`` -> ``page.html``)."""
    lowered = name.lower()
    return lowered.removesuffix(GZIP_SUFFIX) if not lowered.endswith(WARC_SUFFIXES) else lowered


def input_format(source: str) -> str:
    """``"warc"``, ``"html"`` or ``"text"``, from the file name (``.gz`` looked through)."""
    name = Path(source).name
    if name.lower().endswith(WARC_SUFFIXES):
        return "warc"
    return "html" if Path(_inner_name(name)).suffix in HTML_SUFFIXES else "text"


def is_gzipped(source: str) -> bool:
    """A gzip-compressed page or text (``.html.gz``, ``.txt.gz``); a WARC reads its own gzip."""
    lowered = Path(source).name.lower()
    return lowered.endswith(GZIP_SUFFIX) and not lowered.endswith(WARC_SUFFIXES)


def _supported(name: str) -> bool:
    lowered = name.lower()
    return Path(_inner_name(lowered)).suffix in SUPPORTED_SUFFIXES or lowered.endswith(
        WARC_SUFFIXES
    )


def _unsupported(path: Path) -> SkippedInput:
    suffix = "".join(path.suffixes[-2:]) if path.suffix else ""
    kind = f"{suffix} file" if suffix else "no file extension"
    return SkippedInput(_input_ref(path).source, f"{UNSUPPORTED_TYPE} ({kind})")


def _input_ref(path: Path) -> InputRef:
    """``path`` to open, and as ``source`` the same path as text every table can hold.

    A file name that is not valid UTF-8 (Latin-1 bytes from an old crawl) reaches Python with
    surrogates that Parquet refuses to write, which failed the whole run; in ``source`` its
    bad bytes are spelled ``\\xe9`` instead, so each name stays distinct and readable.
    """
    name = str(path)
    return InputRef(source=os.fsencode(name).decode("utf-8", "backslashreplace"), path=name)


def find_inputs(
    paths: Iterable[str], exclude: Iterable[Path] = ()
) -> tuple[list[InputRef], list[SkippedInput]]:
    """Expand files and folders into sorted, de-duplicated supported inputs, and the rest.

    Folders are walked recursively; hidden files and folders are passed over in silence, and
    so is everything whose real path (symlinks resolved) is in or under a folder of
    ``exclude``: the run's output folder, so that a run never reads its own reports and tables
    back as articles. The other files of a folder that are not a supported type (``.md``, no
    extension, ...) come back as skipped with the reason, so the report accounts for every
    file it was shown; so do symlinks the walk does not follow (:func:`_unfollowed_link`): a
    loop, a link to a folder. A file named explicitly is read whatever its name (as text
    unless it says otherwise). A path that does not exist is an infrastructure error (the user
    mistyped it), not a per-input rejection.
    """
    excluded = [Path(os.path.realpath(folder)) for folder in exclude]

    def is_excluded(path: Path) -> bool:
        real = Path(os.path.realpath(path))
        return any(real == root or root in real.parents for root in excluded)

    found: dict[str, InputRef] = {}
    skipped: dict[str, SkippedInput] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                kept = []
                for name in sorted(dirs):
                    child = Path(root) / name
                    if name.startswith(".") or is_excluded(child):
                        continue
                    if (link := _unfollowed_link(child)) is not None:
                        skipped.setdefault(os.path.abspath(child), link)
                    else:
                        kept.append(name)
                dirs[:] = kept
                for name in sorted(files):
                    child = Path(root) / name
                    if name.startswith(".") or is_excluded(child):
                        continue
                    if (link := _unfollowed_link(child)) is not None:
                        skipped.setdefault(os.path.abspath(child), link)
                    elif _supported(name):
                        found.setdefault(str(child.resolve()), _input_ref(child))
                    else:
                        skipped.setdefault(str(child.resolve()), _unsupported(child))
        elif path.exists():
            if not is_excluded(path):
                found.setdefault(str(path.resolve()), _input_ref(path))
        else:
            raise FileNotFoundError(f"input not found: {given}")
    return (
        sorted(found.values(), key=lambda ref: ref.source),
        sorted(skipped.values(), key=lambda skipped: skipped.source),
    )


SYMLINK_LOOP = "symlink loop"
SYMLINK_TO_ANCESTOR = "symlink to a folder that contains it"
SYMLINK_TO_FOLDER = "symlink to a folder (not followed)"


def _unfollowed_link(path: Path) -> SkippedInput | None:
    """A symlink the walk does not follow, as a skipped input with the reason; else ``None``.

    A loop (``a -> b``, ``b -> a``) can never be read; a link to a folder that contains it
    would make the walk endless; a link to any other folder is not followed either (the walk
    reads each real folder once, where it is). A link to a file, or a dangling one, is left
    to the read step (a dangling link is quarantined there, saying where it pointed).
    """
    if not path.is_symlink():
        return None
    target = os.readlink(path)
    source = _input_ref(path).source
    try:
        is_folder = stat.S_ISDIR(os.stat(path).st_mode)
    except OSError as error:
        if error.errno != errno.ELOOP:
            return None
        return SkippedInput(source, f"{SYMLINK_LOOP} (-> {target})")
    if not is_folder:
        return None
    real = Path(os.path.realpath(path))
    parent = Path(os.path.realpath(path.parent))
    if real == parent or real in parent.parents:
        return SkippedInput(source, f"{SYMLINK_TO_ANCESTOR} (-> {target})")
    return SkippedInput(source, f"{SYMLINK_TO_FOLDER} (-> {target})")


def skip_kind(reason: str) -> str:
    """A skipped input's reason without its details, as a counter name (``unsupported_type``)."""
    return reason.split(" (", 1)[0].replace(" ", "_")


def empty_input_notes(
    paths: Iterable[str], refs: Iterable[InputRef], skipped: Iterable[SkippedInput]
) -> list[str]:
    """A :func:`nothing_found` line for each input folder in which no input file was found."""
    found = [os.path.abspath(ref.source) for ref in refs]
    skipped = list(skipped)
    notes = []
    for given in paths:
        root = os.path.abspath(given)
        if os.path.isdir(given) and not any(
            path == root or path.startswith(root + os.sep) for path in found
        ):
            notes.append(nothing_found(given, skipped))
    return notes


SUPPORTED_NAMES = (
    *sorted(f"*{suffix}" for suffix in SUPPORTED_SUFFIXES),
    *(f"*{suffix}" for suffix in WARC_SUFFIXES),
    "*.gz of a page or text",
)


def nothing_found(given: str, skipped: Iterable[SkippedInput]) -> str:
    """One line for an input folder in which no supported file was found: where it looked
    and what it passed over (skipped files by kind, hidden entries)."""
    root = os.path.abspath(given)
    kinds = Counter(
        skip_kind(s.reason).replace("_", " ")
        for s in skipped
        if os.path.abspath(s.source) == root or os.path.abspath(s.source).startswith(root + os.sep)
    )
    hidden = 0
    for _folder, dirs, files in os.walk(given):
        hidden += sum(name.startswith(".") for name in [*dirs, *files])
        dirs[:] = [name for name in dirs if not name.startswith(".")]
    passed = [f"{kind}: {n}" for kind, n in sorted(kinds.items())]
    if hidden:
        passed.append(f"hidden: {hidden}")
    what = ", ".join(passed) if passed else "nothing: the folder is empty"
    return (
        f"no input files in {given} (looked for {', '.join(SUPPORTED_NAMES)} "
        f"in it and its subfolders); passed over {what}"
    )


def discover_inputs(paths: Iterable[str], exclude: Iterable[Path] = ()) -> list[InputRef]:
    """The supported input files of ``paths`` (see :func:`find_inputs`)."""
    return find_inputs(paths, exclude)[0]


def open_input(ref: InputRef) -> BinaryIO:
    """The input file, open for reading; rejected if it vanished, is unreadable or not a file.

    Opened without blocking and checked on the open descriptor: a named pipe among the inputs
    would otherwise block the whole run on ``open`` (nothing ever writes to it), and a device
    such as ``/dev/zero`` never ends.
    """
    try:
        fd = os.open(ref.path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as error:
        if os.path.islink(ref.path):
            target = os.readlink(ref.path)
            raise Rejected("read", f"dangling symlink -> {target}") from error
        raise Rejected("read", "file vanished before it could be read") from error
    except PermissionError as error:
        raise Rejected("read", f"file cannot be read: {error.strerror}") from error
    except OSError as error:  # a symlink loop, a name too long, ...
        raise Rejected("read", f"file cannot be opened: {error.strerror}") from error
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)  # a directory opens read-only too
        kind = "is a directory" if stat.S_ISDIR(mode) else "a pipe, socket or device"
        raise Rejected("read", f"not a regular file ({kind})")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_input(ref: InputRef, max_bytes: int) -> RawInput:
    """Read an input file; a vanished, unreadable, empty or oversized file is rejected.

    A gzip-compressed input (``.html.gz``, ``.txt.gz``) comes back decompressed, at most
    ``max_bytes`` of it: a small file that would expand past that (a gzip bomb) is rejected
    without ever holding more. A rejection after bytes were read carries their SHA-256.
    """
    with open_input(ref) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            raise Rejected("read", f"file is {size} bytes, over the {max_bytes}-byte limit")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Rejected("read", f"file grew over the {max_bytes}-byte limit while read")
    if not data:
        raise Rejected("read", "file is empty")
    digest = hashlib.sha256(data).hexdigest()
    if is_gzipped(ref.source):
        data = gunzip(data, max_bytes, digest)
    if not data.strip():
        raise Rejected("read", WHITESPACE_ONLY, input_sha256=digest)
    return RawInput(ref, data)


WHITESPACE_ONLY = "no text (whitespace only)"


def gunzip(data: bytes, max_bytes: int, digest: str | None = None) -> bytes:
    """The content of a gzip file (every member), or ``Rejected`` past ``max_bytes``.

    Decompressed in steps that never produce more than the limit plus one byte, so the
    output is bounded whatever the compression ratio.
    """
    out: list[bytes] = []
    produced = 0
    rest = data
    try:
        while rest:
            member = zlib.decompressobj(16 + zlib.MAX_WBITS)
            pending = rest
            while pending:
                chunk = member.decompress(pending, max_bytes + 1 - produced)
                out.append(chunk)
                produced += len(chunk)
                if produced > max_bytes:
                    raise Rejected(
                        "read",
                        f"gzip content over the {max_bytes}-byte limit (decompression stopped)",
                        input_sha256=digest,
                    )
                pending = member.unconsumed_tail
                if member.eof:
                    break
            if not member.eof:
                raise Rejected("read", "truncated gzip file", input_sha256=digest)
            rest = member.unused_data.lstrip(b"\x00")  # some writers pad between members
    except zlib.error as error:
        raise Rejected("read", f"corrupt gzip file: {error}", input_sha256=digest) from error
    return b"".join(out)


def _declared_html_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    if not match:
        return None
    name = match.group(1).decode("ascii", "ignore")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


class Decoded(NamedTuple):
    """An input's text, the charset it was read in, and how many invalid byte sequences in it
    became U+FFFD."""

    text: str
    encoding: str
    errors: int = 0


def decode(
    data: bytes,
    *,
    declared: str | None = None,
    is_html: bool = False,
    config: ReadConfig = DEFAULTS.read,
) -> Decoded:
    """Decode bytes to text, never garbled.

    The charsets the input states are tried in order: byte-order mark, the declared charset
    (HTTP header), the HTML meta tag, then UTF-8 (what undeclared text almost always is). The
    first that reads the bytes is kept, with each invalid byte sequence as U+FFFD, unless it
    fails badly (``config.max_decode_error_share``): one stray byte in a UTF-8 page must not
    turn every other character into mojibake, as reading the whole page in a legacy code
    page would. Statistical detection (charset-normalizer) only when every stated charset
    fails badly. A text that is mojibake (:mod:`tasks.inputs.mojibake`) is read again as
    UTF-8 when the bytes are UTF-8 (a wrong declaration), or has its double-encoded
    characters read back (what stays garbled is quarantined by the article's check,
    :func:`garbled_text`). Binary data and bytes no charset explains are rejected.
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
        wide = _wide_encoding(data)
        if wide is None:
            raise Rejected("decode", "binary content: NUL bytes in a text input")
        candidates.insert(0, wide)
    for encoding in dict.fromkeys(candidates):
        decoded = _decoded(data, encoding, config)
        if decoded is not None:
            return _checked(_not_garbled(data, decoded, config), config, data)
    matches = list(from_bytes(data))
    if not matches:
        raise Rejected("decode", "undecodable: no text encoding explains these bytes")
    best = matches[0]
    # windows-1252 is the web's default legacy charset (WHATWG): prefer it over a
    # statistically similar single-byte guess, which short Latin texts often produce.
    web_default = next((m for m in matches if m.encoding == "cp1252"), None)
    if web_default is not None and web_default.chaos <= best.chaos + config.web_default_tolerance:
        best = web_default
    detected = Decoded(str(best), best.encoding)
    return _checked(_not_garbled(data, detected, config), config, data)


def _decoded(data: bytes, encoding: str, config: ReadConfig) -> Decoded | None:
    """``data`` read in ``encoding``, invalid sequences replaced; None when it fails badly
    (more invalid sequences than one and ``max_decode_error_share`` of the non-ASCII
    characters read) or Python does not know the charset."""
    try:
        return Decoded(data.decode(encoding), encoding)
    except LookupError:
        return None
    except UnicodeDecodeError:
        pass
    text = data.decode(encoding, "replace")
    # U+FFFD the bytes themselves hold are no errors: "ignore" drops only the invalid ones.
    errors = text.count(REPLACEMENT) - data.decode(encoding, "ignore").count(REPLACEMENT)
    if errors > max(1.0, config.max_decode_error_share * non_ascii(text)):
        return None
    return Decoded(text, encoding, errors)


def _not_garbled(data: bytes, decoded: Decoded, config: ReadConfig) -> Decoded:
    """``decoded``, or its repair when its text is mojibake (``config.max_mojibake_share``).

    Bytes that read as UTF-8 are UTF-8, whatever the page declared (a server's default
    ``ISO-8859-1`` on a UTF-8 page); a UTF-8 text that is still mojibake was encoded twice
    (or three times) by its site, and its sequences are read back while that helps. What
    is still garbled then is left to the article's check (``garbled_text``), which looks
    only at the published text: a garbled menu or script does not cost the article.
    """
    limit = config.max_mojibake_share
    share = mojibake_share(decoded.text)
    if share <= limit:
        return decoded
    if decoded.encoding not in _UTF8:
        as_utf8 = _decoded(data, "utf-8", config)
        if as_utf8 is not None and (utf8_share := mojibake_share(as_utf8.text)) < share:
            decoded, share = as_utf8, utf8_share
    for _ in range(_MAX_REPAIRS):
        if share <= limit:
            break
        repaired = repair_mojibake(decoded.text)
        repaired_share = mojibake_share(repaired)
        if repaired_share >= share:
            break
        decoded, share = decoded._replace(text=repaired), repaired_share
    return decoded


def garbled_text(text: str, max_share: float) -> str | None:
    """Why ``text`` is not sensibly decoded (more mojibake than ``max_share``), or None."""
    share = mojibake_share(text)
    if share <= max_share:
        return None
    return (
        f"garbled text: {share:.0%} of its non-ASCII characters are mojibake "
        f"(UTF-8 read in a single-byte charset), over the {max_share:.0%} allowed"
    )


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32 without a byte-order mark (its NUL bytes are half of ASCII text).

    charset-normalizer tells the byte order from the text; anything else it proposes for
    bytes with NULs in them is binary data.
    """
    best = from_bytes(data).best()
    if best is None or not best.encoding.startswith(("utf_16", "utf_32")):
        return None
    return codecs.lookup(best.encoding).name


def _checked(decoded: Decoded, config: ReadConfig, data: bytes) -> Decoded:
    """``decoded`` unless it is binary data (control characters) or has no text."""
    text, encoding = decoded.text, decoded.encoding
    if encoding in _UTF8 and not decoded.errors:
        # Counting the control bytes is ~4x cheaper than a regex over the text.
        controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    else:
        controls = len(_CONTROL.findall(text))
    if controls > config.max_control_share * max(len(text), 1):
        raise Rejected("decode", f"binary content: control characters after decoding as {encoding}")
    text = text.lstrip("\ufeff")
    if not text or text.isspace():
        raise Rejected("decode", WHITESPACE_ONLY)
    return decoded._replace(text=text)
