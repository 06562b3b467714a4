"""Tests for layers/model_weights/provision.py (weights provisioning for the Lambda image).

Self-contained: the script is loaded by path, tiny ONNX graphs are built with the `onnx`
package, and no test touches the network (urllib is monkeypatched where downloads happen).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[2]
LAYER_DIR = REPO / "layers" / "model_weights"
SCRIPT = LAYER_DIR / "provision.py"
MANIFEST = LAYER_DIR / "manifest.json"

OFFLINE_FILES = (
    "dlib_face_recognition_resnet_model_v1.dat",
    "shape_predictor_5_face_landmarks.dat",
)
PRODUCTION_FILES = ("arcface_weights.onnx", "retinaface.onnx")


def _load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("provision_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve annotations through sys.modules while the module executes
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


provision = _load_module()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DEEPFACE_HOME"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def installed_bytes(path: Path) -> bytes:
    """What an installed weight file holds: a split onnx graph joined back with its data."""
    if provision.external_data_file(path).exists():
        return provision.joined_onnx(path)
    return path.read_bytes()


# ---------------------------------------------------------------------------- tiny graphs


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by any onnxruntime that supports opset 17
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def arcface_like(path: Path, embedding: int = 512) -> Path:
    """(N,112,112,3) float -> (N, embedding): mean over H,W then a 3 x embedding matmul."""
    weight = numpy_helper.from_array(np.full((3, embedding), 0.1, np.float32), "w")
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["input"], ["pooled"], axes=[1, 2], keepdims=0),
            helper.make_node("MatMul", ["pooled", "w"], ["embedding"]),
        ],
        "arcface_like",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 112, 112, 3])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", embedding])],
        initializer=[weight],
    )
    return _save(graph, path)


def retinaface_like(
    path: Path, heads: tuple[int, ...] = (4, 8, 20), static_hw: bool = False
) -> Path:
    """(N,H,W,3) -> per stride 32/16/8 one NHWC output per head width, like RetinaFace."""
    height: str | int = 64 if static_hw else "H"
    width: str | int = 64 if static_hw else "W"
    nodes = [helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2])]
    initializers = []
    outputs = []
    for stride in (32, 16, 8):
        pooled = f"pool{stride}"
        nodes.append(
            helper.make_node(
                "AveragePool",
                ["nchw"],
                [pooled],
                kernel_shape=[stride, stride],
                strides=[stride, stride],
            )
        )
        for channels in heads:
            weight = f"w{stride}_{channels}"
            conv, out = f"conv{stride}_{channels}", f"out{stride}_{channels}"
            initializers.append(
                numpy_helper.from_array(np.full((channels, 3, 1, 1), 0.01, np.float32), weight)
            )
            nodes.append(helper.make_node("Conv", [pooled, weight], [conv]))
            nodes.append(helper.make_node("Transpose", [conv], [out], perm=[0, 2, 3, 1]))
            # spatial dims left unknown (None), batch symbolic: both occur in real exports
            outputs.append(
                helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", None, None, channels])
            )
    graph = helper.make_graph(
        nodes,
        "retinaface_like",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", height, width, 3])],
        outputs,
        initializer=initializers,
    )
    return _save(graph, path)


def production_sources(directory: Path) -> Path:
    directory.mkdir()
    arcface_like(directory / "arcface_weights.onnx")
    retinaface_like(directory / "retinaface.onnx")
    return directory


def pinned_manifest(tmp_path: Path, source_dir: Path) -> Path:
    """The real manifest with production size/sha256 set to those of the tiny graphs."""
    manifest = json.loads(MANIFEST.read_text())
    for entry in manifest["packs"]["production"]["files"]:
        src = source_dir / entry["name"]
        entry["size"] = src.stat().st_size
        entry["sha256"] = sha256(src)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


def spec_for(name: str) -> Any:
    specs = provision.expected_files("production") + provision.expected_files("offline")
    return next(s for s in specs if s.name == name)


# ---------------------------------------------------------------------------- manifest


def test_manifest_lists_both_packs_with_their_sources() -> None:
    production = provision.expected_files("production")
    offline = provision.expected_files("offline")
    assert [s.name for s in production] == list(PRODUCTION_FILES)
    assert [s.name for s in offline] == list(OFFLINE_FILES)
    arcface, retina = production
    assert arcface.urls[0].endswith("/deepface_models/releases/download/v1.0/arcface_weights.onnx")
    assert retina.urls[1] == "https://huggingface.co/serengil/deepface/resolve/main/retinaface.onnx"
    # no trustworthy published digest was found for the production files: they stay unpinned
    assert (arcface.size, arcface.sha256, retina.size, retina.sha256) == (None, None, None, None)
    assert all(s.package == "face-recognition-models" for s in offline)
    assert len(retina.check.outputs) == 9


def test_offline_manifest_matches_installed_package() -> None:
    # find_spec, not import: the package's __init__ needs pkg_resources, absent on new setuptools
    package = importlib.util.find_spec("face_recognition_models")
    assert package is not None and package.submodule_search_locations is not None
    models = Path(list(package.submodule_search_locations)[0]) / "models"
    for spec in provision.expected_files("offline"):
        installed = models / spec.name
        assert spec.package_path == f"models/{spec.name}"
        assert spec.size == installed.stat().st_size
        assert spec.sha256 == sha256(installed)


# ---------------------------------------------------------------------------- offline pack


@pytest.fixture(scope="module")
def provisioned_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("offline") / "home"
    result = run_cli("--pack", "offline", "--home", str(home))
    assert result.returncode == 0, result.stderr
    return home


def test_offline_provision_installs_loadable_world_readable_files(provisioned_home: Path) -> None:
    import dlib

    weights = provisioned_home / ".deepface" / "weights"
    assert sorted(p.name for p in weights.iterdir()) == sorted(OFFLINE_FILES)
    assert mode(provisioned_home) == mode(provisioned_home / ".deepface") == mode(weights) == 0o755
    for name in OFFLINE_FILES:
        assert mode(weights / name) == 0o644
        assert sha256(weights / name) == spec_for(name).sha256
    recognizer = dlib.face_recognition_model_v1(str(weights / OFFLINE_FILES[0]))
    assert len(recognizer.compute_face_descriptor(np.zeros((150, 150, 3), np.uint8))) == 128
    predictor = dlib.shape_predictor(str(weights / OFFLINE_FILES[1]))
    assert predictor(np.zeros((64, 64, 3), np.uint8), dlib.rectangle(8, 8, 56, 56)).num_parts == 5
    assert provision.verify_pack(provisioned_home, "offline") == []
    assert provision.verify_pack(provisioned_home, "offline", deep=False) == []

    check = run_cli("--pack", "offline", "--home", str(provisioned_home), "--check-only")
    assert check.returncode == 0, check.stderr
    digest = spec_for(OFFLINE_FILES[1]).sha256
    assert f"ok {OFFLINE_FILES[1]} (9150489 bytes, sha256 {digest}) verified" in check.stdout


def test_offline_provision_is_idempotent(
    provisioned_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = provisioned_home / ".deepface" / "weights"
    before = {name: (weights / name).stat().st_ino for name in OFFLINE_FILES}

    def no_fetch(*_: object, **__: object) -> None:
        raise AssertionError("a valid file was fetched again")

    monkeypatch.setattr(provision, "_stage", no_fetch)
    out = io.StringIO()
    assert provision.provision_pack(provisioned_home, "offline", out=out) == []
    assert out.getvalue().count("already present") == 2
    assert {name: (weights / name).stat().st_ino for name in OFFLINE_FILES} == before


def test_offline_provision_does_not_import_deepface_or_onnxruntime(tmp_path: Path) -> None:
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['provision.py', '--pack', 'offline', '--home', {str(tmp_path / 'home')!r}]\n"
        "try:\n"
        f"    runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "heavy = ('deepface', 'retinaface', 'onnxruntime')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.fixture
def offline_copy(provisioned_home: Path, tmp_path: Path) -> Path:
    """A private copy of the provisioned offline home that a test may damage."""
    home = tmp_path / "home"
    weights = home / ".deepface" / "weights"
    weights.mkdir(parents=True)
    for directory in (home, home / ".deepface", weights):
        os.chmod(directory, 0o755)
    for name in OFFLINE_FILES:
        original = provisioned_home / ".deepface" / "weights" / name
        (weights / name).write_bytes(original.read_bytes())
        os.chmod(weights / name, 0o644)
    return home


def test_truncated_file_fails_check_naming_file_and_size(offline_copy: Path) -> None:
    target = offline_copy / ".deepface" / "weights" / OFFLINE_FILES[0]
    target.write_bytes(target.read_bytes()[:1000])

    result = run_cli("--pack", "offline", "--home", str(offline_copy), "--check-only")

    assert result.returncode == 1
    assert (
        f"provision: ERROR {OFFLINE_FILES[0]}: size is 1000 bytes, expected 22466066 "
        "(truncated or wrong file)"
    ) in result.stderr.splitlines()
    assert OFFLINE_FILES[1] not in result.stderr  # the intact file is not blamed
    assert target.stat().st_size == 1000  # --check-only changes nothing


def test_corrupted_file_fails_sha_check_and_provision_repairs_it(offline_copy: Path) -> None:
    target = offline_copy / ".deepface" / "weights" / OFFLINE_FILES[1]
    data = bytearray(target.read_bytes())
    data[5000:5010] = b"\x00" * 10  # same size, different content
    target.write_bytes(bytes(data))
    bad_sha = sha256(target)

    check = run_cli("--pack", "offline", "--home", str(offline_copy), "--check-only")
    assert check.returncode == 1
    assert (
        f"provision: ERROR {OFFLINE_FILES[1]}: sha256 is {bad_sha}, "
        f"expected {spec_for(OFFLINE_FILES[1]).sha256} (corrupt or wrong file)"
    ) in check.stderr.splitlines()

    repair = run_cli("--pack", "offline", "--home", str(offline_copy))
    assert repair.returncode == 0, repair.stderr
    assert f"replacing {OFFLINE_FILES[1]}: sha256 is {bad_sha}" in repair.stdout
    assert sha256(target) == spec_for(OFFLINE_FILES[1]).sha256
    assert mode(target) == 0o644
    assert list(target.parent.glob(".*.part")) == []


def test_unreadable_file_fails_check(offline_copy: Path) -> None:
    target = offline_copy / ".deepface" / "weights" / OFFLINE_FILES[1]
    os.chmod(target, 0o600)

    problems = provision.verify_pack(offline_copy, "offline", deep=False)

    assert [str(p) for p in problems] == [
        f"{OFFLINE_FILES[1]}: mode is 0600, must be world-readable (0644): "
        "the Lambda runs as a non-root user"
    ]


def test_missing_file_is_reported(tmp_path: Path) -> None:
    problems = provision.verify_pack(tmp_path / "empty", "offline")
    assert [p.file for p in problems] == list(OFFLINE_FILES)
    assert all(p.message.startswith("missing (expected at ") for p in problems)


def test_wrong_dlib_model_is_rejected_by_loader(provisioned_home: Path, tmp_path: Path) -> None:
    # the landmark model under the recognizer's name, with the integrity pins removed
    spec = spec_for(OFFLINE_FILES[0])
    unpinned = provision.FileSpec(name=spec.name, size=None, sha256=None, check=spec.check)
    wrong = tmp_path / spec.name
    wrong.write_bytes((provisioned_home / ".deepface" / "weights" / OFFLINE_FILES[1]).read_bytes())

    problems = provision.verify_file(wrong, unpinned, check_mode=False)

    assert len(problems) == 1
    assert problems[0].file == spec.name
    assert problems[0].message.startswith("dlib.face_recognition_model_v1 cannot load it: ")


# ---------------------------------------------------------------------------- ONNX interface


def test_arcface_graph_with_right_interface_is_accepted(tmp_path: Path) -> None:
    spec = spec_for("arcface_weights.onnx")
    assert provision.verify_file(arcface_like(tmp_path / "a.onnx"), spec, check_mode=False) == []


def test_arcface_graph_with_wrong_output_shape_is_rejected(tmp_path: Path) -> None:
    spec = spec_for("arcface_weights.onnx")
    graph = arcface_like(tmp_path / "a.onnx", embedding=128)
    problems = provision.verify_file(graph, spec, check_mode=False)
    assert [str(p) for p in problems] == [
        "arcface_weights.onnx: output 0 (embedding) has shape [N, 128], expected [?, 512]"
    ]


def test_retinaface_graph_with_right_interface_is_accepted(tmp_path: Path) -> None:
    spec = spec_for("retinaface.onnx")
    assert provision.verify_file(retinaface_like(tmp_path / "r.onnx"), spec, check_mode=False) == []


def test_retinaface_graph_with_wrong_outputs_is_rejected(tmp_path: Path) -> None:
    spec = spec_for("retinaface.onnx")
    missing_head = provision.verify_file(
        retinaface_like(tmp_path / "r2.onnx", heads=(4, 8)), spec, check_mode=False
    )
    assert [str(p) for p in missing_head] == ["retinaface.onnx: has 6 outputs, expected 9"]

    wrong_width = provision.verify_file(
        retinaface_like(tmp_path / "r3.onnx", heads=(4, 8, 10)), spec, check_mode=False
    )
    assert [p.message for p in wrong_width] == [
        f"output {i} (landmark_pred_stride{s}) has shape [N, ?, ?, 10], expected [?, ?, ?, 20]"
        for i, s in ((2, 32), (5, 16), (8, 8))
    ]


def test_retinaface_graph_with_fixed_input_size_is_rejected(tmp_path: Path) -> None:
    spec = spec_for("retinaface.onnx")
    graph = retinaface_like(tmp_path / "r.onnx", static_hw=True)
    problems = provision.verify_file(graph, spec, check_mode=False)
    assert [p.message for p in problems] == [
        "input 0 (image, channels last) has shape [N, 64, 64, 3], expected [?, dynamic, dynamic, 3]"
    ]


def test_non_onnx_bytes_are_rejected(tmp_path: Path) -> None:
    page = tmp_path / "arcface_weights.onnx"
    page.write_text("<html>Not Found</html>")
    problems = provision.verify_file(page, spec_for("arcface_weights.onnx"), check_mode=False)
    assert len(problems) == 1
    assert problems[0].message.startswith("onnxruntime cannot load it: ")


# ---------------------------------------------------------------------------- production pack


def test_production_from_source_dir_with_pinned_manifest(tmp_path: Path) -> None:
    source = production_sources(tmp_path / "src")
    manifest = pinned_manifest(tmp_path, source)
    home = tmp_path / "home"

    result = run_cli(
        "--pack", "production", "--home", str(home), "--source-dir", str(source),
        "--manifest", str(manifest),
    )

    assert result.returncode == 0, result.stderr
    weights = home / ".deepface" / "weights"
    for name in PRODUCTION_FILES:
        assert installed_bytes(weights / name) == (source / name).read_bytes()
        assert mode(weights / name) == 0o644
        size, digest = (source / name).stat().st_size, sha256(source / name)
        ok_line = f"ok {name} ({size} bytes, sha256 {digest}) copy from {source / name}"
        assert ok_line in result.stdout.splitlines()
    assert mode(weights) == mode(weights.parent) == 0o755
    assert provision.verify_pack(home, "production", manifest=manifest) == []

    again = run_cli(
        "--pack", "production", "--home", str(home), "--check-only", "--manifest", str(manifest)
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(" verified") == 2


def test_production_source_dir_file_failing_pin_is_not_installed(tmp_path: Path) -> None:
    source = production_sources(tmp_path / "src")
    manifest = pinned_manifest(tmp_path, source)
    # same interface, different weights: only the pinned sha256 can tell
    tampered = source / "arcface_weights.onnx"
    tampered.write_bytes(tampered.read_bytes().replace(b"arcface_like", b"arcface_lika"))
    home = tmp_path / "home"

    result = run_cli(
        "--pack", "production", "--home", str(home), "--source-dir", str(source),
        "--manifest", str(manifest),
    )

    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("provision: ERROR")]
    assert len(errors) == 1
    assert errors[0].startswith(
        "provision: ERROR arcface_weights.onnx: could not be provisioned: "
        f"copy from {tampered}: sha256 is "
    )
    weights = home / ".deepface" / "weights"
    assert sorted(p.name for p in weights.iterdir()) == ["retinaface.onnx"]


def test_production_source_dir_missing_file(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    retinaface_like(source / "retinaface.onnx")

    result = run_cli(
        "--pack", "production", "--home", str(tmp_path / "home"), "--source-dir", str(source)
    )

    assert result.returncode == 1
    assert (
        f"provision: ERROR arcface_weights.onnx: could not be provisioned: copy from {source}: "
        f"{source / 'arcface_weights.onnx'} does not exist"
    ) in result.stderr.splitlines()


# ---------------------------------------------------------------------------- external data


@pytest.fixture
def split_pack(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(source dir, pinned manifest, home) with the production pack provisioned from source."""
    source = production_sources(tmp_path / "src")
    manifest = pinned_manifest(tmp_path, source)
    home = tmp_path / "home"
    out = io.StringIO()
    assert provision.provision_pack(home, "production", source_dir=source, manifest=manifest, out=out) == []
    assert "ok arcface_weights.onnx weights moved to arcface_weights.onnx.data" in out.getvalue()
    return source, manifest, home


