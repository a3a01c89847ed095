"""The list-append and counter checkers on small hand-made histories, valid and not."""

from __future__ import annotations

from .checker.history import Op
from .counter_checker import check_counter
from .list_checker import check_list_append


def op(p, kind, value, t0, t1, outcome="ok", output=None, key="k"):
    return Op(p, kind, key, value, t0, t1, outcome, output)


# -- list-append --------------------------------------------------------------------------

def test_list_valid_with_concurrent_and_unknown_appends():
    h = [
        op(0, "append", 1, 0, 1),
        op(1, "append", 2, 0.5, None, "unknown"),
        op(2, "read", None, 1.5, 2, output=(1,)),
        op(0, "append", 3, 2, 3),
        op(2, "read", None, 3.5, 4, output=(1, 2, 3)),
        op(1, "append", 4, 4, 5, "fail"),
    ]
    assert check_list_append(h).valid


def types(h):
    return {e["type"] for e in check_list_append(h).errors}


def test_list_stale_read_and_lost_write():
    h = [op(0, "append", 1, 0, 1), op(1, "read", None, 2, 3, output=())]
    assert types(h) == {"stale"}


def test_list_phantom_from_failed_append():
    h = [op(0, "append", 1, 0, 1, "fail"), op(1, "read", None, 2, 3, output=(1,))]
    assert "phantom" in types(h)


def test_list_divergent_reads():
    h = [op(0, "append", 1, 0, 1), op(0, "append", 2, 0, 1),
         op(1, "read", None, 2, 3, output=(1, 2)), op(2, "read", None, 2, 3, output=(2, 1))]
    assert "divergent" in types(h)


def test_list_real_time_order_of_appends():
    h = [op(0, "append", 1, 0, 1), op(0, "append", 2, 2, 3), op(1, "read", None, 4, 5, output=(2, 1))]
    assert "order" in types(h)


def test_list_non_monotonic_reads():
    h = [op(0, "append", 1, 0, 10, "unknown"),
         op(1, "read", None, 1, 2, output=(1,)), op(2, "read", None, 3, 4, output=())]
    assert types(h) == {"non-monotonic"}


def test_list_duplicate_element():
    h = [op(0, "append", 1, 0, 1), op(1, "read", None, 2, 3, output=(1, 1))]
    assert "duplicate" in types(h)


# -- counter ------------------------------------------------------------------------------

def ctypes(h):
    return {e["type"] for e in check_counter(h).errors}


def test_counter_valid_with_unknown_add():
    h = [
        op(0, "add", 2, 0, 1, output=2),
        op(1, "add", 3, 0.5, None, "unknown"),
        op(2, "read", None, 1.5, 2, output=2),
        op(2, "read", None, 2.5, 3, output=5),
        op(0, "add", 1, 3, 4, output=6),
        op(1, "add", 9, 4, 5, "fail"),
        op(2, "read", None, 6, 7, output=6),
    ]
    assert check_counter(h).valid


def test_counter_lost_write_is_too_low():
    h = [op(0, "add", 2, 0, 1, output=2), op(1, "read", None, 2, 3, output=0)]
    assert ctypes(h) == {"too-low"}


def test_counter_failed_add_applied_is_too_high():
    h = [op(0, "add", 2, 0, 1, "fail"), op(1, "read", None, 2, 3, output=2)]
    assert ctypes(h) == {"too-high"}


def test_counter_double_apply_is_too_high():
    h = [op(0, "add", 2, 0, 1, output=4), op(1, "read", None, 2, 3, output=4)]
    assert "too-high" in ctypes(h)


def test_counter_two_adds_seeing_the_same_value():
    h = [op(0, "add", 1, 0, 1, output=1), op(1, "add", 1, 0, 1, output=1)]
    assert "duplicate" in ctypes(h)
