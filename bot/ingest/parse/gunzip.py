"""Gzip data decompressed with a cap on what comes out, so a small "zip bomb"
cannot fill memory. Feeds fetched or saved gzipped and archives (``.jsonl.gz``)
both come through here; each caller words the refusal for its own user."""

from __future__ import annotations

import zlib

GZIP_MAGIC = b"\x1f\x8b"


class GzipError(Exception):
    """The data is not valid gzip (the message says why), or ``too_large``:
    more than the cap would come out."""

    def __init__(self, detail: str, *, too_large: bool = False) -> None:
        super().__init__(detail)
        self.too_large = too_large


def is_gzip(data: bytes | bytearray | memoryview) -> bool:
    return bytes(data[:2]) == GZIP_MAGIC


def gunzip(data: bytes | bytearray | memoryview, limit: int) -> bytes:
    """``data`` decompressed, at most ``limit`` bytes of it; :class:`GzipError` otherwise."""
    try:
        inflater = zlib.decompressobj(wbits=31)
        out = inflater.decompress(data, limit)
    except zlib.error as exc:
        raise GzipError(str(exc)) from exc
    if inflater.unconsumed_tail:
        raise GzipError(f"more than {limit:,} bytes", too_large=True)
    return out
