"""Synthetic news corpora (and the real feed files) for the benchmarks.

A corpus is a stream of article records shaped like the news: titles of 6-15
words, bodies of 200-1,500 words drawn from a Zipf-like vocabulary of
pronounceable made-up words (plus capitalised names and numbers), 50-500
outlets of uneven output, and events each covered by 1-20 outlets that word
the same event with overlapping salient terms (names, places, numbers, topic
words) and their own filler. Articles arrive at ``per_day`` a day (5,000 by
default), so 1M articles span about 200 days, and come out in publication
order. Everything is reproducible from the seed.

Records are written as JSON Lines (the format ``newsdesk ingest`` reads, plus
``label``, the event id, and ``n``, the record number) under
``bench/.cache/`` and generated once per (size, seed, version).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import json
import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.ingest.parse import ParseError, iter_jsonl, parse_feed
from bot.models import Entry

CACHE = Path(__file__).resolve().parent / ".cache"
FEEDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "feeds"  # ../shared beside the repo
VERSION = 1  # bump when the generator's output changes
START = 1_735_689_600  # 2025-01-01T00:00:00Z
CATEGORIES = (
    "politics",
    "business",
    "science",
    "sport",
    "world",
    "technology",
    "health",
    "culture",
)
FUNCTION_WORDS = (
    "the of and to in a is that for on was with as by at it from his be an are have has "
    "not this but were they which had their its been or who after more than also over into "
    "when about would will up new one said"
).split()
_ONSETS = "b br c ch d dr f fl g gr h j k kl l m n p pr qu r s sh sl st t th tr v w z".split()
_VOWELS = "a e i o u a e i o ai ea ou io".split()
_CODAS = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "rk"]
_NAME_ENDINGS = ["", "", "a", "o", "ez", "ski", "son", "ova", "ini", "er"]
_PAPER_WORDS = "Times Post Herald Tribune Daily Journal Gazette Courier Chronicle Observer News Wire Express Record Star Sentinel Ledger Monitor Review Dispatch".split()
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def parse_size(text: str | int) -> int:
    """``"10k"``, ``"1m"``, ``"250"`` -> an article count."""
    if isinstance(text, int):
        return text
    t = text.strip().lower()
    if t in SIZES:
        return SIZES[t]
    scale = 1
    if t.endswith("k"):
        scale, t = 1_000, t[:-1]
    elif t.endswith("m"):
        scale, t = 1_000_000, t[:-1]
    try:
        value = int(float(t) * scale)
    except ValueError:
        raise ValueError(f"size {text!r}: use a count such as 200, 10k, 100k or 1m") from None
    if value < 1:
        raise ValueError(f"size {text!r} must be at least 1")
    return value


def size_label(size: int) -> str:
    """1_000_000 -> ``"1m"``, 100_000 -> ``"100k"``, 200 -> ``"200"``."""
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    if size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    """What to generate."""

    size: int
    seed: int = 1
    per_day: int = 5_000

    @property
    def name(self) -> str:
        return f"corpus-{size_label(self.size)}-s{self.seed}-d{self.per_day}-v{VERSION}"


@dataclass(frozen=True, slots=True)
class _Outlet:
    name: str
    domain: str
    title_case: bool


@dataclass(slots=True)
class _Event:
    label: str
    category: str
    names: list[str]
    numbers: list[str]
    topic: list[str]


class _Words:
    """Vocabulary, Zipf sampling and a pre-sampled pool to slice sentences from."""

    def __init__(self, rng: random.Random, *, vocab: int = 40_000, names: int = 30_000) -> None:
        words = _unique(rng, vocab, lambda r: _word(rng, r), set(FUNCTION_WORDS))
        self.vocab = FUNCTION_WORDS + words
        weights = [1.0 / (r + 2.7) ** 1.05 for r in range(len(self.vocab))]
        self.cum = list(itertools.accumulate(weights))
        self.pool = rng.choices(self.vocab, cum_weights=self.cum, k=1 << 20)
        taken = set(self.vocab)
        self.names = _unique(rng, names, lambda _r: _name(rng), taken)
        name_weights = [1.0 / (r + 10) ** 0.9 for r in range(len(self.names))]
        self.name_cum = list(itertools.accumulate(name_weights))
        # Topic words: the mid-frequency band, where an event's own terms live.
        self.topic_band = self.vocab[400:20_000]

    def name(self, rng: random.Random) -> str:
        return self.names[bisect.bisect(self.name_cum, rng.random() * self.name_cum[-1])]

    def slice(self, rng: random.Random, count: int) -> list[str]:
        start = rng.randrange(len(self.pool) - count)
        return self.pool[start : start + count]


def common_words(seed: int, count: int = 400) -> list[str]:
    """The ``count`` most frequent words of the corpus vocabulary of ``seed`` (lower case)."""
    return _Words(random.Random(seed)).vocab[:count]


def _unique(rng: random.Random, count: int, make, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        word = make(len(out))
        if word not in taken:
            taken.add(word)
            out.append(word)
    return out


def _syllable(rng: random.Random) -> str:
    return rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)


def _word(rng: random.Random, rank: int) -> str:
    """Frequent words are short, rare ones long (as in natural language)."""
    most = 2 if rank < 2_000 else 3 if rank < 15_000 else 4
    return "".join(_syllable(rng) for _ in range(rng.randint(1, most)))


def _name(rng: random.Random) -> str:
    stem = "".join(_syllable(rng) for _ in range(rng.randint(1, 3)))
    return (stem + rng.choice(_NAME_ENDINGS)).capitalize()


def _number(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        return str(rng.randint(2, 99))
    if kind < 0.7:
        return f"{rng.randint(1, 99)}.{rng.randint(1, 9)}"
    return f"{rng.randint(1, 999)},{rng.randint(0, 999):03d}"


def _outlets(rng: random.Random, words: _Words, count: int) -> list[_Outlet]:
    out: list[_Outlet] = []
    seen: set[str] = set()
    while len(out) < count:
        base = words.names[rng.randrange(len(words.names))]
        paper = rng.choice(_PAPER_WORDS)
        name = f"The {base} {paper}" if rng.random() < 0.5 else f"{base} {paper}"
        if name in seen:
            continue
        seen.add(name)
        domain = f"{base.lower()}{paper.lower()}.example"
        out.append(_Outlet(name=name, domain=domain, title_case=rng.random() < 0.4))
    return out


def _coverage_weights() -> list[float]:
    return [1.0 / k**1.3 for k in range(1, 21)]


def _mean_coverage() -> float:
    w = _coverage_weights()
    return sum(k * wk for k, wk in zip(range(1, 21), w, strict=True)) / sum(w)


class Generator:
    """Streams article records for a :class:`CorpusSpec`."""

    def __init__(self, spec: CorpusSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.words = _Words(self.rng)
        n_outlets = max(50, min(500, round(math.sqrt(spec.size) / 2)))
        self.outlets = _outlets(self.rng, self.words, n_outlets)
        self.outlet_cum = list(itertools.accumulate(1.0 / (r + 3) ** 0.8 for r in range(n_outlets)))
        self.coverage_cum = list(itertools.accumulate(_coverage_weights()))
        self.event_gap = 86_400 * _mean_coverage() / spec.per_day  # mean seconds between events

    def _pick_outlets(self, k: int) -> list[_Outlet]:
        chosen: dict[int, None] = {}
        while len(chosen) < k:
            i = bisect.bisect(self.outlet_cum, self.rng.random() * self.outlet_cum[-1])
            chosen[i] = None
        return [self.outlets[i] for i in chosen]

    def _event(self, number: int) -> _Event:
        rng, words = self.rng, self.words
        names = [words.name(rng) for _ in range(rng.randint(2, 4))]
        return _Event(
            label=f"e{number}",
            category=rng.choice(CATEGORIES),
            names=names,
            numbers=[_number(rng) for _ in range(rng.randint(1, 2))],
            topic=rng.sample(words.topic_band, rng.randint(3, 5)),
        )

    def _title(self, event: _Event, outlet: _Outlet) -> str:
        rng = self.rng
        salient = rng.sample(event.names, min(len(event.names), rng.randint(1, 2)))
        salient += rng.sample(event.topic, rng.randint(2, 3))
        if rng.random() < 0.4:
            salient.append(rng.choice(event.numbers))
        length = rng.randint(6, 15)
        filler = self.words.slice(rng, max(0, length - len(salient)))
        words = salient + filler
        rng.shuffle(words)
        if outlet.title_case:
            words = [w if w[0].isupper() else w.capitalize() for w in words]
        else:
            words[0] = words[0][0].upper() + words[0][1:]
        return " ".join(words)

    def _sentence(self, salient: list[str], share: float) -> str:
        rng = self.rng
        words = list(self.words.slice(rng, rng.randint(8, 24)))
        for term in salient:
            if rng.random() < share:
                words.insert(rng.randrange(len(words) + 1), term)
        if len(words) > 10 and rng.random() < 0.4:
            cut = rng.randrange(3, len(words) - 3)
            words[cut] += ","
        words[0] = words[0][0].upper() + words[0][1:]
        return " ".join(words) + "."

    def _body(self, event: _Event) -> str:
        rng = self.rng
        target = 200 + int(1300 * rng.random() ** 2.5)
        salient = event.names + event.numbers + event.topic
        paragraphs: list[str] = []
        count = 0
        share = 0.6  # the lead carries the event; later paragraphs drift
        while count < target:
            sentences = [self._sentence(salient, share) for _ in range(rng.randint(2, 5))]
            paragraph = " ".join(sentences)
            count += paragraph.count(" ") + 1
            paragraphs.append(paragraph)
            share = 0.12
        return "\n\n".join(paragraphs)

    def _articles(self, event: _Event, t0: float) -> Iterator[tuple[int, dict]]:
        rng = self.rng
        k = bisect.bisect(self.coverage_cum, rng.random() * self.coverage_cum[-1]) + 1
        for outlet in self._pick_outlets(k):
            delay = min(rng.expovariate(1 / 14_400), 172_800)  # mean 4 h, at most 48 h
            yield (
                int(t0 + delay),
                {
                    "title": self._title(event, outlet),
                    "text": self._body(event),
                    "source": outlet.name,
                    "category": event.category,
                    "label": event.label,
                    "_domain": outlet.domain,
                },
            )

    def records(self) -> Iterator[dict]:
        """The corpus, ``spec.size`` records in publication order."""
        heap: list[tuple[int, int, dict]] = []
        produced = emitted = 0
        t0 = float(START)
        tie = itertools.count()
        for number in itertools.count():
            if produced >= self.spec.size:
                break
            t0 += self.rng.expovariate(1 / self.event_gap)
            while heap and heap[0][0] <= t0 and emitted < self.spec.size:
                yield self._finish(heapq.heappop(heap), emitted)
                emitted += 1
            for ts, record in self._articles(self._event(number), t0):
                heapq.heappush(heap, (ts, next(tie), record))
                produced += 1
        while heap and emitted < self.spec.size:
            yield self._finish(heapq.heappop(heap), emitted)
            emitted += 1

    @staticmethod
    def _finish(item: tuple[int, int, dict], n: int) -> dict:
        ts, _tie, record = item
        moment = datetime.fromtimestamp(ts, UTC)
        slug = "-".join(record["title"].lower().split()[:5]).replace(",", "")
        domain = record.pop("_domain")
        record["url"] = f"https://{domain}/{moment:%Y/%m/%d}/{slug}-{n}"
        record["published_at"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        record["n"] = n
        return record


def generate(spec: CorpusSpec) -> Iterator[dict]:
    """Stream the records of ``spec`` (no caching)."""
    return Generator(spec).records()


def write_jsonl(records: Iterator[dict], path: Path, *, chunk: int = 5_000) -> int:
    """Write ``records`` to ``path`` atomically, ``chunk`` lines at a time; returns the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    count = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with tmp.open("w", encoding="utf-8") as out:
        buffer: list[str] = []
        for record in records:
            buffer.append(dumps(record) + "\n")
            count += 1
            if len(buffer) >= chunk:
                out.writelines(buffer)
                buffer.clear()
        out.writelines(buffer)
    tmp.replace(path)
    return count


