import cv2
import numpy as np
import pytest

from headsmith.cli import main


def test_demo_writes_the_contact_sheet(tmp_path):
    out = tmp_path / "demo" / "openhead.png"
    assert main(["demo", "-o", str(out), "--size", "160", "--no-reconstruct"]) == 0
    img = cv2.imread(str(out))
    assert img.shape == (2 * 160, 5 * 160, 3)
    tiles = [img[r * 160:(r + 1) * 160, c * 160:(c + 1) * 160] for r in range(2) for c in range(5)]
    # every tile shows a head (not just the grey background) and they differ from each other
    for t in tiles:
        assert (np.abs(t.astype(int) - t[2, 150].astype(int)).sum(-1) > 30).mean() > 0.15
    assert np.abs(tiles[0].astype(int) - tiles[1].astype(int)).mean() > 0.5


def test_demo_keeps_an_existing_sheet_when_rendering_fails(tmp_path, monkeypatch):
    out = tmp_path / "openhead.png"
    out.write_bytes(b"previous result")
    import headsmith.pictures.contact_sheet as cs

    def boom(*a, **k):
        raise RuntimeError("render failed")

    monkeypatch.setattr(cs, "contact_sheet", boom)
    with pytest.raises(RuntimeError, match="render failed"):
        main(["demo", "-o", str(out), "--no-reconstruct"])
    assert out.read_bytes() == b"previous result"


def test_demo_rejects_a_bad_size(tmp_path, capsys):
    out = tmp_path / "openhead.png"
    assert main(["demo", "-o", str(out), "--size", "10"]) == 2
    assert "between 64 and 2048" in capsys.readouterr().err
    assert not out.exists()
