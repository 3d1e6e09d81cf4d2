"""What one benchmark run works on: sizes, corpus, cached stores, scratch space."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings

from .corpus import CACHE, CorpusSpec, corpus_path, parse_size
from .stores import bulk_store

INGEST_SAMPLE = 10_000  # articles ingested into a fresh store per repetition
SMALL_STORE = 10_000  # the "10k already stored" side of the clustering comparison


@dataclass
class Context:
    """``size`` articles are stored; ``reserve`` more follow them for timing new arrivals."""

    size: int
    reps: int = 3
    seed: int = 1
    cache: Path = CACHE
    progress: bool = True
    ingest_sample: int = INGEST_SAMPLE
    stale_ok: bool = False  # reuse a cached store built by older clustering code
    _paths: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def from_args(cls, size: str | int, **kw) -> Context:
        return cls(size=parse_size(size), **kw)

    @property
    def reserve(self) -> int:
        """Articles after the stored ones: new arrivals for ingest/cluster timing."""
        return 20_000 if self.size >= 100_000 else max(self.size // 5, 40)

    @property
    def spec(self) -> CorpusSpec:
        return CorpusSpec(size=self.size + self.reserve, seed=self.seed)

    @property
    def sample(self) -> int:
        """Articles per fresh-store ingest repetition."""
        return min(self.size, self.ingest_sample)

    def log(self, message: str) -> None:
        if self.progress:
            print(message, flush=True)

    def corpus(self) -> Path:
        if "corpus" not in self._paths:
            self.log(f"corpus {self.spec.name} ...")
            self._paths["corpus"] = corpus_path(self.spec, cache=self.cache)
        return self._paths["corpus"]

    def store(self, start: int | None = None, stop: int | None = None) -> Path:
        """The cached store of records ``start..stop`` (default: all ``size`` stored ones)."""
        start = 0 if start is None else start
        stop = self.size if stop is None else stop
        key = f"store-{start}-{stop}"
        if key not in self._paths:
            self.corpus()
            self.log(f"store of records {start:,}..{stop:,} (built once, then cached) ...")
            self._paths[key] = bulk_store(
                self.spec,
                start=start,
                stop=stop,
                progress=self.progress,
                cache=self.cache,
                stale_ok=self.stale_ok,
            )
        return self._paths[key]

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """A temporary folder under the cache (same disk as the big stores)."""
        self.cache.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="scratch-", dir=self.cache))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def settings_for(database: Path | str) -> Settings:
    """Settings for a benchmark store (no .env, defaults otherwise)."""
    return Settings(_env_file=None, database=database)
