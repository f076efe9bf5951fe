"""``odkit convert`` and ``odkit check``, in-process, plus one ``python -m odkit check`` subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from odkit.cli.main import main
from odkit.io import read_annotations
from tests.io._helpers import GOLDEN, assert_same_boxes, make_image
from tests.io.test_check import _defect_set


def test_convert_voc_to_yolo_copies_images_and_summarizes(datasets_dir: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "yolo"
    assert main(["convert", str(datasets_dir / "raccoon"), str(out), "--to", "yolo"]) == 0
    text = capsys.readouterr().out
    assert "read 200 images, 217 boxes, 1 classes (voc)" in text
    assert "wrote 200 images, 217 boxes as yolo" in text and "truncated_dropped: 59" in text
    assert (out / "data.yaml").is_file() and len(list((out / "images").iterdir())) == 200
    assert (out / "labels" / "raccoon-1.txt").is_file()
    assert_same_boxes(read_annotations(datasets_dir / "raccoon"), read_annotations(out), atol=2e-3)


def test_convert_with_a_seeded_stratified_split(datasets_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "y"
    args = ["convert", str(datasets_dir / "raccoon"), str(out), "--to", "yolo", "--copy-images", "symlink",
            "--split", "train=0.8,val=0.2", "--seed", "3", "--stratify"]
    assert main(args) == 0
    assert "split: train 160 images, val 40 images (seed 3, stratified)" in capsys.readouterr().out
    d = read_annotations(out)
    assert {k: len(v) for k, v in d.splits.items()} == {"train": 160, "val": 40}
    assert len(list((out / "images" / "val").iterdir())) == 40
    assert main(["convert", str(datasets_dir / "raccoon"), str(tmp_path / "z"), "--to", "yolo",
                 "--split", "train:0.8"]) == 2  # a usage error
    assert capsys.readouterr().err.startswith("error: --split expects NAME=FRACTION")


def test_convert_reports_what_the_target_cannot_hold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    make_image(src / "images" / "a.jpg", 40, 30)
    make_image(src / "images" / "b.jpg", 20, 20)
    (src / "coco.json").write_text((GOLDEN / "coco_small.json").read_text())
    assert main(["convert", str(src / "coco.json"), str(tmp_path / "voc"), "--to", "voc"]) == 0
    text = capsys.readouterr().out
    assert "crowd_not_representable: 1" in text and "a.jpg" in text
    assert (tmp_path / "voc" / "JPEGImages" / "a.jpg").is_file()


def test_convert_lenient_read_lists_skipped_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(GOLDEN / "coco_bad_annotation.json"), str(tmp_path / "o"), "--to", "csv",
                 "--copy-images", "none", "-v"]) == 0
    text = capsys.readouterr().out
    assert "skipped while reading (4)" in text
    assert "missing_image_record" in text and "annotations[3].image_id" in text


def test_convert_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(GOLDEN / "coco_bad_json.json"), str(tmp_path / "o"), "--to", "voc"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "coco_bad_json.json:4: invalid JSON" in err and "Traceback" not in err
    assert main(["convert", str(GOLDEN / "coco_small.json"), str(tmp_path / "o2"), "--to", "voc",
                 "--strict"]) == 0
    capsys.readouterr()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert main(["convert", str(GOLDEN / "coco_small.json"), str(tmp_path / "full"), "--to", "voc"]) == 1
    assert "not empty" in capsys.readouterr().err
    assert main(["convert", str(GOLDEN / "voc_bad_xml.xml"), str(tmp_path / "o3"), "--to", "coco", "--strict"]) == 1
    assert "voc_bad_xml.xml:6: invalid XML" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["convert", "a", "b", "--to", "pascal"])
    assert info.value.code == 2


def test_check_exit_codes_and_json(datasets_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(datasets_dir / "raccoon")]) == 0
    assert "0 error(s), 0 warning(s): OK" in capsys.readouterr().out
    out = tmp_path / "r.json"
    assert main(["check", str(datasets_dir / "bccd" / "BCCD"), "--json", str(out), "--fast"]) == 1
    text = capsys.readouterr().out
    assert "[zero_size] 2 error(s)" in text and "[near_duplicate] 8 warning(s)" in text
    report = json.loads(out.read_text())
    assert report["counts"] == {"near_duplicate": 8, "zero_size": 2} and report["ok"] is False
    assert report["stats"]["boxes"] == 4888


def test_check_fix_writes_a_cleaned_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _defect_set(tmp_path / "src")
    fixed = tmp_path / "fixed"
    assert main(["check", str(src), "--fix", str(fixed)]) == 1
    text = capsys.readouterr().out
    assert "--fix: wrote a cleaned copy (coco)" in text and "object 2 dropped" in text
    assert main(["check", str(fixed)]) == 0
    assert main(["check", str(src), "--fix", str(tmp_path / "src" / "inside")]) == 2  # a usage error
    assert "inside the original" in capsys.readouterr().err


def test_bccd_converted_to_yolo_has_the_same_boxes_flagged(datasets_dir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bccd_yolo"
    assert main(["convert", str(datasets_dir / "bccd" / "BCCD"), str(out), "--to", "yolo",
                 "--copy-images", "symlink"]) == 0
    capsys.readouterr()
    # VOC's xmin == xmax boxes are 1 px wide in continuous coordinates: in YOLO they are legal tiny boxes
    # (a warning), the zero-size rule for 1-based inclusive pixels applies to VOC only.
    assert main(["check", str(out), "--fast", "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["counts"] == {"near_duplicate": 8, "tiny_box": 2}
    lines = sorted((Path(f["file"]).name, f["where"]) for f in report["findings"] if f["code"] == "tiny_box")
    assert lines == [("BloodImage_00338.txt", "object 12 (line 13)"), ("BloodImage_00343.txt", "object 3 (line 4)")]


def test_python_dash_m_odkit_check(datasets_dir: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "odkit", "check", str(datasets_dir / "bccd" / "BCCD"), "--fast"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "BloodImage_00338.xml:object 12: [zero_size]" in proc.stdout
    assert "2 error(s), 8 warning(s)" in proc.stdout and proc.stderr == ""
