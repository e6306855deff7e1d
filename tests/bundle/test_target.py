"""-o is checked before any work: only an earlier bundle or an empty folder is replaced; anything
else is refused with exit 2 and left as it was, or with --force moved aside, never deleted."""
import json

import pytest

from headsmith.bundle import BundleError
from headsmith.bundle.target import check_bundle_target
from headsmith.cli import main


def _someones_folder(path):
    path.mkdir()
    (path / "thesis.txt").write_text("four years of work")
    (path / "sub").mkdir()
    (path / "sub" / "data.csv").write_text("1,2,3")
    return path


def _expect_refusal(capsys, out, what):
    # a photo that does not exist: the -o check must come first, before the photos are read
    assert main(["reconstruct", "missing.jpg", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert what in err and "Traceback" not in err, err


def test_a_folder_of_other_files_is_refused_and_kept(tmp_path, capsys, astronaut_path):
    out = _someones_folder(tmp_path / "work")
    _expect_refusal(capsys, out, "not a Headsmith bundle")
    # with a good photo too (before: the folder's files were deleted and the exit code was 0)
    assert main(["reconstruct", str(astronaut_path), "-o", str(out), "--quality", "fast"]) == 2
    assert (out / "thesis.txt").read_text() == "four years of work" and (out / "sub" / "data.csv").is_file()


def test_a_file_is_refused_and_kept(tmp_path, capsys):
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    _expect_refusal(capsys, f, "not a bundle folder")
    assert f.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_path_inside_a_file_is_a_message_not_a_traceback(tmp_path, capsys):
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    _expect_refusal(capsys, f / "out", "is a file, not a folder")


def test_earlier_bundles_and_empty_folders_may_be_replaced(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_bundle_target(empty) is None and check_bundle_target(tmp_path / "new" / "deeper") is None
    old = tmp_path / "old"
    old.mkdir()
    (old / "bundle.json").write_text(json.dumps({"schema_version": 1}))
    assert check_bundle_target(old) is None
    (old / "bundle.json").write_text(json.dumps({"schema_version": 7}))   # not ours to replace
    with pytest.raises(BundleError):
        check_bundle_target(old)


def test_force_moves_the_folder_aside_and_never_deletes(tmp_path):
    out = _someones_folder(tmp_path / "work")
    aside = check_bundle_target(out, force=True)
    assert not out.exists() and aside.parent == tmp_path and aside.name.startswith("work.replaced-")
    assert (aside / "thesis.txt").read_text() == "four years of work" and (aside / "sub" / "data.csv").is_file()