def test_onnx_weights_move_beside_the_graph_and_join_back_byte_for_byte(
    split_pack: tuple[Path, Path, Path],
) -> None:
    import onnxruntime as ort

    source, _, home = split_pack
    published = source / "arcface_weights.onnx"
    graph = home / ".deepface" / "weights" / "arcface_weights.onnx"
    data = graph.with_name("arcface_weights.onnx.data")
    weight_bytes = 3 * 512 * 4  # the stand-in's one weight, 3 x 512 floats
    assert data.stat().st_size == weight_bytes
    # the graph keeps a reference (file, offset, length) where the weight's bytes were
    assert graph.stat().st_size < published.stat().st_size - weight_bytes + 100
    assert mode(graph) == mode(data) == 0o644
    assert provision.joined_onnx(graph) == published.read_bytes()

    # onnxruntime reads the weights from beside the graph: the same embedding, bit for bit
    batch = np.random.default_rng(0).random((2, 112, 112, 3), dtype=np.float32)
    one_file = ort.InferenceSession(str(published), providers=["CPUExecutionProvider"])
    split = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    assert np.array_equal(one_file.run(None, {"input": batch})[0], split.run(None, {"input": batch})[0])


def test_check_of_split_graph_names_the_published_size_and_sha256(
    split_pack: tuple[Path, Path, Path],
) -> None:
    source, manifest, home = split_pack
    result = run_cli("--pack", "production", "--home", str(home), "--check-only", "--manifest", str(manifest))
    assert result.returncode == 0, result.stderr
    published = source / "arcface_weights.onnx"
    ok_line = f"ok arcface_weights.onnx ({published.stat().st_size} bytes, sha256 {sha256(published)}) verified"
    assert ok_line in result.stdout.splitlines()