def corpus_path(spec: CorpusSpec, *, cache: Path = CACHE) -> Path:
    """The cached JSON Lines file of ``spec``, generated first if missing."""
    path = cache / f"{spec.name}.jsonl"
    if not path.exists():
        write_jsonl(generate(spec), path)
    return path


def iter_records(path: Path, start: int = 0, stop: int | None = None) -> Iterator[dict]:
    """Decoded records ``start <= n < stop`` of a corpus file (streamed)."""
    with path.open("rb") as handle:
        for n, line in enumerate(handle):
            if stop is not None and n >= stop:
                return
            if n >= start:
                yield json.loads(line)


def iter_lines(path: Path, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
    """Raw lines ``start <= n < stop`` of a corpus file (streamed)."""
    with path.open("rb") as handle:
        yield from itertools.islice(handle, start, stop)


def iter_entries(path: Path, start: int = 0, stop: int | None = None) -> Iterator[Entry]:
    """Entries (through Newsdesk's own JSON Lines parser) of records ``start..stop``."""
    for item in iter_jsonl(iter_lines(path, start, stop)):
        if isinstance(item, Entry):
            yield item


def split_jsonl(path: Path, out_dir: Path, *, start: int, stop: int, parts: int) -> list[Path]:
    """Copy records ``start..stop`` of ``path`` into ``parts`` JSON Lines files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    total = stop - start
    files: list[Path] = []
    lines = iter_lines(path, start, stop)
    for part in range(parts):
        count = total // parts + (1 if part < total % parts else 0)
        target = out_dir / f"part-{part:03d}.jsonl"
        with target.open("wb") as out:
            out.writelines(itertools.islice(lines, count))
        files.append(target)
    return files


# ---------------------------------------------------------------- feeds


def real_feeds(root: Path = FEEDS_DIR) -> list[Path]:
    """Every file under ``root`` that Newsdesk's feed parser reads with at least one entry."""
    if not root.is_dir():
        return []
    found: list[Path] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix.lower() not in {".xml", ".atom", ".json", ".rss", ".rdf"}:
            continue
        try:
            parsed = parse_feed(path.read_bytes(), url=path.as_uri())
        except (ParseError, OSError, ValueError):
            continue
        if parsed.entries:
            found.append(path)
    return found


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def rss_document(records: list[dict], *, title: str) -> str:
    """An RSS 2.0 document with ``records`` as items (HTML bodies in content:encoded)."""
    items = []
    for r in records:
        moment = datetime.strptime(r["published_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        html = "".join(f"<p>{_xml(p)}</p>" for p in r["text"].split("\n\n"))
        items.append(
            "<item>"
            f"<title>{_xml(r['title'])}</title><link>{_xml(r['url'])}</link>"
            f'<guid isPermaLink="true">{_xml(r["url"])}</guid>'
            f"<pubDate>{moment:%a, %d %b %Y %H:%M:%S} +0000</pubDate>"
            f"<category>{_xml(r['category'])}</category>"
            f"<description>{_xml(r['text'][:300])}</description>"
            f"<content:encoded><![CDATA[{html}]]></content:encoded>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{_xml(title)}</title><link>https://bench.example/</link>"
        f"<description>benchmark feed</description>{''.join(items)}</channel></rss>\n"
    )


def synthetic_feeds(
    spec: CorpusSpec, *, articles: int, per_feed: int = 100, cache: Path = CACHE
) -> list[Path]:
    """The first ``articles`` records of ``spec`` as RSS files of ``per_feed`` items (cached)."""
    out_dir = cache / f"{spec.name}-rss-{articles}x{per_feed}"
    done = out_dir / ".done"
    if not done.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        source = corpus_path(spec, cache=cache)
        batch: list[dict] = []
        number = 0
        for record in iter_records(source, 0, articles):
            batch.append(record)
            if len(batch) == per_feed:
                (out_dir / f"feed-{number:04d}.xml").write_text(
                    rss_document(batch, title=f"Bench feed {number}"), encoding="utf-8"
                )
                number += 1
                batch = []
        if batch:
            (out_dir / f"feed-{number:04d}.xml").write_text(
                rss_document(batch, title=f"Bench feed {number}"), encoding="utf-8"
            )
        done.touch()
    return sorted(out_dir.glob("feed-*.xml"))
