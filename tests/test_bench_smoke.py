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


# -- bench/stories_eval.py (Issue 9's development harness) ---------------------------


def test_stories_eval_pieces():
    from datetime import UTC, timedelta

    from bench.newsfeeds import first_sentence, render_feed
    from bench.stories_eval import Row, judge_digest, parse_digest, round_schedule, word_coverage

    assert first_sentence("May 03, 2013\nLohan checked in today. She left.") == (
        "Lohan checked in today."
    )
    assert word_coverage("a b c d", "x a b c d y") == 1.0
    assert word_coverage("a b c d", "a b") == 0.5
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    rows = [
        Row(
            n,
            "e",
            f"id{n}",
            f"t{n}",
            "x",
            f"https://o.example/id{n}",
            "o",
            t0 + timedelta(minutes=n),
        )
        for n in range(6)
    ]
    assert "id0" not in rows[0].public_url  # ids never reach the product
    plan = round_schedule(rows, None, 15)
    assert [len(chunk) for _, chunk in plan] == [1] * 6
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(plan)]
    assert min(gaps) >= timedelta(minutes=16.5)  # every feed due again each round
    assert [len(chunk) for _, chunk in round_schedule(rows, 2, 15)] == [3, 3]
    posts = [
        {
            "embeds": [
                {
                    "description": "**[H1](http://127.0.0.2:1/a)**\nsum\nO · also covered "
                    "by 3 sources: [P](http://127.0.0.3:1/b) · +2 more\n\n"
                    "**[H2](http://127.0.0.4:1/c)**\nO"
                }
            ]
        }
    ]
    lines = parse_digest(posts)
    assert [ln["more"] for ln in lines] == [2, 0]
    judged = judge_digest(
        lines,
        {"http://127.0.0.2:1/a": "x", "http://127.0.0.3:1/b": "y", "http://127.0.0.4:1/c": "x"},
        ["x", "y", "z"],
    )
    assert (judged["lines"], judged["split"], judged["mixed"], judged["absent"]) == (2, 1, 1, ["z"])
    assert "<content:encoded>" not in render_feed("O", "http://h", [], "summary")


@pytest.mark.slow
def test_stories_eval_quick_runs_every_mode():
    """A tiny subsample through every mode: numbers come out (no quality thresholds)."""
    import subprocess
    import sys

    from bench.stories_eval import MODES, REPO, find_data

    data = find_data()
    if data is None:
        pytest.skip("../shared/clustering/ecbplus-dev.jsonl not found (CI always has it)")
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "stories_eval.py"),
            "--quick",
            "--json",
            "--data",
            str(data),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert proc.stdout.strip(), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    results = {r["mode"]: r for r in report["results"]}
    assert set(results) == set(MODES)
    for mode, r in results.items():
        if mode == "extraction":
            continue  # another harness; only its hook is ours
        assert r["error"] is None, (mode, r["error"])
        assert r["articles"] > 0 and r["events"] > 0 and r["stories"] > 0, mode
        for key in ("pairwise_p", "pairwise_r", "bcubed_p", "bcubed_r", "bcubed_f1"):
            assert 0.0 <= r[key] <= 1.0, (mode, key)
    for mode in ("full-one-at-a-time", "summary-feeds", "digest-summary", "digest-full"):
        assert results[mode]["stored"] == results[mode]["articles"], mode
        assert 0.0 <= results[mode]["full_text_share"] <= 1.0, mode
    assert results["full-one-at-a-time"]["full_text_share"] > 0.5  # text in the feed is stored
    for mode in ("digest-summary", "digest-full"):
        digest = results[mode]["digest"]
        assert digest["result"] == "sent" and digest["lines"] > 0, (mode, digest)
        assert digest["events"] == 4 and digest["unmapped_lines"] == 0, (mode, digest)
