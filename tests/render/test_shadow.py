"""Shadows of a directional light: a plate under a smaller plate, lit from straight above and
from 45 degrees; the shadow is where geometry says it is."""
import math

import pytest
import torch

from headsmith.render.shadow import light_visibility, rotation_to_z


def _plates():
    """A 0.2 m plate at z = 0 and a 0.04 m one 0.05 m above its centre, both facing +z."""
    def quad(half, z):
        return torch.tensor([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]])
    vertices = torch.cat([quad(0.1, 0.0), quad(0.02, 0.05)])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    return vertices, faces


def _visible(points, direction):
    v, f = _plates()
    pts = torch.tensor(points, dtype=torch.float32)
    normals = torch.tensor([[0.0, 0.0, 1.0]]).expand(len(points), 3)
    return light_visibility(v, f, pts, normals, torch.tensor(direction, dtype=torch.float32), size=256)


def test_a_light_from_above_shadows_the_plate_under_the_small_one():
    vis = _visible([[0.0, 0.0, 0.0], [0.01, -0.01, 0.0], [0.05, 0.0, 0.0], [-0.06, 0.07, 0.0]], [0.0, 0.0, 1.0])
    assert vis.tolist() == [0.0, 0.0, 1.0, 1.0]


def test_a_slanted_light_moves_the_shadow_by_the_height():
    # towards the light = +x and +z at 45 degrees: the shadow falls 0.05 m towards -x
    d = [math.sqrt(0.5), 0.0, math.sqrt(0.5)]
    vis = _visible([[0.0, 0.0, 0.0], [-0.05, 0.0, 0.0], [-0.05, 0.015, 0.0], [0.05, 0.0, 0.0]], d)
    assert vis.tolist() == [1.0, 0.0, 0.0, 1.0]


def test_the_small_plate_itself_is_lit():
    vis = _visible([[0.0, 0.0, 0.05], [0.01, 0.01, 0.05]], [0.3, 0.2, 0.93])
    assert vis.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("d", [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [0.6, -0.48, 0.64], [1.0, 0.0, 0.0]])
def test_rotation_to_z_takes_the_direction_to_z(d):
    d = torch.tensor(d)
    R = rotation_to_z(d)
    assert torch.allclose(R @ d, torch.tensor([0.0, 0.0, 1.0]), atol=1e-6)
    assert torch.allclose(R @ R.T, torch.eye(3), atol=1e-6)
