"""The Turing test for a GAN (lecture notes seed 004), scored with the HYPE-infinity protocol (Zhou et al. 2019).

A round is a shuffled set of images, half real (distinct training images) and half generated (distinct
samples of one frozen generator); a person answers "real" or "fake" for each. HYPE-infinity is the error
rate over equal numbers of real and fake images: 0.5 means people cannot tell (chance), 0 means every image
was called right. It splits into the *fake error* (generated images taken for real: the ones that fooled)
and the *real error* (real images called fake).

- ``draw_items`` makes a round's images from a ``GeneratorView`` and real images;
- ``score`` scores one player's answers with a 95% Wilson interval over the images;
- ``ClassRound`` is a round a whole class votes on (lecture mode): the presenter opens one image at a time,
  each session's vote counts once, the answer is revealed when the presenter says so. It lives in a folder
  of the run (``<run folder>/turing/<round id>/``: ``round.json``, ``votes.json``, one PNG per image), written
  atomically after every change, so votes survive a restart.

No Streamlit here: ``ui/turing_view.py`` draws it.
"""
from __future__ import annotations

import hashlib
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

ANSWERS = ("real", "fake")
MIN_IMAGES, MAX_IMAGES = 4, 100  # per round, an even number (half real, half generated)
TURING_DIR = "turing"  # inside a run's folder
BOOTSTRAP = 2000  # resamples of the class's sessions for the class interval


@dataclass
class Item:
    id: str  # opaque and random: says nothing about the answer
    truth: str  # "real" or "fake"
    image: np.ndarray  # uint8 (H, W) or (H, W, 3)


def check_size(n: int) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or not MIN_IMAGES <= n <= MAX_IMAGES or n % 2:
        raise ValueError(f"images per round = {n!r}: it must be an even number in [{MIN_IMAGES}, {MAX_IMAGES}] "
                         "(half real, half generated)")
    return n


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) in [-1, 1] -> uint8 (B, H, W) for one channel, (B, H, W, 3) for three; real and generated
    images go through exactly this, so nothing but their content tells them apart."""
    x = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    x = x.permute(0, 2, 3, 1).numpy()
    return x[..., 0] if x.shape[-1] == 1 else x


def _distinct(images: np.ndarray, seen: set, want: int) -> list[np.ndarray]:
    out = []
    for im in images:
        key = hashlib.sha256(im.tobytes()).digest()
        if key not in seen:
            seen.add(key)
            out.append(im)
            if len(out) == want:
                break
    return out


def real_pool(data, n: int, seed: int) -> torch.Tensor:
    """Up to ``n`` distinct-index real training images (a seeded random subset; stacked MNIST builds its own
    reference stacks)."""
    ref = getattr(data, "reference", None)
    if ref is not None:
        return ref(n, seed)[0].cpu()
    images = getattr(data, "images", None)
    if images is None:
        raise ValueError("the Turing test needs image data: this run trains on points")
    idx = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]
    return images[idx.to(images.device)].cpu()


def draw_items(view, data, n: int, seed: int) -> list[Item]:
    """``n`` images for a round: n/2 real ones from ``data`` and n/2 samples of the frozen generator ``view``
    (random classes for a conditional one, random domain-A inputs for a translating one), every image
    different from every other (a collapsed generator's copies are skipped), in a seeded random order."""
    check_size(n)
    if not view.is_image:
        raise ValueError("the Turing test needs image data: this run trains on points")
    half = n // 2
    seen: set = set()
    real = _distinct(to_uint8(real_pool(data, 4 * half, seed)), seen, half)
    if len(real) < half:
        raise ValueError(f"the training set has only {len(real)} distinct images; a round of {n} needs {half}")
    gen = torch.Generator().manual_seed(seed + 1)
    fake: list[np.ndarray] = []
    for _ in range(8):  # a generator that makes the same image again and again gets a few tries
        z = view.inputs(2 * half, gen)
        y = torch.randint(0, view.num_classes, (2 * half,), generator=gen) if view.num_classes else None
        images = to_uint8(view.generate(z, y))
        if images.shape[1:] != real[0].shape:
            raise ValueError(f"generated images are {images.shape[1:]}, real ones {real[0].shape}: they cannot "
                             "be compared")
        fake += _distinct(images, seen, half - len(fake))
        if len(fake) == half:
            break
    if len(fake) < half:
        raise ValueError(f"the generator made only {len(fake)} different images in {16 * half} tries (mode "
                         f"collapse); a round of {n} needs {half}")
    items = [Item(secrets.token_hex(8), "real", im) for im in real] + [Item(secrets.token_hex(8), "fake", im)
                                                                          for im in fake]
    order = np.random.default_rng(seed + 2).permutation(len(items))
    return [items[i] for i in order]


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval (95% by default) for k successes in n trials; (0, 1) when n = 0."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def score(truths: list, answers: list) -> dict:
    """One player's round: HYPE-infinity (the error rate), its 95% Wilson interval, and the two kinds of
    error. ``answers`` may be shorter than ``truths`` (a round not finished): only answered images count."""
    pairs = [(t, a) for t, a in zip(truths, answers) if a in ANSWERS]
    n = len(pairs)
    fooled = sum(t == "fake" and a == "real" for t, a in pairs)  # generated, taken for real
    missed = sum(t == "real" and a == "fake" for t, a in pairs)  # real, called fake
    n_fake = sum(t == "fake" for t, _ in pairs)
    errors = fooled + missed
    lo, hi = wilson(errors, n)
    return {"n": n, "correct": n - errors, "errors": errors, "error_rate": errors / n if n else float("nan"),
            "ci": (lo, hi), "n_fake": n_fake, "n_real": n - n_fake, "fooled": fooled, "missed": missed,
            "fake_error": fooled / n_fake if n_fake else float("nan"),
            "real_error": missed / (n - n_fake) if n - n_fake else float("nan")}




def _read_png(path: Path) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("L" if im.mode in ("L", "1", "P") else "RGB"))


