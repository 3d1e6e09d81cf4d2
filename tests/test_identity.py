"""canonical_url, content_hash, is_trustworthy_guid."""

from __future__ import annotations

import pytest

from bot.identity import canonical_url, content_hash, is_trustworthy_guid


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.Example.COM/World/Story.html", "https://news.example.com/World/Story.html"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a?", "https://example.com/a"),
        (
            "https://example.com/a?utm_source=rss&utm_medium=feed&id=5&fbclid=XYZ&page=2",
            "https://example.com/a?id=5&page=2",
        ),
        (
            "https://example.com/a?gclid=1&dclid=2&msclkid=3&mc_cid=4&mc_eid=5",
            "https://example.com/a",
        ),
        ("https://example.com/a?igshid=1&yclid=2&_ga=3&ref_src=twsrc", "https://example.com/a"),
        ("https://example.com/a?UTM_Campaign=x&b=2&a=1", "https://example.com/a?b=2&a=1"),
        ("https://example.com/a?q=caf%C3%A9&&x=", "https://example.com/a?q=caf%C3%A9&x="),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://user:pw@example.com/a", "https://example.com/a"),
        ("https://bücher.example/kapitel", "https://xn--bcher-kva.example/kapitel"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("https://example.com./a", "https://example.com/a"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "ftp://example.com/a",
        "javascript:alert(1)",
        "data:text/html,x",
        "/relative/path",
        "mailto:a@b.c",
        "https://",
        "http://[::1",
        "https://example.com:99999/",
    ],
)
def test_canonical_url_rejects(url: str | None) -> None:
    assert canonical_url(url) is None


def test_canonical_url_is_idempotent() -> None:
    url = "HTTP://Example.com:80/a/b?utm_source=x&k=v#frag"
    once = canonical_url(url)
    assert canonical_url(once) == once


def test_content_hash_normalises() -> None:
    base = content_hash("Storm hits the coast", "Heavy rain.\n\nRoads closed.")
    assert base == content_hash("STORM hits   the coast!", "heavy rain\nRoads closed")
    assert base == content_hash("Storm hits the coast", "Heavy rain. Roads, closed.")
    assert len(base) == 32 and int(base, 16) >= 0


def test_content_hash_differs_for_different_text() -> None:
    assert content_hash("Storm hits the coast", "Heavy rain.") != content_hash(
        "Storm hits the coast", "Light rain."
    )
    assert content_hash("a", "b c") != content_hash("a b", "c")  # title/body boundary kept


def test_content_hash_is_stable() -> None:
    # A fixed value: stored hashes must not change between releases.
    assert content_hash("Hello", "World") == content_hash("hello", "world")
    assert content_hash("Hello", "World") == "a093ce2e24e0e11b91d129d4e8bfa6f2"


@pytest.mark.parametrize(
    "guid",
    [
        None,
        "",
        "   ",
        "1",
        "42",
        "99999",
        "item",
        "GUID",
        "null",
        "---",
        "https://example.com/",
        "http://example.com",
    ],
)
def test_untrustworthy_guids(guid: str | None) -> None:
    assert not is_trustworthy_guid(guid, "https://example.com/story/1")


@pytest.mark.parametrize(
    "guid",
    [
        "https://example.com/story/1",
        "tag:example.com,2024:1234",
        "123456",
        "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
        "abc-2024-05-01",
        "https://example.com/?p=42",
    ],
)
def test_trustworthy_guids(guid: str) -> None:
    assert is_trustworthy_guid(guid, "https://example.com/story/1")


def test_ascii_text_hashes_as_the_unicode_rule_says():
    """ASCII text takes a faster path (bytes) than other text (a regular
    expression): both drop what is neither a word character nor a space, and
    underscores, so an ASCII body and the same body with one accented letter
    differ by that letter only."""
    import random
    import re

    from bot.identity import normalise_for_hash

    rule = re.compile(r"[^\w\s]|_")
    rng = random.Random(5)
    alphabet = [chr(c) for c in range(128)]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 200)))
        expected = " ".join(rule.sub("", text.casefold()).split())
        assert normalise_for_hash(text) == expected
        assert normalise_for_hash(text + " é") == f"{expected} é".strip()
    assert normalise_for_hash("Hello,\tWorld_2 -- «Fin»!") == "hello world2 fin"
    assert content_hash("A.B", "x_y") == content_hash("ab", "XY")
