"""read_result keeps the file's column order and each column's units and
description (DataFrame.attrs, Table.attrs), checked with h5py and pandas on
a result of a real Tekscan recording."""
import os

import h5py
import pandas as pd
import pytest

import knotmap

TEKSCAN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "datasets", "real", "tekscan_fscan", "FrasP01L.asf")


def _s(v):
    return v.decode() if isinstance(v, bytes) else str(v)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("layout") / "r.knotmap.h5"
    knotmap.process(TEKSCAN, out)
    return out


def test_column_order_units_and_descriptions_as_in_the_file(result):
    as_df = knotmap.read_result(result, as_pandas=True)
    as_dict = knotmap.read_result(result)
    with h5py.File(result, "r") as f:
        for table in knotmap.RESULT_TABLES:
            if table not in f:
                continue
            names = list(f[table])  # the writer's order (link creation order)
            units = {c: _s(f[table][c].attrs.get("units", "")) for c in names}
            desc = {c: _s(f[table][c].attrs.get("description", "")) for c in names}
            df, tab = as_df[table], as_dict[table]
            assert isinstance(df, pd.DataFrame) and isinstance(tab, knotmap.Table)
            assert list(df.columns) == names and list(tab) == names, table
            assert df.attrs["units"] == units and tab.attrs["units"] == units
            assert df.attrs["description"] == desc and tab.attrs["description"] == desc
    peaks = as_df["peaks"]
    # the file's order is the writer's, not alphabetical
    assert list(peaks.columns) != sorted(peaks.columns)
    assert peaks.attrs["units"]["value"] == "kPa"
    assert peaks.attrs["units"]["time"] == "s"
    assert all(peaks.attrs["description"][c] for c in peaks.columns)


def test_a_result_with_removed_parameters_reads(result, tmp_path):
    """/params keys of detection options removed in session 44 (older results record
    them) are read as they are, beside the others."""
    old = tmp_path / "old.knotmap.h5"
    old.write_bytes(result.read_bytes())
    with h5py.File(old, "r+") as f:
        f["params"].attrs["cand_background_mask"] = 5.0
        f["params"].attrs["cand_scale_peaks"] = 1
    params = knotmap.read_result(old)["params"]
    assert params["cand_background_mask"] == 5.0 and params["cand_scale_peaks"] == 1
    assert params["cand_min_snr"] == knotmap.read_result(result)["params"]["cand_min_snr"]
