"""A synthetic media library for the sync benchmark, the same for every seed and size.

Shows (show / season / episodes) and movies (one folder each), every video with an
`.nfo`, some with posters, thumbs and subtitles, a few `.txt` files that a sync must
ignore, and a share of names with CJK, spaces, `# % ? & + ;` and emoji. Planning is pure
(`plan_library`), so the benchmark can recompute the same plan without touching the disk.
"""

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

SHOW_SHARE = 0.7
EPISODES_PER_SEASON = (8, 13)
SEASONS_PER_SHOW = (1, 6)
AWKWARD_SHARE = 0.3

ASCII_WORDS = ("Blue", "Night", "River", "Station", "Empire", "Garden", "Echo", "Winter",
               "Signal", "Harbor", "Lost", "Silver", "Paper", "Crown", "North", "Glass",
               "Orbit", "Falcon", "Hollow", "Summer")
CJK_WORDS = ("进击的巨人", "千と千尋の神隠し", "名侦探柯南", "기생충", "流浪地球", "鬼滅の刃",
             "三体", "海贼王", "灌篮高手", "東京物語")
PUNCT_WORDS = ("#1", "100%", "Why?", "Tom & Jerry", "C++", "Rock; Roll", "50% Off", "Q&A",
               "A+B", "#tag", "%20literal", "What?!", "a=b&c=d")
EMOJI_WORDS = ("🎬", "🚀", "🐉", "👨‍👩‍👧", "❤️", "🍣")
VIDEO_EXTS = (("mkv", 60), ("mp4", 25), ("avi", 4), ("ts", 5), ("MKV", 3), ("m2ts", 3))
SUBTITLE_TAGS = ("zh-CN", "en", "ja")
JUNK_NAMES = ("RARBG.txt", "下载说明.txt", "sample notes.txt")

VIDEO_BYTES = b"\x1a\x45\xdf\xa3 tiny stand-in for a video"
POSTER_BYTES = bytes(range(256)) * 16  # 4 KiB; a poster is a slice of it
SUBTITLE_BYTES = "1\n00:00:01,000 --> 00:00:03,000\n字幕 subtitle line\n".encode()


@dataclass(frozen=True)
class Video:
    """One video of the plan: its source path and the names of its own sidecar files."""

    rel: str
    sidecars: tuple


@dataclass
class Library:
    """What a plan holds: its videos and how many files of each kind it writes."""

    n: int
    seed: int
    bare: bool = False  # videos only: no metadata, no extras (what the C floor handles)
    videos: list = field(default_factory=list)
    meta_files: int = 0
    other_files: int = 0
    folders: int = 0

    @property
    def files(self) -> int:
        """Every file the plan writes: videos, metadata and ignored extras."""
        return len(self.videos) + self.meta_files + self.other_files

    def stats(self) -> dict:
        """The sizes, JSON-ready."""
        return {"videos": len(self.videos), "bare": self.bare, "meta_files": self.meta_files,
                "other_files": self.other_files, "files": self.files, "folders": self.folders}


@dataclass(frozen=True)
class Change:
    """A ~1% change of a library: renamed files (videos with their sidecars) and new files."""

    renames: tuple  # (old_rel, new_rel) for videos and their sidecars
    adds: tuple  # (rel, bytes)
    videos_renamed: int
    sidecars_renamed: int
    videos_added: int
    meta_added: int


