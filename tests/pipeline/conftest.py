import pytest
from PIL import Image


@pytest.fixture(scope="session")
def astronaut_path(tmp_path_factory):
    import skimage.data

    p = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(p)
    return p


@pytest.fixture(scope="session")
def fast_bundle(tmp_path_factory, astronaut_path):
    from headsmith.cli import main

    out = tmp_path_factory.mktemp("bundles") / "astronaut"
    assert main(["reconstruct", str(astronaut_path), "-o", str(out), "--quality", "fast"]) == 0
    return out
