"""headsmith.atomic: a failed write leaves the earlier file or folder as it was, and leaves no
temporary behind."""
import pytest

from headsmith.atomic import atomic_file, atomic_folder, write_bytes_atomic


def test_a_failed_file_write_keeps_the_old_file(tmp_path):
    p = tmp_path / "out.bin"
    write_bytes_atomic(p, b"old")
    with pytest.raises(RuntimeError):
        with atomic_file(p) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash")
    assert p.read_bytes() == b"old" and sorted(x.name for x in tmp_path.iterdir()) == ["out.bin"]
    write_bytes_atomic(p, b"new")
    assert p.read_bytes() == b"new" and len(list(tmp_path.iterdir())) == 1


def test_the_temporary_never_follows_a_planted_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "out.bin.tmp").symlink_to(victim)      # a stale fixed-name temp would be followed
    write_bytes_atomic(tmp_path / "out.bin", b"data")
    assert victim.read_bytes() == b"keep" and (tmp_path / "out.bin").read_bytes() == b"data"


def test_a_failed_folder_write_keeps_the_old_folder(tmp_path):
    out = tmp_path / "bundle"
    with atomic_folder(out) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_folder(out) as tmp:
            (tmp / "a.txt").write_text("half")
            raise RuntimeError("crash")
    assert (out / "a.txt").read_text() == "old"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["bundle"]
    with atomic_folder(out) as tmp:
        (tmp / "b.txt").write_text("new")
    assert sorted(x.name for x in out.iterdir()) == ["b.txt"]
    assert sorted(x.name for x in tmp_path.iterdir()) == ["bundle"]


def test_outputs_get_the_users_mode_and_private_ones_stay_private(tmp_path):
    import os

    from headsmith.atomic import umask

    old = os.umask(0o027)
    try:
        assert umask() == 0o027
        write_bytes_atomic(tmp_path / "shared.bin", b"x")
        write_bytes_atomic(tmp_path / "token.json", b"x", private=True)
        with atomic_folder(tmp_path / "bundle") as tmp:
            (tmp / "a.txt").write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "shared.bin").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "token.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "bundle").stat().st_mode & 0o777 == 0o750
