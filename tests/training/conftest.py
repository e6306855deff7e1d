"""Shared by the encoder trainings' tests: a synthetic folder of people with known parameters
(made once per session) and a way to run `headsmith-train` in-process."""
import pytest


@pytest.fixture(scope="session")
def people(tmp_path_factory):
    """8 people x 3 photos, 160 px, with known identity, pose, expression and detail code."""
    from headsmith_training.synthetic_faces import make_synthetic_folder

    root = tmp_path_factory.mktemp("people")
    make_synthetic_folder(root, people=8, per_person=3, size=160, seed=1)
    return root


@pytest.fixture
def run_cli(capsys):
    """run_cli([args]) -> (exit code, captured stdout/stderr) of `headsmith-train args`."""
    from headsmith_training import cli

    def run(args):
        code = cli.main(args)
        return code, capsys.readouterr()

    return run
