"""WARC archives to documents: one per HTML response record, streamed with FastWARC.

FastWARC (a C++ reader) parses WARC and HTTP headers several times faster than warcio, which
matters on crawl-sized archives; records are read one at a time, never the whole file.
HTTP content and transfer encodings are undone here rather than by FastWARC's ``auto_decode``
so that the raw payload length can be compared with the record's declared length: a shorter
payload means the file ends inside the record (a truncated download).
"""

from __future__ import annotations

import codecs
import io
import zlib
from collections.abc import Iterator

from fastwarc.stream_io import BrotliReader, ChunkedReader
from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from tasks.config import PipelineConfig
from tasks.models import Document, InputRef, Rejected
from tasks.read import open_input
from tasks.stats import StepStats

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Reasons counted in the "read" step for response records that are not turned into articles.
SKIP_NON_HTML = "warc_non_html"
SKIP_TRUNCATED = "warc_truncated"
SKIP_OVERSIZED = "warc_oversized"
SKIP_BAD_HTTP = "warc_bad_http"
SKIP_BAD_ENCODING = "warc_bad_encoding"
SKIP_EMPTY = "warc_empty_payload"
SKIP_PREFIX = "warc_"
_SNIFF_BYTES = 512


def skip_status(code: int) -> str:
    """The skip reason of a non-200 response, e.g. ``warc_status_404``."""
    return f"{SKIP_PREFIX}status_{code}"


def _charset(name: str | None) -> str | None:
    """The codec name of an HTTP ``charset`` parameter; None when Python does not know it."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def _looks_like_html(payload: bytes) -> bool:
    head = payload[:_SNIFF_BYTES].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in head


def _is_html(content_type: str | None, payload: bytes) -> bool:
    """HTML by the declared media type; sniffed only when the server declared none."""
    if content_type:
        return content_type.split(";")[0].strip().lower() in HTML_TYPES
    return _looks_like_html(payload)


def _decode_http(payload: bytes, transfer: str | None, content: str | None, limit: int) -> bytes:
    """Undo chunked transfer coding and gzip/deflate/br content coding (at most ``limit`` bytes).

    Raises ``ValueError`` for a coding that does not decode.
    """
    if transfer and "chunked" in transfer.lower():
        payload = ChunkedReader(io.BytesIO(payload)).read()
    coding = (content or "").strip().lower()
    if coding in ("", "identity"):
        return payload
    try:
        if coding in ("gzip", "x-gzip", "deflate"):
            # wbits 47 reads gzip or zlib headers; raw deflate (seen in the wild) is the fallback.
            try:
                return zlib.decompressobj(47).decompress(payload, limit + 1)
            except zlib.error:
                return zlib.decompressobj(-zlib.MAX_WBITS).decompress(payload, limit + 1)
        if coding == "br":
            return BrotliReader(io.BytesIO(payload)).read(limit + 1)
    except (zlib.error, OSError) as error:
        raise ValueError(f"{coding}: {error}") from error
    raise ValueError(f"unknown content coding {coding!r}")


class _TruncatedFile(Exception):
    """The file ends inside a record."""


def _document(record: WarcRecord, ref: InputRef, max_bytes: int) -> Document | str:
    """The record as a document, or the reason it is skipped.

    Raises ``_TruncatedFile`` when the payload is shorter than the record declares.
    """
    offset = record.stream_pos
    headers = record.http_headers
    if headers is None or headers.status_code is None:
        return SKIP_BAD_HTTP
    if record.headers.get("WARC-Truncated"):
        return SKIP_TRUNCATED
    if record.content_length > max_bytes:
        return SKIP_OVERSIZED
    raw = record.reader.read(max_bytes + 1)
    if len(raw) < record.content_length:
        raise _TruncatedFile(f"record at offset {offset} ends after {len(raw)} bytes")
    if headers.status_code != 200:
        return skip_status(headers.status_code)
    try:
        payload = _decode_http(
            raw,
            headers.get("Transfer-Encoding"),
            headers.get("Content-Encoding"),
            max_bytes,
        )
    except ValueError:
        return SKIP_BAD_ENCODING
    if len(payload) > max_bytes:
        return SKIP_OVERSIZED
    if not payload.strip():
        return SKIP_EMPTY
    if not _is_html(headers.get("Content-Type"), payload):
        return SKIP_NON_HTML
    return Document(
        source=f"{ref.source}#{offset}",
        data=payload,
        input_format="html",
        url=record.headers.get("WARC-Target-URI") or None,
        declared_charset=_charset(record.http_charset),
    )


def warc_documents(ref: InputRef, config: PipelineConfig, stats: StepStats) -> Iterator[Document]:
    """Yield the HTML 200 responses of a WARC (``.warc`` or ``.warc.gz``) as documents.

    Every response record is counted in ``stats``: kept when yielded, dropped with a
    ``warc_*`` reason otherwise. Other record types (warcinfo, request, metadata, revisit)
    are not documents and are not counted. A file that is damaged or cut off part-way
    raises ``Rejected`` after the records before the damage have been yielded.
    """
    handle = open_input(ref)
    seen = 0
    try:
        records = iter(
            ArchiveIterator(
                handle, record_types=WarcRecordType.any_type, parse_http=True, auto_decode="none"
            )
        )
        pending_bad: int | None = None  # offset of a record whose HTTP headers did not parse
        while True:
            try:
                record = next(records, None)
            except OSError as error:
                raise Rejected(
                    "read", f"truncated or corrupt WARC after {seen} records: {error}"
                ) from error
            if pending_bad is not None:
                if record is None:  # the damaged record was the last: the file is cut off
                    raise Rejected("read", f"truncated WARC: record at offset {pending_bad}")
                stats.drop(SKIP_BAD_HTTP)
                pending_bad = None
            if record is None:
                break
            seen += 1
            if record.record_type != WarcRecordType.response:
                continue
            try:
                outcome = _document(record, ref, config.max_input_bytes)
            except _TruncatedFile as error:
                raise Rejected("read", f"truncated WARC: {error}") from error
            if outcome == SKIP_BAD_HTTP:
                pending_bad = record.stream_pos
            elif isinstance(outcome, str):
                stats.drop(outcome)
            else:
                stats.keep()
                yield outcome
    finally:
        handle.close()
    if seen == 0:
        raise Rejected("read", "not a WARC file: no records")