def voter_key(round_id: str, session_id: str) -> str:
    """What a vote is stored under: a hash of the session, never the session id itself."""
    return hashlib.sha256(f"{round_id}:{session_id}".encode()).hexdigest()[:20]


class ClassRound:
    """A round the whole class votes on, one image at a time, kept in ``folder``.

    States of the open image: voting (``revealed`` false) -> revealed (answer and tally shown to all; no more
    votes on it) -> the presenter moves on to the next image; after the last one the round is finished."""

    def __init__(self, folder: Path, meta: dict, items: list[Item], votes: dict):
        self.folder = Path(folder)
        self.meta = meta
        self.items = items
        self.votes = votes  # item id -> {voter key: answer}
        self._lock = threading.RLock()

    # ---- making, saving, loading -----------------------------------------------------------------------
    @classmethod
    def create(cls, run_folder: Path, items: list[Item], step: int, run_id: str) -> "ClassRound":
        from .checkpoint import atomic_write
        from .viz import png_bytes
        round_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        folder = Path(run_folder) / TURING_DIR / round_id
        for it in items:
            atomic_write(folder / f"{it.id}.png", png_bytes(it.image))
        meta = {"round_id": round_id, "run_id": run_id, "step": int(step), "created": time.time(),
                "items": [{"id": it.id, "truth": it.truth} for it in items], "current": 0, "revealed": False,
                "finished": False}
        r = cls(folder, meta, items, {it.id: {} for it in items})
        r._save()
        return r

    def _save(self) -> None:
        from .checkpoint import atomic_write
        atomic_write(self.folder / "votes.json", json.dumps(self.votes).encode())
        atomic_write(self.folder / "round.json", json.dumps(self.meta, indent=1).encode())

    @classmethod
    def load(cls, folder: Path) -> "ClassRound":
        folder = Path(folder)
        meta = json.loads((folder / "round.json").read_text())
        votes_file = folder / "votes.json"
        votes = json.loads(votes_file.read_text()) if votes_file.is_file() else {}
        items = []
        for entry in meta["items"]:
            if entry["truth"] not in ANSWERS or not all(c in "0123456789abcdef" for c in entry["id"]):
                raise ValueError(f"{folder / 'round.json'} is not a Turing round written by this app")
            items.append(Item(entry["id"], entry["truth"], _read_png(folder / f"{entry['id']}.png")))
            votes.setdefault(entry["id"], {})
        return cls(folder, meta, items, votes)

    @staticmethod
    def newest(run_folder: Optional[Path]) -> Optional["ClassRound"]:
        """The newest round saved in a run's folder (None when there is none or it cannot be read)."""
        if run_folder is None:
            return None
        root = Path(run_folder) / TURING_DIR
        if not root.is_dir() or root.is_symlink():
            return None
        for folder in sorted((p for p in root.iterdir() if (p / "round.json").is_file()), reverse=True):
            try:
                return ClassRound.load(folder)
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return None

    # ---- reading -----------------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.meta["round_id"]

    @property
    def index(self) -> int:
        return int(self.meta["current"])

    @property
    def revealed(self) -> bool:
        return bool(self.meta["revealed"])

    @property
    def finished(self) -> bool:
        return bool(self.meta["finished"])

    def current(self) -> Item:
        return self.items[min(self.index, len(self.items) - 1)]

    def vote_of(self, item_id: str, session_id: str) -> Optional[str]:
        with self._lock:
            return self.votes.get(item_id, {}).get(voter_key(self.id, session_id))

    def tally(self, i: int) -> dict:
        """Votes on image ``i``: how many said real and fake, and the fool rate (the share that was wrong)."""
        item = self.items[i]
        with self._lock:
            answers = list(self.votes.get(item.id, {}).values())
        real, fake = answers.count("real"), answers.count("fake")
        wrong = real if item.truth == "fake" else fake
        n = real + fake
        return {"real": real, "fake": fake, "n": n, "wrong": wrong, "fool_rate": wrong / n if n else float("nan")}

    def totals(self, upto: Optional[int] = None) -> dict:
        """The class's error rate over images [0, upto) (default: the revealed ones), with a 95% interval
        from resampling the voting sessions (a session's votes stay together: people differ)."""
        if upto is None:
            upto = self.index + (1 if self.revealed else 0)
        table: dict = {}  # voter -> [wrong, answered]
        fooled = fake_votes = 0
        with self._lock:
            items = self.items[:upto]
            for it in items:
                for voter, answer in self.votes.get(it.id, {}).items():
                    row = table.setdefault(voter, [0, 0])
                    row[0] += answer != it.truth
                    row[1] += 1
                    if it.truth == "fake":
                        fake_votes += 1
                        fooled += answer == "real"
        rows = np.array(list(table.values()), dtype=np.float64).reshape(-1, 2)
        wrong, n = rows[:, 0].sum(), rows[:, 1].sum()
        out = {"images": len(items), "voters": len(rows), "votes": int(n), "wrong": int(wrong),
               "error_rate": wrong / n if n else float("nan"), "ci": (float("nan"), float("nan")),
               "fake_error": fooled / fake_votes if fake_votes else float("nan")}
        if len(rows) >= 2:
            rng = np.random.default_rng(0)
            pick = rng.integers(0, len(rows), (BOOTSTRAP, len(rows)))
            rates = rows[pick, 0].sum(1) / np.maximum(rows[pick, 1].sum(1), 1)
            out["ci"] = (float(np.quantile(rates, 0.025)), float(np.quantile(rates, 0.975)))
        elif len(rows) == 1:
            out["ci"] = wilson(int(wrong), int(n))
        return out

    # ---- changing ----------------------------------------------------------------------------------------
    def vote(self, item_id: str, session_id: str, answer: str) -> str:
        """Count one session's answer on the open image. Returns "counted", or why not: "already" (this
        session voted on it), "closed" (revealed, finished, or not the open image), "bad" (not an answer)."""
        if answer not in ANSWERS:
            return "bad"
        with self._lock:
            if self.finished or self.revealed or item_id != self.current().id:
                return "closed"
            box = self.votes.setdefault(item_id, {})
            key = voter_key(self.id, session_id)
            if key in box:
                return "already"
            box[key] = answer
            self._save()
            return "counted"

    def reveal(self) -> None:
        with self._lock:
            if not self.finished:
                self.meta["revealed"] = True
                self._save()

    def next(self) -> None:
        """Move on from a revealed image (reveals it first if it was not); after the last one, finish."""
        with self._lock:
            if self.finished:
                return
            if self.index + 1 >= len(self.items):
                self.meta.update(revealed=True, finished=True)
            else:
                self.meta.update(current=self.index + 1, revealed=False)
            self._save()

    def finish(self) -> None:
        with self._lock:
            self.meta.update(revealed=True, finished=True)
            self._save()
