"""Shared by the occluder detectors' tests: the astronaut detected and cropped as a
reconstruction crops it."""
import pytest


@pytest.fixture(scope="session")
def astronaut_faces(astronaut_path):
    """pipeline.stages.Faces of the astronaut photo (default settings)."""
    from headsmith.pipeline import ReconstructSettings
    from headsmith.pipeline.stages import detect_faces, load_inputs

    s = ReconstructSettings()
    inputs = load_inputs([astronaut_path], s)
    return detect_faces(inputs.images, s, "cpu", lambda *a: None, inputs.model)