def test_provision_of_split_pack_is_idempotent(split_pack: tuple[Path, Path, Path]) -> None:
    source, manifest, home = split_pack
    weights = home / ".deepface" / "weights"
    before = {p.name: p.stat().st_ino for p in weights.iterdir()}
    out = io.StringIO()
    assert provision.provision_pack(home, "production", source_dir=source, manifest=manifest, out=out) == []
    assert out.getvalue().count("already present") == 2
    assert "moved" not in out.getvalue()
    assert {p.name: p.stat().st_ino for p in weights.iterdir()} == before


def test_corrupt_external_data_fails_the_check_and_provision_repairs_it(
    split_pack: tuple[Path, Path, Path],
) -> None:
    source, manifest, home = split_pack
    graph = home / ".deepface" / "weights" / "arcface_weights.onnx"
    data = graph.with_name("arcface_weights.onnx.data")
    damaged = bytearray(data.read_bytes())
    damaged[100] ^= 0xFF  # a flipped bit in one weight: same shapes, different model
    data.write_bytes(bytes(damaged))

    problems = [str(p) for p in provision.verify_pack(home, "production", manifest=manifest)]
    assert len(problems) == 1 and problems[0].startswith("arcface_weights.onnx: sha256 is ")

    out = io.StringIO()
    assert provision.provision_pack(home, "production", source_dir=source, manifest=manifest, out=out) == []
    assert "replacing arcface_weights.onnx: sha256 is " in out.getvalue()
    assert provision.joined_onnx(graph) == (source / "arcface_weights.onnx").read_bytes()
    assert provision.verify_pack(home, "production", manifest=manifest) == []


