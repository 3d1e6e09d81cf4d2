"""The bundled sample corpus for the offline demo (``newsdesk demo``).

Every outlet, person, place and event in it is invented; the ``.example``
domains do not resolve. :data:`EXPECTED_STORIES` documents which entries
report the same event, so tests (and whoever tunes clustering) can check
that the demo merges them, and :data:`MUST_NOT_MERGE` names look-alike
events that must stay apart.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_DIR = Path(__file__).parent

# What the demo ingests, in order: (folder, file suffixes).
_SOURCE_KINDS = (
    ("feeds", (".xml", ".json")),
    ("articles", (".txt",)),
    ("pages", (".html",)),
    (".", (".jsonl",)),
)


def sample_sources() -> list[Path]:
    """The files ``newsdesk demo`` ingests: feeds, text articles, pages, the archive.

    Not the OPML (it only lists the feeds' illustrative URLs) nor the README.
    Sorted within each kind so runs are repeatable.
    """
    found: list[Path] = []
    for folder, suffixes in _SOURCE_KINDS:
        files = (p for p in (SAMPLE_DIR / folder).iterdir() if p.is_file())
        found.extend(sorted(p for p in files if p.suffix in suffixes))
    return found


# event key -> the entries reporting it, as (file relative to SAMPLE_DIR, headline).
EXPECTED_STORIES: dict[str, list[tuple[str, str]]] = {
    "quake-calder-valley": [
        (
            "articles/coastline-post_calder-valley-earthquake.txt",
            "Calder Valley Earthquake: Residents Describe Terrifying Pre-Dawn Jolt",
        ),
        (
            "feeds/harbor-city-ledger.rss.xml",
            "Magnitude 5.8 earthquake shakes Calder Valley, injuring 14",
        ),
        ("feeds/meridian-wire.json", "Calder Valley counts damage as aftershocks continue"),
        ("feeds/meridian-wire.json", "Strong quake hits Calder Valley; no deaths reported"),
        (
            "feeds/northwind-dispatch.atom.xml",
            "Landslide closes Route 9 after quake rattles Brennick",
        ),
        ("feeds/valley-courier.rdf.xml", "Brennick shaken: what we know about Friday's earthquake"),
        ("feeds/valley-courier.rdf.xml", "Route 9 reopens two days after Brennick quake landslide"),
    ],
    "quake-port-aldren": [
        ("archive.jsonl", "Port Aldren feels sea quake as Sunday evening tremor rattles harbour"),
        ("archive.jsonl", "Sea-floor tremor of magnitude 4.9 felt along Saltmere coast"),
        ("feeds/meridian-wire.json", "Offshore earthquake jolts Port Aldren; no tsunami threat"),
    ],
    "eastline-council-vote": [
        (
            "articles/pinecrest-herald_eastline-light-rail-vote.txt",
            "Harbor City Says Yes To Eastline: Light Rail To Reach Gullwing Point Airport",
        ),
        (
            "feeds/harbor-city-ledger.rss.xml",
            "Council approves $1.2 billion Eastline light-rail extension in 9-4 vote",
        ),
        ("feeds/harbor-city-ledger.rss.xml", "What the Eastline vote means for your commute"),
        (
            "feeds/northwind-dispatch.atom.xml",
            "Harbor City greenlights Eastline rail line after marathon hearing",
        ),
        (
            "pages/granite-tribune_eastline-funding.html",
            "Eastline extension wins council backing, but funding questions linger",
        ),
    ],
    "continental-cup-final": [
        ("archive.jsonl", "Falcons left heartbroken as Salas double not enough in cup final"),
        (
            "articles/coastline-post_continental-cup-final.txt",
            "Continental Cup Final: Mariners Edge Falcons In Extra-Time Thriller",
        ),
        (
            "feeds/harbor-city-ledger.rss.xml",
            "Arvid strikes in extra time as Mariners win Continental Cup",
        ),
        (
            "feeds/meridian-wire.json",
            "Mariners beat Falcons 3-2 after extra time to lift Continental Cup",
        ),
        (
            "feeds/valley-courier.rdf.xml",
            "Valley-born Feyn's late leveller sets up Mariners' cup triumph",
        ),
    ],
    "kettle-recall": [
        ("archive.jsonl", "Kettle maker Brightwell blames supplier part for recall"),
        (
            "articles/pinecrest-herald_kettle-recall.txt",
            "Check Your Kitchen: Popular Kettle Recalled After Overheating Reports",
        ),
        (
            "feeds/meridian-wire.json",
            "Safety agency orders recall of Kettlemaster 2 kettles after burn reports",
        ),
        (
            "feeds/northwind-dispatch.atom.xml",
            "Brightwell recalls 240,000 kettles over overheating risk",
        ),
    ],
    "tarravale-heatwave": [
        ("feeds/harbor-city-ledger.rss.xml", "Tarravale swelters as November heat record falls"),
        (
            "feeds/northwind-dispatch.atom.xml",
            "Fire bans declared as early-summer heatwave grips northern Tarravale",
        ),
        (
            "feeds/valley-courier.rdf.xml",
            "Tarravale heat: grid strained as Dunmore breaks record again",
        ),
    ],
    "lyra2-launch": [
        ("archive.jsonl", "Weather satellites reach orbit on Lyra-2's second flight"),
        (
            "feeds/harbor-city-ledger.rss.xml",
            "Aurora Orbital's Lyra-2 rocket puts three weather satellites in orbit",
        ),
        (
            "feeds/meridian-wire.json",
            "Lyra-2 booster sticks ship landing as SkyWatch satellites launch",
        ),
        (
            "pages/granite-tribune_skywatch-engineers.html",
            "Made in Granite Falls: local engineers behind weather satellites launched Saturday",
        ),
    ],
    "millrace-bridge-closure": [
        (
            "archive.jsonl",
            "Engineers find 'significant' corrosion on Millrace Bridge, forcing closure",
        ),
        (
            "articles/coastline-post_millrace-bridge-closure.txt",
            "Millbrook Bridge Closure Leaves Traders Counting The Cost",
        ),
        (
            "feeds/northwind-dispatch.atom.xml",
            "Old Millrace Bridge closed after inspectors find corroded hangers",
        ),
        (
            "feeds/northwind-dispatch.atom.xml",
            "Old Millrace Bridge closed indefinitely; buses rerouted via Kingsway",
        ),
        (
            "feeds/valley-courier.rdf.xml",
            "Millrace Bridge shut: your guide to getting across the Lathe",
        ),
    ],
    "estmark-rate-cut": [
        ("archive.jsonl", "Estmark rate cut: what it means for Pinecrest exporters"),
        (
            "feeds/harbor-city-ledger.rss.xml",
            "Estmark central bank trims rates for first time since 2024",
        ),
        ("feeds/meridian-wire.json", "Bank of Estmark cuts key rate to 3.50% as inflation cools"),
        (
            "feeds/northwind-dispatch.atom.xml",
            "Estmark lowers borrowing costs; mortgage holders set for relief",
        ),
        (
            "feeds/valley-courier.rdf.xml",
            "Bank of Estmark cuts key rate to 3.50% as inflation cools",
        ),
    ],
    "maritime-museum-reopens": [
        ("feeds/harbor-city-ledger.rss.xml", "Maritime museum reopens after three-year renovation"),
    ],
    "millbrook-library-sundays": [
        ("feeds/valley-courier.rdf.xml", "Millbrook library to open on Sundays from December"),
    ],
    "corran-ridge-snail": [
        (
            "feeds/meridian-wire.json",
            "Deep-sea expedition names new snail species from Corran Ridge vents",
        ),
    ],
    "skyloft-winter-routes": [
        ("archive.jsonl", "Skyloft Airways adds four winter routes from Granite Falls"),
    ],
    "carrow-ferry-timetable": [
        (
            "feeds/northwind-dispatch.atom.xml",
            "Isle of Carrow ferry timetable cut for winter months",
        ),
    ],
}

# event key -> outlets that reported it (the story's "also covered by" count is len - 1).
EVENT_OUTLETS: dict[str, tuple[str, ...]] = {
    "quake-calder-valley": (
        "Coastline Post",
        "Harbor City Ledger",
        "Meridian Wire",
        "Northwind Dispatch",
        "The Valley Courier",
    ),
    "quake-port-aldren": ("Coastline Post", "Granite State Tribune", "Meridian Wire"),
    "eastline-council-vote": (
        "Granite State Tribune",
        "Harbor City Ledger",
        "Northwind Dispatch",
        "Pinecrest Herald",
    ),
    "continental-cup-final": (
        "Coastline Post",
        "Harbor City Ledger",
        "Meridian Wire",
        "Pinecrest Herald",
        "The Valley Courier",
    ),
    "kettle-recall": ("Coastline Post", "Meridian Wire", "Northwind Dispatch", "Pinecrest Herald"),
    "tarravale-heatwave": ("Harbor City Ledger", "Northwind Dispatch", "The Valley Courier"),
    "lyra2-launch": (
        "Granite State Tribune",
        "Harbor City Ledger",
        "Meridian Wire",
        "Pinecrest Herald",
    ),
    "millrace-bridge-closure": (
        "Coastline Post",
        "Granite State Tribune",
        "Northwind Dispatch",
        "The Valley Courier",
    ),
    "estmark-rate-cut": (
        "Harbor City Ledger",
        "Meridian Wire",
        "Northwind Dispatch",
        "Pinecrest Herald",
    ),
    "maritime-museum-reopens": ("Harbor City Ledger",),
    "millbrook-library-sundays": ("The Valley Courier",),
    "corran-ridge-snail": ("Meridian Wire",),
    "skyloft-winter-routes": ("Granite State Tribune",),
    "carrow-ferry-timetable": ("Northwind Dispatch",),
}

# Look-alike events that clustering must keep apart: two earthquakes, two days
# and two regions apart (a 5.8 inland near Brennick, a 4.9 offshore near Port Aldren).
MUST_NOT_MERGE: list[tuple[str, str]] = [("quake-calder-valley", "quake-port-aldren")]

# Pairs of entries that identity must collapse into one stored article:
# the same Meridian Wire story syndicated with utm_ tracking parameters in its
# URL, and a Northwind Dispatch Atom entry whose id repeats (a later revision).
SAME_ARTICLE: list[tuple[tuple[str, str], tuple[str, str]]] = [
    (
        ("feeds/meridian-wire.json", "Bank of Estmark cuts key rate to 3.50% as inflation cools"),
        (
            "feeds/valley-courier.rdf.xml",
            "Bank of Estmark cuts key rate to 3.50% as inflation cools",
        ),
    ),
    (
        (
            "feeds/northwind-dispatch.atom.xml",
            "Old Millrace Bridge closed after inspectors find corroded hangers",
        ),
        (
            "feeds/northwind-dispatch.atom.xml",
            "Old Millrace Bridge closed indefinitely; buses rerouted via Kingsway",
        ),
    ),
]