class _Names:
    """Draws titles from the word pools, a share of them awkward, never the same twice."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set = set()

    def words(self, count: int) -> str:
        """A few words; with AWKWARD_SHARE odds one comes from a CJK, punctuation or emoji pool."""
        words = [self.rng.choice(ASCII_WORDS) for _ in range(count)]
        if self.rng.random() < AWKWARD_SHARE:
            pool = self.rng.choice((CJK_WORDS, CJK_WORDS, PUNCT_WORDS, PUNCT_WORDS, EMOJI_WORDS))
            words.insert(self.rng.randrange(len(words) + 1), self.rng.choice(pool))
        return " ".join(words)

    def title(self) -> str:
        """A unique show or movie title."""
        title = self.words(self.rng.randint(1, 3))
        while title in self.used:
            title = f"{title} {self.rng.randint(2, 99)}"
        self.used.add(title)
        return title


def plan_library(n: int, seed: int = 0, bare: bool = False) -> tuple[Library, Iterator[tuple]]:
    """The library of `n` videos: its summary and an iterator of `(rel, bytes)` to write.

    The summary is complete only once the iterator is exhausted. A `bare` library has the
    same videos in the same folders and nothing else.
    """
    library = Library(n, seed, bare)
    return library, _files(library, random.Random(seed))


def plan_in_folders(n: int, folders: int, seed: int = 0) -> tuple[Library, Iterator[tuple]]:
    """`n` videos with sidecars as in `plan_library`, in a tree of about `folders` folders.

    The root, `shows`, a folder per show (one in eleven folders) and season folders that
    share the videos evenly (each holds one at least, so a small `n` makes fewer folders).
    For a mount's benchmark, where each folder listed costs a round trip.
    """
    library = Library(n, seed)
    return library, _in_folders(library, random.Random(seed), max(4, folders))


def _in_folders(library: Library, rng: random.Random, folders: int) -> Iterator[tuple]:
    names = _Names(rng)
    seasons = max(1, min(folders - 2 - max(1, (folders - 2) // 11), library.n))
    shows = max(1, min((folders - 2) // 11, seasons))
    library.folders = 2 + shows + seasons
    titles = [names.title() for _ in range(shows)]
    for title in titles:
        yield from _folder_meta(library, rng, f"shows/{title}", title,
                                ("tvshow.nfo", "poster.jpg"), count=False)
    for season in range(seasons):
        title, number = titles[season % shows], season // shows + 1
        folder = f"shows/{title}/Season {number:02d}"
        for episode in range(1, library.n // seasons + (season < library.n % seasons) + 1):
            stem = f"{title} - S{number:02d}E{episode:02d} - {names.words(rng.randint(1, 3))}"
            yield from _video(library, rng, folder, stem, thumb_odds=0.2)


def _files(library: Library, rng: random.Random) -> Iterator[tuple]:
    names = _Names(rng)
    shows = round(library.n * SHOW_SHARE)
    while len(library.videos) < shows:
        yield from _show(library, rng, names, shows - len(library.videos))
    while len(library.videos) < library.n:
        yield from _movie(library, rng, names)


def _show(library: Library, rng: random.Random, names: _Names, room: int) -> Iterator[tuple]:
    title = names.title()
    top = f"shows/{title}"
    yield from _folder_meta(library, rng, top, title, ("tvshow.nfo", "poster.jpg", "fanart.jpg"))
    for season in range(1, rng.randint(*SEASONS_PER_SHOW) + 1):
        episodes = min(rng.randint(*EPISODES_PER_SEASON), room)
        if episodes <= 0:
            return
        room -= episodes
        folder = f"{top}/Season {season:02d}"
        library.folders += 1
        if rng.random() < 0.5:
            yield from _folder_meta(library, rng, folder, title, ("poster.jpg",), count=False)
        for episode in range(1, episodes + 1):
            stem = f"{title} - S{season:02d}E{episode:02d} - {names.words(rng.randint(1, 3))}"
            yield from _video(library, rng, folder, stem, thumb_odds=0.2)
        yield from _junk(library, rng, folder)


def _movie(library: Library, rng: random.Random, names: _Names) -> Iterator[tuple]:
    title = f"{names.title()} ({rng.randint(1950, 2025)})"
    folder = f"movies/{title[0].upper() if title[0].isascii() else '#'}/{title}"
    yield from _folder_meta(library, rng, folder, title, ("poster.jpg",))
    if rng.random() < 0.5:
        yield from _folder_meta(library, rng, folder, title, ("fanart.jpg",), count=False)
    yield from _video(library, rng, folder, title, thumb_odds=0.0)
    yield from _junk(library, rng, folder)


def _folder_meta(library: Library, rng: random.Random, folder: str, title: str, names: tuple,
                 count: bool = True) -> Iterator[tuple]:
    if count:
        library.folders += 1
    if library.bare:
        return
    for name in names:
        library.meta_files += 1
        if name.endswith(".nfo"):
            yield f"{folder}/{name}", _nfo(title)
        else:
            yield f"{folder}/{name}", POSTER_BYTES[: rng.randint(512, len(POSTER_BYTES))]


def _video(library: Library, rng: random.Random, folder: str, stem: str,
           thumb_odds: float) -> Iterator[tuple]:
    ext = rng.choices([e for e, _ in VIDEO_EXTS], [w for _, w in VIDEO_EXTS])[0]
    sidecars = [(f"{stem}.nfo", _nfo(stem))]
    if rng.random() < 0.4:
        sidecars.append((f"{stem}.{rng.choice(SUBTITLE_TAGS)}.srt", SUBTITLE_BYTES))
    if rng.random() < thumb_odds:
        sidecars.append((f"{stem}-thumb.jpg", POSTER_BYTES[:1024]))
    if library.bare:
        sidecars = []
    library.videos.append(Video(f"{folder}/{stem}.{ext}", tuple(name for name, _ in sidecars)))
    library.meta_files += len(sidecars)
    yield f"{folder}/{stem}.{ext}", VIDEO_BYTES
    for name, data in sidecars:
        yield f"{folder}/{name}", data


def _junk(library: Library, rng: random.Random, folder: str) -> Iterator[tuple]:
    if rng.random() < 0.05 and not library.bare:
        library.other_files += 1
        yield f"{folder}/{rng.choice(JUNK_NAMES)}", b"not media: a sync must ignore this\n"


def _nfo(title: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<movie>\n  <title>{title}</title>\n'
            f"  <plot>Synthetic entry for the strmsync benchmark.</plot>\n</movie>\n").encode()


def write_library(root: str, n: int, seed: int = 0, folders: int | None = None,
                  bare: bool = False) -> Library:
    """Write the library of `n` videos under `root` (which must not exist yet); with
    `folders`, the one of `plan_in_folders`; `bare`, videos only."""
    os.makedirs(root)
    library, files = (plan_in_folders(n, folders, seed) if folders
                      else plan_library(n, seed, bare))
    made: set = set()
    for rel, data in files:
        folder = os.path.dirname(rel)
        if folder not in made:
            os.makedirs(os.path.join(root, folder), exist_ok=True)
            made.add(folder)
        with open(os.path.join(root, rel), "wb") as fh:
            fh.write(data)
    return library


def plan_change(library: Library, share: float = 0.01, seed: int = 1) -> Change:
    """Rename half the `share` of videos (with their sidecars) and add the other half."""
    rng = random.Random(seed)
    half = max(1, round(len(library.videos) * share / 2))
    picked = rng.sample(library.videos, 2 * half)
    renames = []
    for video in picked[:half]:
        renames.extend(_renamed(video, " [v2]"))
    adds = []
    for video in picked[half:]:
        folder, name = video.rel.rsplit("/", 1)
        stem, ext = name.rsplit(".", 1)
        new_stem = f"{stem} (Extended Cut #2 & más)"
        adds.append((f"{folder}/{new_stem}.{ext}", VIDEO_BYTES))
        if not library.bare:
            adds.append((f"{folder}/{new_stem}.nfo", _nfo(new_stem)))
    sidecars = sum(len(video.sidecars) for video in picked[:half])
    return Change(tuple(renames), tuple(adds), half, sidecars, half, 0 if library.bare else half)


def _renamed(video: Video, suffix: str) -> list:
    folder, name = video.rel.rsplit("/", 1)
    stem = name.rsplit(".", 1)[0]
    pairs = [(video.rel, f"{folder}/{stem}{suffix}{name[len(stem):]}")]
    for sidecar in video.sidecars:
        pairs.append((f"{folder}/{sidecar}", f"{folder}/{stem}{suffix}{sidecar[len(stem):]}"))
    return pairs


def apply_change(root: str, change: Change) -> None:
    """Make the change on disk."""
    for old, new in change.renames:
        os.rename(os.path.join(root, old), os.path.join(root, new))
    for rel, data in change.adds:
        with open(os.path.join(root, rel), "xb") as fh:
            fh.write(data)


def revert_change(root: str, change: Change) -> None:
    """Undo `apply_change`, leaving the library as it was planned."""
    for rel, _ in change.adds:
        os.unlink(os.path.join(root, rel))
    for old, new in reversed(change.renames):
        os.rename(os.path.join(root, new), os.path.join(root, old))