def test_split_graph_without_its_data_is_reported(split_pack: tuple[Path, Path, Path]) -> None:
    _, manifest, home = split_pack
    (home / ".deepface" / "weights" / "arcface_weights.onnx.data").unlink()
    problems = [str(p) for p in provision.verify_pack(home, "production", manifest=manifest)]
    assert len(problems) == 1 and problems[0].startswith("arcface_weights.onnx: size is ")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every urlopen fails as if DNS were down; records the URLs tried."""
    tried: list[str] = []

    def unreachable(request: urllib.request.Request, timeout: float | None = None) -> None:
        tried.append(request.full_url)
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    return tried


def test_production_download_with_unreachable_urls_fails_cleanly(
    tmp_path: Path, no_network: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"

    code = provision.main(["--pack", "production", "--home", str(home), "--timeout", "1"])

    assert code == 1
    expected_urls = [url for spec in provision.expected_files("production") for url in spec.urls]
    assert no_network == expected_urls  # every mirror tried, in manifest order
    errors = capsys.readouterr().err.splitlines()
    dns = "URLError: <urlopen error [Errno -2] Name or service not known>"
    assert errors[0] == (
        "provision: ERROR arcface_weights.onnx: could not be provisioned: "
        f"download from {expected_urls[0]}: {dns} | download from {expected_urls[1]}: {dns}"
    )
    assert errors[1].startswith("provision: ERROR retinaface.onnx: could not be provisioned: ")
    assert errors[2] == f"provision: production pack under {home} is NOT usable"
    assert list((home / ".deepface" / "weights").iterdir()) == []  # no partial files left


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes, content_length: int | None = None) -> None:
        super().__init__(data)
        length = len(data) if content_length is None else content_length
        self.headers = {"Content-Length": str(length)}


@pytest.fixture
def fake_mirrors(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """urlopen served from a dict url -> bytes | Exception | (bytes, declared length)."""
    served: dict[str, object] = {}

    def urlopen(request: urllib.request.Request, timeout: float | None = None) -> FakeResponse:
        assert timeout is not None  # downloads must never hang a build forever
        body = served[request.full_url]
        if isinstance(body, Exception):
            raise body
        if isinstance(body, tuple):
            return FakeResponse(*body)
        assert isinstance(body, bytes)
        return FakeResponse(body)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    yield served


def test_production_download_falls_back_to_next_mirror(
    tmp_path: Path, fake_mirrors: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    source = production_sources(tmp_path / "src")
    manifest = pinned_manifest(tmp_path, source)
    arc_urls, retina_urls = (s.urls for s in provision.expected_files("production"))
    arc, retina = ((source / n).read_bytes() for n in PRODUCTION_FILES)
    fake_mirrors[arc_urls[0]] = b"<html>Not Found</html>"  # error page saved as the file
    fake_mirrors[arc_urls[1]] = arc
    fake_mirrors[retina_urls[0]] = (retina[:100], len(retina))  # connection dropped
    fake_mirrors[retina_urls[1]] = retina
    home = tmp_path / "home"

    code = provision.main(
        ["--pack", "production", "--home", str(home), "--manifest", str(manifest)]
    )

    assert code == 0, capsys.readouterr().err
    weights = home / ".deepface" / "weights"
    assert installed_bytes(weights / PRODUCTION_FILES[0]) == arc
    assert installed_bytes(weights / PRODUCTION_FILES[1]) == retina
    # the tiny ArcFace stand-in has a 6 kB weight to move out; RetinaFace's are all < 1 kB
    assert sorted(p.name for p in weights.iterdir()) == sorted(
        [*PRODUCTION_FILES, "arcface_weights.onnx.data"]
    )
    out = capsys.readouterr().out
    assert f"download from {arc_urls[1]}" in out and f"download from {retina_urls[1]}" in out


def test_production_download_reports_truncation_and_bad_content(
    tmp_path: Path, fake_mirrors: dict[str, object]
) -> None:
    source = production_sources(tmp_path / "src")
    manifest = pinned_manifest(tmp_path, source)
    arc_urls, retina_urls = (s.urls for s in provision.expected_files("production"))
    arc = (source / PRODUCTION_FILES[0]).read_bytes()
    fake_mirrors[arc_urls[0]] = (arc[:10], len(arc))
    fake_mirrors[arc_urls[1]] = b"x" * len(arc)
    for url in retina_urls:
        fake_mirrors[url] = (source / PRODUCTION_FILES[1]).read_bytes()
    out = io.StringIO()

    problems = provision.provision_pack(tmp_path / "home", "production", manifest=manifest, out=out)

    assert [p.file for p in problems] == ["arcface_weights.onnx"]
    message = problems[0].message
    cut_short = f"SourceError: transfer cut short: got 10 of {len(arc)} bytes"
    assert f"download from {arc_urls[0]}: {cut_short}" in message
    garbage = hashlib.sha256(b"x" * len(arc)).hexdigest()
    assert f"download from {arc_urls[1]}: sha256 is {garbage}" in message
    assert "ok retinaface.onnx" in out.getvalue()


def test_cli_rejects_unknown_pack(tmp_path: Path) -> None:
    result = run_cli("--pack", "staging", "--home", str(tmp_path))
    assert result.returncode == 2
    assert "invalid choice: 'staging'" in result.stderr


def test_malformed_manifest_is_a_clear_error(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"packs": {"offline": {"files": [{"name": "../escape.dat"}]}}}))

    result = run_cli(
        "--pack", "offline", "--home", str(tmp_path / "home"), "--manifest", str(manifest)
    )

    assert result.returncode == 1
    assert result.stderr.startswith(f"provision: ERROR manifest {manifest} is malformed: ")
    assert "bad file name '../escape.dat'" in result.stderr
