"""CSVLogger: Keras' file format (sorted keys, 0-based epoch, val_ columns, NA, append)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from odkit.callbacks import CSVLogger
from tests.callbacks._fakes import FakeModel, run_fit

LOGS = [{"loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.7},
        {"loss": 0.25, "accuracy": 0.9, "val_loss": 0.55, "val_accuracy": 0.75}]


def _bytes(path: Path) -> bytes:
    return path.read_bytes()


def test_rows_sorted_keys_zero_based_epoch(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    run_fit(FakeModel(), [CSVLogger(path)], LOGS)
    assert _bytes(path) == (b"epoch,accuracy,loss,val_accuracy,val_loss\r\n"
                            b"0,0.8,0.5,0.7,0.6\r\n"
                            b"1,0.9,0.25,0.75,0.55\r\n")


def test_driven_directly_keys_are_sorted(tmp_path: Path) -> None:
    # without a CallbackList (which sorts the logs itself) the columns are still sorted
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    logger.on_train_begin({})
    logger.on_epoch_end(0, {"val_loss": 0.6, "loss": 0.5, "val_accuracy": 0.7, "accuracy": 0.8})
    logger.on_train_end({})
    assert _bytes(path) == b"epoch,accuracy,loss,val_accuracy,val_loss\r\n0,0.8,0.5,0.7,0.6\r\n"


def test_no_validation_keys_adds_na_columns(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    run_fit(FakeModel(), [CSVLogger(str(path))], [{"loss": 0.5}, {"loss": 0.4}])
    assert _bytes(path) == b"epoch,loss,val_loss\r\n0,0.5,NA\r\n1,0.4,NA\r\n"


def test_separator_and_missing_values(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    run_fit(FakeModel(), [CSVLogger(path, separator=";")], [LOGS[0], {"loss": 0.1}])
    assert _bytes(path) == (b"epoch;accuracy;loss;val_accuracy;val_loss\r\n"
                            b"0;0.8;0.5;0.7;0.6\r\n"
                            b"1;NA;0.1;NA;NA\r\n")


def test_overwrite_then_append_without_second_header(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("old content\n")
    run_fit(FakeModel(), [CSVLogger(path)], [{"loss": 0.5}])
    run_fit(FakeModel(), [CSVLogger(path, append=True)], [{"loss": 0.5}, {"loss": 0.3}])
    assert _bytes(path) == b"epoch,loss,val_loss\r\n0,0.5,NA\r\n0,0.5,NA\r\n1,0.3,NA\r\n"


def test_append_to_empty_file_writes_header(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("")
    run_fit(FakeModel(), [CSVLogger(path, append=True)], [{"loss": 0.5}])
    assert _bytes(path) == b"epoch,loss,val_loss\r\n0,0.5,NA\r\n"


def test_rows_flushed_each_epoch_and_file_closed(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    sizes = []
    run_fit(FakeModel(), [logger], LOGS, after_epoch=lambda e: sizes.append(path.stat().st_size))
    assert sizes[0] > 0 and sizes[1] > sizes[0]
    assert logger.csv_file is not None and logger.csv_file.closed


def test_array_values_written_as_lists(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    run_fit(FakeModel(), [CSVLogger(path)], [{"loss": 0.5, "val_ap": np.array([0.25, 0.5])}])
    assert _bytes(path) == b'epoch,loss,val_ap\r\n0,0.5,"""[0.25, 0.5]"""\r\n'
