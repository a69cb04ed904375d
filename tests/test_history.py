"""Tests for gan_core.history.History: exact rows until capacity, pairwise halving after, bounded views,
and NaN-only (sparse) columns that stay NaN without warnings."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from gan_core.history import History


def rows(values):
    """Two columns: the value and ten times the value."""
    v = np.asarray(values, dtype=np.float64)
    return np.column_stack([v, 10 * v])


def test_keeps_every_row_until_capacity():
    h = History(("a", "b"), capacity=8)
    assert len(h) == 0 and np.isnan(h.last).all()
    for i in range(7):
        h.append(rows([i]))
    assert len(h) == 7 and h.stride == 1
    np.testing.assert_array_equal(h.column("a"), np.arange(7.0))
    np.testing.assert_array_equal(h.column("b"), 10 * np.arange(7.0))
    np.testing.assert_array_equal(h.last, [6.0, 60.0])


def test_halves_when_full_then_groups_new_rows():
    h = History(("a", "b"), capacity=8)
    for i in range(8):
        h.append(rows([i]))
    # full at 8 rows: pairs averaged, (0+1)/2, (2+3)/2, ...
    assert len(h) == 4 and h.stride == 2
    np.testing.assert_array_equal(h.column("a"), [0.5, 2.5, 4.5, 6.5])
    np.testing.assert_array_equal(h.column("b"), [5.0, 25.0, 45.0, 65.0])
    assert np.isnan(h.data[4:]).all()
    h.append(rows([8]))  # half a group: waits
    assert len(h) == 4
    np.testing.assert_array_equal(h.last, [8.0, 80.0])  # the headline number is the newest raw row
    h.append(rows([9]))
    np.testing.assert_array_equal(h.column("a"), [0.5, 2.5, 4.5, 6.5, 8.5])
    h.append(rows(range(10, 16)))  # three more pairs in one call: full again, stride 4
    assert h.stride == 4 and len(h) == 4
    # each stored row is now the mean of four raw rows: (0+1+2+3)/4 = 1.5, ...
    np.testing.assert_array_equal(h.column("a"), [1.5, 5.5, 9.5, 13.5])


def test_bulk_and_single_appends_agree():
    data = np.random.default_rng(0).normal(size=(101, 3))
    one, bulk = History(("x", "y", "z"), capacity=10), History(("x", "y", "z"), capacity=10)
    for r in data:
        one.append(r)
    bulk.append(data[:37])
    bulk.append(data[37:])
    assert len(one) == len(bulk) and one.stride == bulk.stride
    np.testing.assert_allclose(one.data[: len(one)], bulk.data[: len(bulk)], rtol=1e-12)
    np.testing.assert_array_equal(one.last, data[-1])


def test_empty_append_is_a_no_op():
    h = History(("a",), capacity=4)
    h.append(np.empty((0, 1)))
    assert len(h) == 0 and np.isnan(h.last).all()


@pytest.mark.parametrize("total", [7, 100, 1000, 4097])
@pytest.mark.parametrize("capacity", [4, 16, 50])
def test_mean_preserved_after_decimation(total, capacity):
    raw = np.random.default_rng(total + capacity).normal(3.0, 2.0, size=(total, 2))
    h = History(("a", "b"), capacity=capacity)
    for start in range(0, total, 13):
        h.append(raw[start:start + 13])
    n, stride = len(h), h.stride
    assert n <= capacity
    absorbed = n * stride  # every stored row stands for `stride` raw rows; the rest wait in a partial group
    assert absorbed <= total < absorbed + stride
    for i in range(2):
        col = h.data[:n, i]
        assert col.mean() == pytest.approx(raw[:absorbed, i].mean(), rel=1e-9, abs=1e-9)
        assert col.mean() == pytest.approx(raw[:, i].mean(), abs=0.5)


@pytest.mark.parametrize("n_rows", [1, 5, 999, 1000, 1001, 2001, 3999])
@pytest.mark.parametrize("max_points", [1, 3, 7, 1000, 2000])
def test_view_is_bounded(n_rows, max_points):
    h = History(("a", "b"), capacity=4000)
    h.append(rows(np.arange(n_rows)))
    v = h.view(max_points)
    assert set(v) == {"a", "b"}
    lengths = {len(col) for col in v.values()}
    assert len(lengths) == 1
    length = lengths.pop()
    assert length <= max_points
    assert length == min(n_rows, max_points) or n_rows > max_points
    assert length >= min(n_rows, max_points) // 2  # bucketing never throws away more than half the points
    assert all(col.dtype == np.float32 for col in v.values())
    # bucket means keep the range of the data
    assert v["a"].min() >= 0 and v["a"].max() <= n_rows - 1
    if n_rows <= max_points:
        np.testing.assert_array_equal(v["a"], np.arange(n_rows, dtype=np.float32))


def test_view_bucket_means_by_hand():
    h = History(("a",), capacity=20)
    h.append(np.arange(10.0))
    # 10 rows into at most 4 points: groups of ceil(10/4) = 3 -> [0,1,2] [3,4,5] [6,7,8] and the tail [9]
    np.testing.assert_array_equal(h.view(4)["a"], [1.0, 4.0, 7.0, 9.0])
    np.testing.assert_array_equal(h.view(5)["a"], [0.5, 2.5, 4.5, 6.5, 8.5])


def test_nan_only_and_sparse_columns_stay_nan_without_warnings():
    h = History(("loss", "never", "sparse"), capacity=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Mean of empty slice" would become an exception here
        for i in range(8):
            h.append([[float(i), np.nan, float(i) if i % 4 == 0 else np.nan]])
        assert len(h) == 4
        assert np.isnan(h.column("never")).all()
        # sparse pairs (0, nan) (nan, nan) (4, nan) (nan, nan): NaNs are ignored, all-NaN pairs stay NaN
        np.testing.assert_array_equal(h.column("sparse"), [0.0, np.nan, 4.0, np.nan])
        for i in range(8, 200):
            h.append([[float(i), np.nan, np.nan]])
        for m in (1, 3, 100):
            v = h.view(m)
            assert np.isnan(v["never"]).all() and not np.isnan(v["loss"]).any()


@pytest.mark.parametrize("capacity", [0, 2, 3, 5, 7])
def test_bad_capacity_rejected(capacity):
    with pytest.raises(ValueError, match="capacity"):
        History(("a",), capacity=capacity)


def test_wrong_row_width_rejected():
    h = History(("a", "b"), capacity=4)
    with pytest.raises(ValueError):
        h.append(np.zeros((1, 3)))
