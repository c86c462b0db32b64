"""Reading and decoding: every kind of bad input is rejected with a specific reason."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
from pathlib import Path

import pytest

from tasks.inputs import read
from tasks.inputs.read import decode, discover_inputs, find_inputs, read_input
from tasks.models import InputRef, Rejected

from ..conftest import SEEDS, finishes

_FRENCH = (
    "Le café était fermé – les élèves naïfs attendaient dehors, près de l'église, "
    "où l'on célébrait déjà la fête du village avec des crêpes et du cidre."
)


def _ref(path: Path) -> InputRef:
    return InputRef(str(path), str(path))


def test_discover_walks_folders_sorted_and_skips_unsupported(tmp_path: Path):
    (tmp_path / "b").mkdir()
    for name in ("b/2.txt", "a.html", "notes.md", ".hidden.txt", "c.HTM"):
        (tmp_path / name).write_text("x")
    sources = [
        Path(r.source).relative_to(tmp_path).as_posix() for r in discover_inputs([str(tmp_path)])
    ]
    assert sources == ["a.html", "b/2.txt", "c.HTM"]


def test_discover_counts_a_file_given_twice_once():
    seed = str(next(SEEDS.glob("*.txt")))
    assert len(discover_inputs([seed, seed, str(SEEDS)])) == 5


def test_missing_input_path_is_a_usage_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        discover_inputs([str(tmp_path / "nope")])


@pytest.mark.parametrize(
    ("data", "encoding", "expected"),
    [
        ("Café – naïve".encode(), "utf-8", "Café – naïve"),
        (_FRENCH.encode("cp1252"), None, _FRENCH),
        ("\ufeffhello".encode("utf-16"), "utf-16", "hello"),
        ("\ufeffBOM text".encode(), "utf-8-sig", "BOM text"),
    ],
)
def test_decode_finds_the_encoding(data: bytes, encoding: str | None, expected: str):
    text, found, _ = decode(data)
    assert text == expected
    if encoding:
        assert found == encoding


def test_decode_prefers_declared_html_charset():
    page = '<html><head><meta charset="windows-1251"></head><body>Привет мир</body></html>'
    text, encoding, _ = decode(page.encode("cp1251"), is_html=True)
    assert "Привет мир" in text and encoding == "cp1251"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary content"),
        (bytes(range(256)) * 4, "binary content"),
    ],
)
def test_decode_rejects_binary(data: bytes, reason: str):
    with pytest.raises(Rejected) as error:
        decode(data)
    assert error.value.stage == "decode" and reason in error.value.reason


def test_read_rejects_empty_oversized_and_vanished(tmp_path: Path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 101)
    cases = [
        (empty, "file is empty"),
        (big, "over the 100-byte limit"),
        (tmp_path / "gone.txt", "vanished"),
        (tmp_path, "not a regular file (is a directory)"),
    ]
    for path, reason in cases:
        with pytest.raises(Rejected) as error:
            read_input(_ref(path), max_bytes=100)
        assert error.value.stage == "read" and reason in error.value.reason


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_pipes_and_devices_are_rejected_without_blocking(tmp_path: Path, kind: str):
    path = tmp_path / f"{kind}.txt"
    if kind == "fifo":
        os.mkfifo(path)  # nothing ever writes to it: opening it for reading would block
    else:
        path.symlink_to("/dev/zero")  # never ends
    rejected = finishes(read_input, _ref(path), 100)
    assert isinstance(rejected, Rejected)
    assert (rejected.stage, rejected.reason) == (
        "read",
        "not a regular file (a pipe, socket or device)",
    )


def test_a_file_name_that_is_not_utf8_is_read_and_spelled_out(tmp_path: Path):
    name = os.fsdecode(b"caf\xe9.txt")  # a Latin-1 byte: Python holds it as a surrogate
    (tmp_path / name).write_bytes(b"hello")
    (ref,) = discover_inputs([str(tmp_path)])
    assert ref.source == f"{tmp_path}/caf\\xe9.txt"
    assert ref.source.encode("utf-8")  # what Parquet needs; the surrogate made this raise
    assert read_input(ref, max_bytes=100).data == b"hello"


def test_read_returns_bytes_and_digest(tmp_path: Path):
    path = tmp_path / "ok.txt"
    path.write_bytes(b"hello")
    raw = read_input(_ref(path), max_bytes=100)
    assert raw.data == b"hello"
    # `printf hello | sha256sum`: the digest of the bytes read, as lower-case hex.
    assert raw.sha256 == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"


def test_control_bytes_of_utf8_are_its_control_characters():
    """decode counts control characters of UTF-8 input on the bytes: the same count."""
    rng = random.Random(3)
    chars = ["a", "é", "€", "𝐀", "\x01", "\x07", "\x1b", "\x7f", "\t", "\n", "\x0c", "\x85", " "]
    for _ in range(500):
        text = "".join(rng.choice(chars) for _ in range(rng.randint(1, 200)))
        data = text.encode()
        assert len(data) - len(data.translate(None, read._CONTROL_BYTES)) == len(
            read._CONTROL.findall(text)
        )
    with pytest.raises(Rejected) as error:
        decode(("word " * 20 + "\x1b\x1b").encode())
    assert "control characters after decoding as utf-8" in error.value.reason
    assert decode(("word " * 40 + "\x1b\x1b").encode())[1] == "utf-8"


def test_a_dangling_symlink_says_where_it_points(tmp_path: Path):
    link = tmp_path / "page.txt"
    link.symlink_to(tmp_path / "moved-away.txt")
    with pytest.raises(Rejected) as error:
        read_input(_ref(link), max_bytes=100)
    assert error.value.reason == f"dangling symlink -> {tmp_path / 'moved-away.txt'}"
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)  # not a vanished file either, and no crash of the run
    with pytest.raises(Rejected) as error:
        read_input(_ref(loop), max_bytes=100)
    assert error.value.reason.startswith("file cannot be opened: ")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_decoded(codec: str):
    text = f"{_FRENCH}\nSecond line of the article."
    assert decode(text.encode(codec)) == (text, codec, 0)


def test_a_whitespace_only_file_is_no_text_not_empty(tmp_path: Path):
    blank = tmp_path / "blank.txt"
    blank.write_bytes(b"  \n\t\n ")
    with pytest.raises(Rejected) as error:
        read_input(_ref(blank), max_bytes=100)
    assert (error.value.stage, error.value.reason) == ("read", "no text (whitespace only)")
    assert error.value.input_sha256 == hashlib.sha256(b"  \n\t\n ").hexdigest()


def test_gzipped_pages_and_texts_are_read_within_the_limit(tmp_path: Path):
    page = b"<html><body><p>Hello</p></body></html>"
    (tmp_path / "a.html.gz").write_bytes(gzip.compress(page))
    (tmp_path / "b.TXT.GZ").write_bytes(gzip.compress(b"part one, ") + gzip.compress(b"two"))
    refs = discover_inputs([str(tmp_path)])
    assert [Path(r.source).name for r in refs] == ["a.html.gz", "b.TXT.GZ"]
    assert [read.input_format(r.source) for r in refs] == ["html", "text"]
    assert read_input(refs[0], max_bytes=1000).data == page
    assert read_input(refs[1], max_bytes=1000).data == b"part one, two"  # every member

    bomb = tmp_path / "bomb.html.gz"
    bomb.write_bytes(gzip.compress(b"\0" * 50_000_000, compresslevel=9))  # ~50 KB on disk
    with pytest.raises(Rejected) as error:
        read_input(_ref(bomb), max_bytes=100_000)
    assert error.value.reason.startswith("gzip content over the 100000-byte limit")
    assert error.value.input_sha256 == hashlib.sha256(bomb.read_bytes()).hexdigest()
    for name, data, reason in (
        ("cut.txt.gz", gzip.compress(b"some text " * 100)[:-20], "truncated gzip file"),
        ("plain.txt.gz", b"not compressed at all", "corrupt gzip file"),
    ):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(Rejected) as error:
            read_input(_ref(tmp_path / name), max_bytes=100_000)
        assert error.value.reason.startswith(reason), name
        assert error.value.input_sha256 == hashlib.sha256(data).hexdigest()


def test_other_files_in_a_folder_are_listed_as_unsupported(tmp_path: Path):
    for name in ("a.txt", "notes.md", "README", "data.csv.gz", ".hidden"):
        (tmp_path / name).write_text("x")
    refs, unsupported = find_inputs([str(tmp_path)])
    assert [Path(r.source).name for r in refs] == ["a.txt"]
    assert [(Path(s.source).name, s.reason) for s in unsupported] == [
        ("README", "unsupported type (no file extension)"),
        ("data.csv.gz", "unsupported type (.csv.gz file)"),
        ("notes.md", "unsupported type (.md file)"),
    ]
