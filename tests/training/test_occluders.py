"""Occluders drawn over a landmarker's training crops (training/occluders.py): where each kind
lands on the face, that the targets stay the true points, and that a share of 0 leaves a run's
random draws as they were."""
import cv2
import numpy as np
import pytest

from headsmith_training.occluders import BROWS, CHIN, EYE_CORNERS, draw_glasses, draw_object, draw_strands, occlude
from headsmith_training.train_landmarks import frame_rois, load_renders, make_batch

JITTER = {"shift": 0.0, "scale": 0.0, "angle": 0.0}


@pytest.fixture(scope="module")
def crop_and_points(tmp_path_factory):
    """One render framed as the product frames it: (256, 256, 3) uint8 and its 468 true points."""
    from headsmith_training.landmark_renders import make_renders

    root = tmp_path_factory.mktemp("occluder_renders")
    make_renders(root, people=2, per_person=2, size=320, seed=5, log=lambda *a: None)
    data = load_renders(root)
    rois = frame_rois(data["images"], data["points"])
    x, y = make_batch(data, rois, np.array([0]), None, {})
    return (x[0].numpy() * 255).astype(np.uint8), y[0].numpy(), data, rois


def _changed(a, b):
    return np.abs(a.astype(int) - b.astype(int)).max(-1) > 8


def test_glasses_rim_the_eyes_and_leave_the_chin(crop_and_points):
    crop, pts, _, _ = crop_and_points
    r = int(0.45 * np.linalg.norm(pts[33] - pts[263]))     # the outer eye corners
    for seed in range(6):
        changed = _changed(draw_glasses(crop, pts, np.random.default_rng(seed)), crop)
        for a, b in EYE_CORNERS:
            c = np.round((pts[a] + pts[b]) / 2).astype(int)
            assert changed[c[1] - r:c[1] + r, c[0] - r:c[0] + r].any(), (seed, a)
        chin = np.round(pts[CHIN]).astype(int)
        assert not changed[chin[1] - 3:chin[1] + 3, chin[0] - 3:chin[0] + 3].any(), seed


def test_strands_start_above_the_brows(crop_and_points):
    crop, pts, _, _ = crop_and_points
    for seed in range(6):
        rows = np.nonzero(_changed(draw_strands(crop, pts, np.random.default_rng(seed)), crop).any(1))[0]
        assert rows.size and rows.min() < pts[list(BROWS), 1].min(), seed


def test_an_object_enters_from_the_crops_edge(crop_and_points):
    crop, pts, _, _ = crop_and_points
    for seed in range(6):
        changed = _changed(draw_object(crop, pts, np.random.default_rng(seed)), crop).astype(np.uint8)
        n, labels = cv2.connectedComponents(changed)
        assert n > 1, seed
        sizes = np.bincount(labels.ravel())[1:]
        big = labels == 1 + sizes.argmax()
        S = crop.shape[0]
        # the largest blob reaches the crop's lower or side edge, or comes within a tenth of it
        m = S // 10
        assert big[-m:].any() or big[:, :m].any() or big[:, -m:].any(), seed


def test_a_share_of_zero_draws_nothing_and_takes_no_random_numbers(crop_and_points):
    crop, pts, _, _ = crop_and_points
    a, b = np.random.default_rng(1), np.random.default_rng(1)
    assert occlude(crop, pts, a, 0.0) is crop
    assert a.random() == b.random()


def test_occluded_batches_keep_the_true_points(crop_and_points):
    _, _, data, rois = crop_and_points
    idx = np.arange(4)
    rngs = lambda: [np.random.default_rng(k) for k in range(4)]   # noqa: E731
    x0, y0 = make_batch(data, rois, idx, rngs(), JITTER, 0.0)
    x1, y1 = make_batch(data, rois, idx, rngs(), JITTER, 1.0)
    assert np.array_equal(y0.numpy(), y1.numpy())
    # without occluders, a batch is drawn exactly as before the option existed
    assert np.array_equal(x0.numpy(), make_batch(data, rois, idx, rngs(), JITTER)[0].numpy())
