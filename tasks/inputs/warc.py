"""WARC archives to documents: one per HTML response record, streamed with FastWARC.

FastWARC (a C++ reader) parses WARC and HTTP headers several times faster than warcio, which
matters on crawl-sized archives; records are read one at a time, never the whole file.
HTTP content and transfer encodings are undone here rather than by FastWARC's ``auto_decode``
so that the raw payload length can be compared with the record's declared length: a shorter
payload means the file ends inside the record (a truncated download).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from fastwarc.stream_io import BrotliReader, ChunkedReader
from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from tasks.config import PipelineConfig
from tasks.inputs.read import open_input
from tasks.models import Document, InputRef, Rejected, SkippedInput
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


def fetch_time(warc_date: str | None) -> datetime | None:
    """The ``WARC-Date`` of a record as a UTC time (when the crawler fetched the page); None
    when missing or unreadable. WARC dates are UTC (``2026-03-01T12:00:00Z``)."""
    if not warc_date:
        return None
    try:
        when = datetime.fromisoformat(warc_date.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


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


@dataclass(frozen=True, slots=True)
class _Skip:
    """Why a response record is not a document: a ``warc_*`` code for the step counts and a
    sentence for the report."""

    code: str
    reason: str


def _status_reason(code: int, location: str | None) -> str:
    if 300 <= code < 400 and location:
        return f"HTTP status {code} (redirect to {location})"
    return f"HTTP status {code}"


def _document(record: WarcRecord, ref: InputRef, max_bytes: int) -> Document | _Skip:
    """The record as a document, or why it is skipped.

    Raises ``_TruncatedFile`` when the payload is shorter than the record declares.
    """
    offset = record.stream_pos
    headers = record.http_headers
    if headers is None or headers.status_code is None:
        return _Skip(SKIP_BAD_HTTP, "HTTP response headers do not parse")
    if truncated := record.headers.get("WARC-Truncated"):
        return _Skip(
            SKIP_TRUNCATED, f"payload cut short by the crawler (WARC-Truncated: {truncated})"
        )
    if record.content_length > max_bytes:
        return _Skip(
            SKIP_OVERSIZED,
            f"record of {record.content_length} bytes, over the {max_bytes}-byte limit",
        )
    raw = record.reader.read(max_bytes + 1)
    if len(raw) < record.content_length:
        raise _TruncatedFile(f"record at offset {offset} ends after {len(raw)} bytes")
    if headers.status_code != 200:
        reason = _status_reason(headers.status_code, headers.get("Location"))
        return _Skip(skip_status(headers.status_code), reason)
    coding = headers.get("Content-Encoding")
    try:
        payload = _decode_http(raw, headers.get("Transfer-Encoding"), coding, max_bytes)
    except ValueError as error:
        return _Skip(SKIP_BAD_ENCODING, f"HTTP content encoding does not decode ({error})")
    if len(payload) > max_bytes:
        return _Skip(SKIP_OVERSIZED, f"decoded payload over the {max_bytes}-byte limit")
    if not payload.strip():
        return _Skip(SKIP_EMPTY, "empty payload")
    content_type = headers.get("Content-Type")
    if not _is_html(content_type, payload):
        return _Skip(SKIP_NON_HTML, f"not an HTML page ({content_type or 'no Content-Type'})")
    return Document(
        source=f"{ref.source}#{offset}",
        data=payload,
        input_format="html",
        url=record.headers.get("WARC-Target-URI") or None,
        declared_charset=_charset(record.http_charset),
        fetched_at=fetch_time(record.headers.get("WARC-Date")),
    )


def _file_sha256(handle: BinaryIO) -> str | None:
    """The SHA-256 of the whole file behind ``handle`` (for a quarantine row), if it reads."""
    digest = hashlib.sha256()
    try:
        handle.seek(0)
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def warc_documents(
    ref: InputRef, config: PipelineConfig, stats: StepStats
) -> Iterator[Document | SkippedInput]:
    """Yield the HTML 200 responses of a WARC (``.warc`` or ``.warc.gz``) as documents.

    Every other response record is yielded as a ``SkippedInput`` (``file#offset``, its URL
    and why) and every response record is counted in ``stats``: kept when a document,
    dropped with a ``warc_*`` reason otherwise. Other record types (warcinfo, request,
    metadata, revisit) are not documents and are not counted. A file that is damaged or cut
    off part-way raises ``Rejected`` (naming ``file#offset`` where the offset is known, with
    the file's SHA-256) after the records before the damage have been yielded.
    """
    handle = open_input(ref)
    seen = 0
    last_offset: int | None = None

    def rejected(reason: str, offset: int | None = None) -> Rejected:
        where = f"{ref.source}#{offset}" if offset is not None else None
        return Rejected("read", reason, input_sha256=_file_sha256(handle), source=where)

    try:
        records = iter(
            ArchiveIterator(
                handle, record_types=WarcRecordType.any_type, parse_http=True, auto_decode="none"
            )
        )
        pending_bad: tuple[int, str | None] | None = None  # a record whose HTTP did not parse
        while True:
            try:
                record = next(records, None)
            except OSError as error:
                after = f" (last good record at offset {last_offset})" if seen else ""
                raise rejected(
                    f"truncated or corrupt WARC after {seen} records{after}: {error}"
                ) from error
            if pending_bad is not None:
                offset, url = pending_bad
                if record is None:  # the damaged record was the last: the file is cut off
                    raise rejected(f"truncated WARC: record at offset {offset}", offset)
                stats.drop(SKIP_BAD_HTTP)
                yield SkippedInput(
                    f"{ref.source}#{offset}", "HTTP response headers do not parse", url
                )
                pending_bad = None
            if record is None:
                break
            seen += 1
            last_offset = record.stream_pos
            if record.record_type != WarcRecordType.response:
                continue
            try:
                outcome = _document(record, ref, config.read.max_input_bytes)
            except _TruncatedFile as error:
                raise rejected(f"truncated WARC: {error}", record.stream_pos) from error
            url = record.headers.get("WARC-Target-URI") or None
            if isinstance(outcome, _Skip) and outcome.code == SKIP_BAD_HTTP:
                pending_bad = (record.stream_pos, url)
            elif isinstance(outcome, _Skip):
                stats.drop(outcome.code)
                yield SkippedInput(f"{ref.source}#{record.stream_pos}", outcome.reason, url)
            else:
                stats.keep()
                yield outcome
        if seen == 0:
            raise rejected("not a WARC file: no records")
    finally:
        handle.close()
