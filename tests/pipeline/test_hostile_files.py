"""A FLAME, landmark or mask file that tries to run code when unpickled is refused: no code runs,
the CLI says which file with exit 2 (no traceback), and the service answers 422 before it queues
a job (issue 18, finding 2)."""
import os
import pickle

import numpy as np
import pytest

from headsmith.cli import main


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _hostile(kind, path, marker):
    if kind == "npy":
        arr = np.empty((), dtype=object)
        arr[()] = _RunsCode(marker)
        with open(path, "wb") as f:
            np.save(f, arr, allow_pickle=True)
    else:
        path.write_bytes(pickle.dumps(_RunsCode(marker)))
    return str(path)


CASES = {"flame_path": ("pkl", "generic_model.pkl"), "flame_landmarks": ("npy", "landmark_embedding.npy"),
         "flame_masks": ("pkl", "FLAME_masks.pkl")}
FLAGS = {"flame_path": "--flame", "flame_landmarks": "--flame-landmarks", "flame_uv": "--flame-uv",
         "flame_masks": "--flame-masks"}


@pytest.mark.parametrize("key", list(CASES))
def test_the_cli_refuses_a_hostile_file(key, tmp_path, capsys, astronaut_path, flame_standin):
    marker = tmp_path / "code-ran"
    files = {k: flame_standin[k] for k in FLAGS}
    files[key] = _hostile(CASES[key][0], tmp_path / CASES[key][1], marker)
    args = ["reconstruct", str(astronaut_path), "-o", str(tmp_path / "out"), "--quality", "fast", "--model", "flame"]
    for k, flag in FLAGS.items():
        args += [flag, files[k]]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert CASES[key][1] in err and "refused" in err and "Traceback" not in err, err
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_the_service_refuses_a_hostile_file_before_queueing(tmp_path, astronaut_path, flame_standin):
    from headsmith.service import ServiceSettings
    from headsmith.service.local import serve_in_thread

    import httpx

    marker = tmp_path / "code-ran"
    s = ServiceSettings(jobs_root=tmp_path / "jobs")
    with serve_in_thread(s) as port:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {s.token}"},
                              timeout=60, trust_env=False)
        form = {k: flame_standin[k] for k in FLAGS}
        form["flame_path"] = _hostile("pkl", tmp_path / "generic_model.pkl", marker)
        r = client.post("/reconstruct", files={"photos": ("a.png", astronaut_path.read_bytes(), "image/png")},
                        data={"model": "flame", "quality": "fast", **form})
    assert r.status_code == 422 and "generic_model.pkl" in r.json()["error"], r.text
    assert not marker.exists() and not any((tmp_path / "jobs").rglob("photos"))
