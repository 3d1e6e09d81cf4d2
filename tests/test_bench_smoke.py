"""Smoke run of the benchmark suite at a tiny size (not a timed test).

Checks that every benchmark runs end to end and writes results JSON with the
expected keys and sane (positive, ordered, consistent) values.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import datetime

import pytest

from bench import corpus
from bench.__main__ import BENCHMARKS, run, write_summary
from bench.context import Context
from tests.conftest import shared_path


def test_parse_size():
    assert corpus.parse_size("10k") == 10_000
    assert corpus.parse_size("1m") == 1_000_000
    assert corpus.parse_size("250") == 250
    assert corpus.size_label(100_000) == "100k"
    with pytest.raises(ValueError, match="size"):
        corpus.parse_size("lots")


def test_corpus_shape_and_reproducible():
    spec = corpus.CorpusSpec(size=400, seed=3)
    records = list(corpus.generate(spec))
    assert len(records) == 400
    assert records[:5] == list(itertools.islice(corpus.generate(spec), 5))
    other = list(itertools.islice(corpus.generate(corpus.CorpusSpec(size=400, seed=4)), 5))
    assert [r["title"] for r in other] != [r["title"] for r in records[:5]]
    times = [datetime.strptime(r["published_at"], "%Y-%m-%dT%H:%M:%SZ") for r in records]
    assert times == sorted(times)
    for r in records:
        assert 6 <= len(r["title"].split()) <= 15
        assert 200 <= len(r["text"].split()) <= 1_700
        assert r["url"].startswith("https://") and r["source"]
    assert len({r["url"] for r in records}) == len(records)
    by_event = defaultdict(list)
    for r in records:
        by_event[r["label"]].append(r)
    multi = [rs for rs in by_event.values() if len(rs) > 1]
    assert multi, "some events must be covered by several outlets"
    for rs in multi:
        assert len({r["source"] for r in rs}) == len(rs)  # one article per outlet per event
    # Outlets covering one event share salient terms beyond the common vocabulary.
    rs = max(multi, key=len)
    shared = set.intersection(*(set(r["text"].split()) for r in rs))
    assert any(w[0].isupper() or w[0].isdigit() for w in shared)


def test_write_jsonl_streams_and_reads_back(tmp_path):
    spec = corpus.CorpusSpec(size=50, seed=5)
    path = corpus.corpus_path(spec, cache=tmp_path)
    assert path.exists() and not list(tmp_path.glob("*.tmp*"))
    assert [r["n"] for r in corpus.iter_records(path, 10, 13)] == [10, 11, 12]
    entries = list(corpus.iter_entries(path, 0, 50))
    assert len(entries) == 50 and entries[0].title


@pytest.mark.slow
def test_all_benchmarks_tiny(tmp_path, monkeypatch):
    feeds = sorted(p for p in shared_path("feeds").rglob("*.xml"))[:40]
    few = [p for p in corpus.real_feeds() if p in set(feeds)][:4]
    import bench.ingest
    import bench.reader_cmp

    monkeypatch.setattr(bench.ingest, "real_feeds", lambda: few)
    monkeypatch.setattr(bench.reader_cmp, "real_feeds", lambda: few)
    monkeypatch.setattr(bench.reader_cmp, "FEEDS_DIR", shared_path("feeds"))
    ctx = Context(size=200, reps=1, cache=tmp_path / "cache", progress=False)
    out = tmp_path / "results"
    results = run(list(BENCHMARKS), ctx, out_dir=out)
    write_summary(results, ctx, out_dir=out)

    def load(name):
        data = json.loads((out / f"{name}-200.json").read_text())
        assert data["benchmark"] == name and data["size"] == 200
        assert data["machine"]["nproc"] >= 1 and data["machine"]["sqlite"]
        assert data["rows"] and all(r["metric"] and r["value"] for r in data["rows"])
        return data["data"]

    ingest = load("ingest")
    assert ingest["jsonl"]["entries"] == 200 and ingest["jsonl"]["failed"] == 0
    rate = ingest["jsonl"]["rate"]
    assert 0 < rate["min"] <= rate["median"] <= rate["max"]
    assert ingest["real_feeds"]["entries"] > 0 and ingest["synthetic_rss"]["entries"] == 200
    assert ingest["jsonl"]["db_bytes_per_article"] > 500  # bodies are 200+ words

    floor = load("floor")
    assert floor["floor"]["rows"] == 200
    assert 0 < floor["fraction_of_floor"] < 5

    reader = load("reader")
    for key in ("real_feeds", "synthetic_RSS"):
        assert reader[key]["reader"]["entries"] > 0 and reader[key]["speedup"] > 0
    assert reader["synthetic_RSS"]["newsdesk"]["entries"] == 200

    search = load("search")
    for side in ("newsdesk", "raw_fts"):
        lat = search[side]["all"]
        assert 0 < lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] <= lat["max_ms"]
        assert search[side]["runs_with_hits"] > search[side]["runs"] // 2
    assert set(search["newsdesk"]["by_kind"]) == set(search["raw_fts"]["by_kind"])
    assert search["reader_comparison"]["reader"]["runs_with_hits"] > 0

    cluster = load("cluster")
    for mode in ("single", "batch"):
        assert cluster[mode]["small"]["ms_per_article"]["median"] > 0
        assert cluster[mode]["ratio"] > 0

    digest = load("digest")
    assert digest["digest"]["articles"] > 0 and digest["digest"]["digest_items"] > 0
    assert digest["slash"]["search"]["samples"] > 0 and digest["slash"]["date"]["p50_ms"] > 0

    memory = load("memory")
    assert memory["services"]["peak_rss_mib"]["median"] > 20
    assert memory["ingest_fresh"]["new"] == 200
    assert memory["store_bytes_per_article"] > 500

    summary = json.loads((out / "all-200.json").read_text())
    assert [r["benchmark"] for r in summary["results"]] == list(BENCHMARKS)
    assert (out / "all-200.md").read_text().startswith("| benchmark |")
