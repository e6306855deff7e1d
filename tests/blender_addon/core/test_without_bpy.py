"""headsmith_blender.core imports, and its tests pass, in a Python where bpy cannot be imported
(sys.modules['bpy'] = None makes every `import bpy` fail, as in a Python without the wheel)."""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
BLOCK_BPY = "import sys; sys.modules['bpy'] = None; sys.modules['mathutils'] = None; "


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_BPY + code], cwd=ROOT, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "blender_addon")})


def test_core_imports_without_bpy():
    p = _run("import headsmith_blender.core.bundle, headsmith_blender.core.client, "
             "headsmith_blender.core.background, headsmith_blender.core.backend_process, "
             "headsmith_blender.core.strings; print('ok')")
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr


def test_the_blender_side_does_need_bpy():
    """The check above can fail: the same interpreter refuses the bpy modules."""
    p = _run("import headsmith_blender.scene.rig_builder")
    assert p.returncode != 0 and "bpy" in p.stderr


def test_core_tests_pass_without_bpy():
    tests = [str(f) for f in sorted(HERE.glob("test_*.py")) if f.name != Path(__file__).name]
    p = _run("import pytest; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', *%r]))" % (tests,))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert " passed" in p.stdout and "failed" not in p.stdout
