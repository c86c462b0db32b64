"""Decoding never garbles: one invalid byte costs one character, mojibake is read back or
quarantined, and the articles suite bounds what is left.

The real pages are WCXB development articles from ``tests/data/wcxb_subset`` (CC-BY-4.0,
Murrough Foley, 2026; see its README), with one byte 0xFF put into the article's text here.
"""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pytest

from benchmarks.stray_bytes import REPLACEMENT, utf8_page, with_stray_byte
from benchmarks.validate_memory import inputs_table, synthetic_part
from tasks.clean.document import process_document
from tasks.config import PipelineConfig
from tasks.inputs.mojibake import MOJIBAKE_SHARE_SQL, mojibake_share, repair_mojibake
from tasks.inputs.read import decode
from tasks.models import Rejected
from tasks.output.validate import run_checkpoints

from ..conftest import DATA, REPO

SUBSET = DATA / "wcxb_subset" / "html"
# Small UTF-8 pages of the subset with curly quotes, dashes or accents in their body.
STRAY_PAGES = ("0488", "4693", "4025")
_GARBLED_ENGLISH = "We’ve said “no” — twice. The café’s owner didn’t agree."


def _misread(text: str) -> str:
    """``text``'s UTF-8 bytes read as windows-1252 (its five undefined bytes as Latin-1), as
    a site that encodes its text twice publishes it."""
    return "".join(
        chr(byte) if byte in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([byte]).decode("cp1252")
        for byte in text.encode()
    )


@pytest.mark.parametrize("page", STRAY_PAGES)
def test_a_real_page_with_one_invalid_byte_publishes_its_text_but_for_that_byte(page):
    """main read each of these pages whole in a legacy code page (``Weâ€™ve``)."""
    clean = gzip.decompress((SUBSET / f"{page}.html.gz").read_bytes())
    assert utf8_page(clean)
    expected = process_document(clean, f"{page}.html").text
    assert not expected.isascii()
    stray = with_stray_byte(clean, expected)
    assert stray is not None and len(stray) == len(clean) + 1

    article = process_document(stray, f"{page}.html")

    assert article.encoding == "utf-8" and article.decode_errors == 1
    assert REPLACEMENT in article.text
    assert article.text.replace(REPLACEMENT, "") == expected


def test_a_text_dump_with_a_stray_byte_stays_utf8():
    text = f"{_GARBLED_ENGLISH}\n\nMore of the story, with a stray byte in it."
    data = text.encode().replace(b"stray", b"st\xffray")
    decoded = decode(data)
    assert decoded == (text.replace("stray", f"st{REPLACEMENT}ray"), "utf-8", 1)


def test_a_utf8_page_of_ascii_with_one_stray_byte_stays_utf8():
    """One invalid sequence never fails a charset, even with nothing else non-ASCII."""
    decoded = decode(b"<html><body><p>Plain words and a st\xffray byte.</p></body></html>")
    assert decoded.encoding == "utf-8" and decoded.errors == 1


def test_a_windows_1252_page_declared_utf8_fails_and_is_detected():
    french = "Le café était fermé – les élèves naïfs attendaient près de l'église. " * 3
    page = f'<html><head><meta charset="utf-8"></head><body><p>{french}</p></body></html>'
    decoded = decode(page.encode("cp1252"), is_html=True)
    assert french in decoded.text and decoded.errors == 0
    assert decoded.encoding != "utf-8"


def test_utf8_bytes_declared_latin1_are_read_as_utf8():
    """A server's default ``ISO-8859-1`` on a UTF-8 page: main published ``Ã©``."""
    page = f"<html><body><p>{_GARBLED_ENGLISH} Ελληνικά, русский, 中文.</p></body></html>"
    decoded = decode(page.encode(), declared="iso8859-1", is_html=True)
    assert decoded.text == page and decoded.encoding == "utf-8"


def test_a_page_its_site_encoded_twice_is_read_back():
    double = _misread(_GARBLED_ENGLISH)  # Weâ€™ve ...
    assert mojibake_share(double) > 0.2
    page = f"<html><body><p>{double}</p><p>Ελληνικά</p></body></html>"
    decoded = decode(page.encode(), is_html=True)
    assert _GARBLED_ENGLISH in decoded.text and decoded.encoding == "utf-8"
    triple = _misread(double)
    assert repair_mojibake(repair_mojibake(triple)) == _GARBLED_ENGLISH


def test_real_text_is_not_mojibake():
    for text in (
        "« C'est l'été » — à Noël, Ça va ? Über Äpfel, Øre, Ñandú, SÃO PAULO",
        "Січень, Рік, Сіль; Привет, мир; Ђорђе, Њујорк",
        "3 ×\u00a04 = 12; Ελληνικά; 中文; 😀",
    ):
        assert mojibake_share(text) == 0.0


def test_an_article_whose_text_stays_garbled_is_quarantined_at_decode(tmp_path):
    """Mojibake that no charset and no repair reads back (windows-1251 sequences in a UTF-8
    page) is over the articles suite's bound: quarantined with the reason, not published."""
    story = (
        "Городской совет в среду утвердил бюджет на следующий год, сообщили в мэрии. "
        "Расходы на транспорт и школы вырастут, а налоги останутся прежними, сказал мэр."
    )
    paragraphs = "".join(f"<p>{n}. {story}</p>".encode().decode("cp1251") for n in range(4))
    page = f"<html><body><article><h1>Budget</h1>{paragraphs}</article></body></html>"
    with pytest.raises(Rejected) as error:
        process_document(page.encode(), "page.html", config=PipelineConfig())
    assert error.value.stage == "decode"
    assert error.value.reason.startswith("garbled text: ")


def test_the_suite_derived_column_is_the_python_measure():
    import duckdb

    suite = json.loads((REPO / "expectations" / "articles.json").read_text(encoding="utf-8"))
    assert suite["meta"]["derived_columns"]["mojibake_share"] == MOJIBAKE_SHARE_SQL
    texts = [_GARBLED_ENGLISH, _misread(_GARBLED_ENGLISH), "ascii", "é »" * 30]
    con = duckdb.connect()
    con.register("t", pa.table({"text": texts}))
    got = [row[0] for row in con.sql(f"SELECT {MOJIBAKE_SHARE_SQL} FROM t").fetchall()]
    assert got == [mojibake_share(t) for t in texts]


@pytest.mark.slow
def test_the_articles_suite_fails_on_garbled_text(tmp_path):
    run = synthetic_part(0, 3, paragraphs=3)
    articles = run["articles"]
    garbled = _misread(_GARBLED_ENGLISH)
    texts = articles.column("text").to_pylist()
    texts[1] = f"{texts[1]} {garbled}"
    bad = articles.set_column(
        articles.schema.get_field_index("text"), "text", pa.array(texts, pa.string())
    )
    tables = {"articles": bad, "paragraphs": run["paragraphs"], "inputs": inputs_table(3)}
    report = run_checkpoints(tables, None, REPO / "expectations", tmp_path / "docs")
    failed = {(f.suite, f.expectation, f.column) for f in report.failures}
    assert ("articles", "expect_column_values_to_be_between", "mojibake_share") in failed
    good = run_checkpoints(
        {**run, "inputs": inputs_table(3)}, None, REPO / "expectations", tmp_path / "docs2"
    )
    assert good.success
