"""wrinkles.png shows the dynamic part alone first: flat at neutral, furrows on the forehead for
brows up; then the live and baked maps."""
import numpy as np
import torch

from headsmith.detail.person import PERSON_PRIOR
from headsmith.pictures.wrinkles import picture_expressions
from headsmith.pipeline.avatar_bundle import wrinkle_files
from headsmith.wrinkles.sources import openhead_decoder
from headsmith.wrinkles.texture_decoder import CODE_DIM


def test_dynamic_part_is_flat_at_neutral_and_shows_brows_up(openhead):
    code = np.zeros(CODE_DIM, np.float32)
    code[:len(PERSON_PRIOR)] = PERSON_PRIOR
    files, _ = wrinkle_files(openhead, openhead_decoder(openhead.n_expression), code, None,
                             torch.zeros(1, openhead.n_shape))
    pic = files.picture
    names = list(picture_expressions(openhead))
    h, w = pic.shape[0] // len(names), pic.shape[1] // 6
    tile = lambda name, col: pic[names.index(name) * h:(names.index(name) + 1) * h, col * w:(col + 1) * w]  # noqa: E731
    body = slice(16, None)                                    # below the label
    neutral = tile("neutral", 0)[body]
    assert np.abs(neutral.astype(int) - 128).max() <= 1       # D - D neutral is zero at neutral
    brows = tile("brows_up", 0)[body].astype(float)
    top = brows[: brows.shape[0] // 3]                        # the forehead (the crop is upright)
    assert top.std() > 3 * max(brows[2 * brows.shape[0] // 3:].std(), 0.5)
