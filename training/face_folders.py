"""Identity-grouped photo folders (VGGFace2's layout: ROOT/PERSON/*.jpg) and the landmark cache the
encoders train from.

The cache is made once per folder (dense landmarks are the slow part): each readable photo's
largest face, found by MediaPipe's mesh, cropped as the reconstruction crops (detect.crop_face,
framed by the point set's box) to SIZE pixels, with its 478 points in crop pixels. Files that
cannot be read or show no face are skipped and listed in the cache's report; people left with
fewer than `min_images` photos are dropped (DECA's batches take several photos of one person).
Arrays: crops (N, S, S, 3) uint8 sRGB; landmarks (N, 478, 2) crop pixels (x right, y down);
seen (N, 478) bool (the point lies inside the photo); person (N,) int; people (P,) names;
paths (N,) relative to the root."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class DataError(ValueError):
    """The training data cannot be used; the message says why and what to do."""


def scan_people(root: Path, min_images: int) -> tuple[dict[str, list[Path]], list[str]]:
    """-> ({person: [photo paths]} of every sub-folder of root with at least min_images image files
    (by suffix), sorted; the people with fewer). DataError for a missing or empty root, or one
    with no such person."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder; give a folder of people, one sub-folder each "
                        "(ROOT/PERSON/*.jpg, as VGGFace2)")
    people = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if files:
            people[d.name] = files
    if not people:
        raise DataError(f"{root}: no photos found; the layout is ROOT/PERSON/*.jpg (one sub-folder per "
                        f"person, {', '.join(IMAGE_SUFFIXES)})")
    kept = {k: v for k, v in people.items() if len(v) >= min_images}
    if not kept:
        raise DataError(f"{root}: no person has {min_images} or more photos ({len(people)} people, at most "
                        f"{max(len(v) for v in people.values())} each); the encoders learn from several "
                        "photos of one person per batch: add photos, or lower images_per_person in the config")
    return kept, sorted(set(people) - set(kept))


@dataclass
class FaceCache:
    crops: np.ndarray
    landmarks: np.ndarray
    seen: np.ndarray
    person: np.ndarray
    people: list[str]
    paths: list[str]
    report: dict

    def images_of(self, p: int) -> np.ndarray:
        return np.nonzero(self.person == p)[0]


def build_cache(root: Path, out: Path, size: int, min_images: int, log=print, detector=None) -> FaceCache:
    """Detect, crop and store every photo of `root` (see the module's docstring) into `out` (.npz,
    written atomically, with `out`.json the report of skipped files). A progress bar on stderr."""
    from tqdm import tqdm

    from headsmith.detect import make_detector
    from headsmith.detect.crop import crop_face
    from headsmith.detect.point_sets import POINT_SETS
    from headsmith.imageio.load import ImageLoadError, load_photo

    people, too_few = scan_people(root, min_images)
    det = detector or make_detector("mediapipe")
    box = POINT_SETS[det.point_set].box
    rows, skipped = {k: [] for k in ("crops", "landmarks", "seen", "person", "paths")}, []
    files = [(name, f) for name, fs in people.items() for f in fs]
    for name, f in tqdm(files, desc="landmarks", unit="photo", mininterval=2.0):
        try:
            img = load_photo(f).rgb
        except ImageLoadError as e:
            skipped.append({"path": str(f.relative_to(root)), "why": str(e).split(": ", 1)[-1]})
            continue
        faces = det.detect(img)
        if not faces:
            skipped.append({"path": str(f.relative_to(root)), "why": "no face found"})
            continue
        pts = faces[0].points
        h, w = img.shape[:2]
        crop = crop_face(img, pts, size, box=box)
        rows["crops"].append(crop.image)
        rows["landmarks"].append(crop.landmarks.astype(np.float32))
        rows["seen"].append((pts >= 0).all(1) & (pts[:, 0] < w) & (pts[:, 1] < h))
        rows["person"].append(name)
        rows["paths"].append(str(f.relative_to(root)))
    return _kept_and_saved(rows, skipped, too_few, min_images, root, out, log)


def _kept_and_saved(rows: dict, skipped: list, too_few: list, min_images: int, root: Path, out: Path,
                    log) -> FaceCache:
    """Drop the people left with too few usable photos, write the cache and its report."""
    counts = {p: rows["person"].count(p) for p in set(rows["person"])}
    people = sorted(p for p, c in counts.items() if c >= min_images)
    dropped = sorted(too_few + [p for p, c in counts.items() if c < min_images])
    keep = [i for i, p in enumerate(rows["person"]) if p in people]
    if not keep:
        raise DataError(f"{root}: after skipping {len(skipped)} unusable photo(s), no person has {min_images} "
                        "usable photos (see the list above); add photos where the face is visible")
    report = {"root": str(root), "photos": len(keep), "people": len(people), "skipped": skipped,
              "people_dropped_for_too_few_photos": dropped, "images_per_person_min": min_images}
    cache = FaceCache(np.stack([rows["crops"][i] for i in keep]), np.stack([rows["landmarks"][i] for i in keep]),
                      np.stack([rows["seen"][i] for i in keep]),
                      np.array([people.index(rows["person"][i]) for i in keep]), people,
                      [rows["paths"][i] for i in keep], report)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.npz")
    np.savez(tmp, crops=cache.crops, landmarks=cache.landmarks, seen=cache.seen, person=cache.person,
             people=np.array(people), paths=np.array(cache.paths))
    tmp.replace(out)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    for s in skipped:
        log(f"skipped {s['path']}: {s['why']}")
    if dropped:
        log(f"dropped {len(dropped)} people with fewer than {min_images} usable photos: {', '.join(dropped[:10])}")
    log(f"cache: {len(keep)} photos of {len(people)} people -> {out}")
    return cache


def load_cache(path: Path) -> FaceCache:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    report = json.loads(Path(path).with_suffix(".json").read_text())
    return FaceCache(arrays["crops"], arrays["landmarks"], arrays["seen"], arrays["person"],
                     [str(p) for p in arrays["people"]], [str(p) for p in arrays["paths"]], report)
