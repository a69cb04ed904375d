"""Tests for gan_core.config: per-field rules (found by introspection), types, dict/override parsing,
cross-field rules and a property test that ``Config.from_dict`` only ever raises ValueError."""
from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_core.config import (FIELD_SECTION, LIVE_FIELDS, SECTIONS, Choice, Config, DataConfig, ModelConfig,
                             Points, Range, Text, TrainConfig, field_type)

TYPES = {"int": int, "float": float, "bool": bool, "str": str, "tuple": tuple}


def _all_fields():
    """(section, field name, python type, rule) for every field of every section."""
    out = []
    for sec, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            out.append((sec, f.name, TYPES.get(str(f.type), f.type), f.metadata.get("rule")))
    return out


ALL_FIELDS = _all_fields()
RULED = [(s, n, t, r) for s, n, t, r in ALL_FIELDS if r is not None]
RANGE_FIELDS = [(s, n, t, r) for s, n, t, r in RULED if isinstance(r, Range)]
CHOICE_FIELDS = [(s, n, t, r) for s, n, t, r in RULED if isinstance(r, Choice)]


def _ids(rows):
    return [f"{s}.{n}" for s, n, *_ in rows]


def test_introspection_found_the_rules():
    # guards the parametrization below against silently testing nothing
    assert len(RANGE_FIELDS) >= 25 and len(CHOICE_FIELDS) >= 8
    assert all(isinstance(r, (Range, Choice, Text, Points)) for *_, r in RULED)
    assert {s for s, *_ in RULED} == set(SECTIONS)


def _range_bad_values(kind, rule):
    span = rule.hi - rule.lo
    lo_bad, hi_bad = rule.lo - max(1, span), rule.hi + max(1, span)
    if kind is int:
        return [int(math.floor(lo_bad)), int(math.ceil(hi_bad))]
    return [float(lo_bad), float(hi_bad), float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize("sec,name,kind,rule", RANGE_FIELDS, ids=_ids(RANGE_FIELDS))
def test_range_field_rejects_out_of_range(sec, name, kind, rule):
    cls = SECTIONS[sec]
    for bad in _range_bad_values(kind, rule):
        with pytest.raises(ValueError) as info:
            cls(**{name: bad})
        msg = str(info.value)
        assert f"{sec}.{name}" in msg
        assert f"[{rule.lo}, {rule.hi}]" in msg
    # both ends of the closed range are accepted
    for good in (rule.lo, rule.hi):
        value = kind(good)
        if sec == "data" and name == "image_size" and 0 < value < 4:
            continue
        obj = cls(**{name: value})
        assert getattr(obj, name) == value


@pytest.mark.parametrize("sec,name,kind,rule", CHOICE_FIELDS, ids=_ids(CHOICE_FIELDS))
def test_choice_field_rejects_unknown(sec, name, kind, rule):
    cls = SECTIONS[sec]
    bad = "definitely_not_a_choice" if kind is str else max(rule.choices) + 1
    with pytest.raises(ValueError) as info:
        cls(**{name: bad})
    msg = str(info.value)
    assert f"{sec}.{name}" in msg
    for choice in rule.choices:
        assert repr(choice) in msg
    for good in rule.choices:
        if sec == "data" and good == "folder":
            obj = cls(**{name: "folder", "source_path" if name == "source" else "path": "somewhere"})
        elif sec == "data" and good == "drawn":  # a drawing needs its points (tests/test_drawn.py)
            obj = cls(**{name: "drawn", "points": ((0, 0), (1, 1), (2, 0))})
        else:
            obj = cls(**{name: good})
        assert getattr(obj, name) == good


INT_FIELDS = [(s, n) for s, n, t, _ in ALL_FIELDS if t is int]
FLOAT_FIELDS = [(s, n) for s, n, t, _ in ALL_FIELDS if t is float]
STR_FIELDS = [(s, n) for s, n, t, _ in ALL_FIELDS if t is str]
BOOL_FIELDS = [(s, n) for s, n, t, _ in ALL_FIELDS if t is bool]


@pytest.mark.parametrize("sec,name", INT_FIELDS, ids=[f"{s}.{n}" for s, n in INT_FIELDS])
@pytest.mark.parametrize("bad", [True, False, "3", 2.5, None])
def test_int_field_rejects_wrong_type(sec, name, bad):
    with pytest.raises(ValueError, match=rf"{sec}\.{name}"):
        SECTIONS[sec](**{name: bad})


@pytest.mark.parametrize("sec,name", FLOAT_FIELDS, ids=[f"{s}.{n}" for s, n in FLOAT_FIELDS])
@pytest.mark.parametrize("bad", [True, "0.01", None])
def test_float_field_rejects_wrong_type(sec, name, bad):
    with pytest.raises(ValueError, match=rf"{sec}\.{name}"):
        SECTIONS[sec](**{name: bad})


@pytest.mark.parametrize("sec,name", STR_FIELDS, ids=[f"{s}.{n}" for s, n in STR_FIELDS])
@pytest.mark.parametrize("bad", [1, True, None, 0.5])
def test_str_field_rejects_wrong_type(sec, name, bad):
    with pytest.raises(ValueError, match=rf"{sec}\.{name}"):
        SECTIONS[sec](**{name: bad})


@pytest.mark.parametrize("sec,name", BOOL_FIELDS, ids=[f"{s}.{n}" for s, n in BOOL_FIELDS])
@pytest.mark.parametrize("bad", [1, 0, "true", None])
def test_bool_field_rejects_wrong_type(sec, name, bad):
    with pytest.raises(ValueError, match=rf"{sec}\.{name}"):
        SECTIONS[sec](**{name: bad})


def test_int_for_float_field_is_accepted_as_float():
    t = TrainConfig(lr_g=1, lr_final_factor=0)
    assert t.lr_g == 1.0 and type(t.lr_g) is float
    assert t.lr_final_factor == 0.0 and type(t.lr_final_factor) is float


def test_integral_float_for_int_field_becomes_int():
    m = ModelConfig(z_dim=4.0)
    assert m.z_dim == 4 and type(m.z_dim) is int


def test_field_type_and_sections_are_consistent():
    for sec, name, kind, _ in ALL_FIELDS:
        assert FIELD_SECTION[name] == sec
        assert field_type(name) is kind
    assert len(FIELD_SECTION) == len(ALL_FIELDS)  # flat names are unique across sections
    assert "lr_g" in LIVE_FIELDS and "arch" not in LIVE_FIELDS and "dataset" not in LIVE_FIELDS


# ---------------------------------------------------------------- from_dict

def test_from_dict_nested_flat_and_mixed_agree():
    nested = Config.from_dict({"train": {"lr_g": 2e-4, "d_steps": 3}, "model": {"z_dim": 8}})
    flat = Config.from_dict({"lr_g": 2e-4, "d_steps": 3, "z_dim": 8})
    mixed = Config.from_dict({"train.lr_g": 2e-4, "train": {"d_steps": 3}, "model.z_dim": 8})
    assert nested == flat == mixed
    assert nested.train.lr_g == 2e-4 and nested.train.d_steps == 3 and nested.model.z_dim == 8
    # everything else keeps its default
    default = Config()
    assert nested.data == default.data and nested.loss == default.loss
    assert nested.train.batch_size == default.train.batch_size


def test_from_dict_empty_is_default_and_roundtrips():
    c = Config.from_dict({})
    assert c == Config()
    assert Config.from_dict(c.to_dict()) == c
    assert Config.from_dict(c.flat()) == c


@pytest.mark.parametrize("d,word", [
    ({"nope": 1}, "nope"),
    ({"train": {"nope": 1}}, "nope"),
    ({"model.lr_g": 1e-3}, "model.lr_g"),  # right name, wrong section
    ({"model": {"lr_g": 1e-3}}, "lr_g"),
    ({"optim.lr_g": 1e-3}, "optim.lr_g"),
])
def test_from_dict_unknown_key(d, word):
    with pytest.raises(ValueError) as info:
        Config.from_dict(d)
    assert word in str(info.value)
    assert "unknown setting" in str(info.value)


@pytest.mark.parametrize("d", [[], "lr_g=1", None, 3, {"train": 5}, {"train": [1, 2]}])
def test_from_dict_rejects_non_objects(d):
    with pytest.raises(ValueError):
        Config.from_dict(d)


def test_from_dict_bad_value_names_field():
    with pytest.raises(ValueError, match=r"train\.lr_g = 5\.0 is out of range \[1e-06, 1\.0\]"):
        Config.from_dict({"train": {"lr_g": 5.0}})


# ---------------------------------------------------------------- overrides and replace

def test_with_overrides_parses_types():
    base = Config.from_dict({"dataset": "digits"})
    c = base.with_overrides(["lr_g=1e-3", "train.d_steps=2", "conditional=true"])
    assert c.train.lr_g == 1e-3 and type(c.train.lr_g) is float
    assert c.train.d_steps == 2 and type(c.train.d_steps) is int
    assert c.model.conditional is True
    assert base.model.conditional is False and base.train.d_steps == 1  # the original is untouched
    c2 = c.with_overrides([" conditional = off ", "z_dim=8", "loss=hinge", "batch_size=1e2"])
    assert c2.model.conditional is False and c2.model.z_dim == 8 and c2.loss.loss == "hinge"
    assert c2.train.batch_size == 100


@pytest.mark.parametrize("pair,words", [
    ("lr_g", ["key=value", "lr_g"]),
    ("nope=1", ["nope"]),
    ("model.lr_g=1e-3", ["model.lr_g"]),
    ("lr_g=abc", ["train.lr_g", "abc"]),
    ("lr_g=5", ["train.lr_g", "[1e-06, 1.0]"]),
    ("d_steps=1.5", ["train.d_steps"]),
    ("d_steps=two", ["train.d_steps"]),
    ("conditional=maybe", ["model.conditional"]),
    ("loss=nope", ["loss.loss", "'hinge'"]),
    ("lr_g=", ["train.lr_g"]),
    ("=3", ["unknown setting"]),
])
def test_with_overrides_bad_strings(pair, words):
    with pytest.raises(ValueError) as info:
        Config().with_overrides([pair])
    for w in words:
        assert w in str(info.value)


def test_replace_validates():
    c = Config()
    assert c.replace(lr_d=0.5).train.lr_d == 0.5
    with pytest.raises(ValueError, match="train.lr_d"):
        c.replace(lr_d=-1.0)
    with pytest.raises(ValueError, match="unknown setting"):
        c.replace(nope=1)


# ---------------------------------------------------------------- cross-field rules

@pytest.mark.parametrize("dataset", ["gauss1d", "ring8", "grid25", "spiral", "line", "quadratic"])
def test_dcgan_on_toy_data_rejected(dataset):
    with pytest.raises(ValueError, match="model.arch = 'dcgan' needs image data"):
        Config.from_dict({"arch": "dcgan", "dataset": dataset})


@pytest.mark.parametrize("size", [0, 8, 16, 30, 48, 128])
def test_dcgan_image_size_must_be_supported(size):
    with pytest.raises(ValueError) as info:
        Config.from_dict({"arch": "dcgan", "dataset": "digits", "image_size": size})
    assert "data.image_size" in str(info.value) and "[28, 32, 64]" in str(info.value)


@pytest.mark.parametrize("size", [28, 32, 64])
def test_dcgan_supported_sizes_accepted(size):
    c = Config.from_dict({"arch": "dcgan", "dataset": "digits", "image_size": size})
    assert c.model.arch == "dcgan" and c.data.image_size == size


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_dcgan_native_mnist_size_accepted(dataset):
    assert Config.from_dict({"arch": "dcgan", "dataset": dataset}).data.image_size == 0


def test_conditional_needs_image_data():
    with pytest.raises(ValueError, match="model.conditional"):
        Config.from_dict({"conditional": True, "dataset": "ring8"})
    assert Config.from_dict({"conditional": True, "dataset": "digits"}).model.conditional


@pytest.mark.parametrize("size", [1, 2, 3])
def test_tiny_image_size_rejected(size):
    with pytest.raises(ValueError, match="data.image_size"):
        DataConfig(dataset="digits", image_size=size)


def test_folder_needs_path():
    with pytest.raises(ValueError, match="data.path"):
        DataConfig(dataset="folder")
    assert DataConfig(dataset="folder", path="x").path == "x"


# ---------------------------------------------------------------- property test

_values = st.one_of(
    st.integers(),
    st.integers(min_value=-5, max_value=300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0.0, max_value=2.0),
    st.text(max_size=10),
    st.booleans(),
    st.none(),
    st.sampled_from([c for *_, r in CHOICE_FIELDS for c in r.choices]),
)
_keys = st.sampled_from(sorted(FIELD_SECTION) + [f"{FIELD_SECTION[k]}.{k}" for k in sorted(FIELD_SECTION)])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6))
def test_from_dict_only_raises_value_error_and_roundtrips(d):
    try:
        c = Config.from_dict(d)
    except ValueError:
        return
    again = Config.from_dict(c.to_dict())
    assert again == c
    assert again.to_dict() == c.to_dict()
    assert Config.from_dict(c.flat()) == c
    # every accepted value has its declared type (no bools in int fields, no strs in float fields...)
    for name, value in c.flat().items():
        assert type(value) is field_type(name), (name, value)


@pytest.mark.parametrize("key", ["z_dim", "lr_g", "seed", "label_smoothing"])
@pytest.mark.parametrize("huge", [10**400, -(10**400)], ids=["1e400", "-1e400"])
def test_huge_json_integer_is_a_value_error(key, huge):
    # json.loads("1" + "0" * 400) gives a Python int too large for a float
    with pytest.raises(ValueError, match=FIELD_SECTION[key] + r"\." + key):
        Config.from_dict({key: huge})


@pytest.mark.parametrize("name", ["path", "data_dir"])
def test_text_fields_reject_nul_and_overlong(name):
    with pytest.raises(ValueError, match=rf"data\.{name} .*NUL"):
        DataConfig(**{name: "a\x00b"})
    with pytest.raises(ValueError, match=rf"data\.{name} is 5000 characters long; at most 4096"):
        DataConfig(**{name: "x" * 5000})


# ---------------------------------------------------------------- JSON (files, URLs)

def test_from_json_accepts_plain_and_saved_config_json():
    c = Config.from_dict({"lr_g": 2e-4, "loss": "hinge"})
    import json
    assert Config.from_json(json.dumps(c.to_dict())) == c
    saved = {"format": "gan-playground/1", "step": 10, "run_id": "x", "config": c.to_dict()}
    assert Config.from_json(json.dumps(saved).encode()) == c


@pytest.mark.parametrize("text,words", [
    ("{", "not valid JSON"), ("[1, 2]", "JSON object"), (b"\xff\xfe", "UTF-8"),
    ('{"train": {"lr_g": 9}}', "train.lr_g = 9"), ('{"lr_typo": 1}', "unknown setting 'lr_typo'"),
    ('{"loss": {"loss": "nope"}}', "loss.loss = 'nope'"), ("[" * 100000, "nested too deeply"),
])
def test_from_json_errors_say_what_and_where(text, words):
    with pytest.raises(ValueError) as info:
        Config.from_json(text)
    assert words in str(info.value)


_json = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
                     lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                     max_leaves=12)
_config_like = st.dictionaries(st.sampled_from(sorted(SECTIONS) + sorted(FIELD_SECTION)), _json, max_size=5)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_json, _config_like))
def test_from_json_fuzz_only_value_errors(obj):
    import json
    try:
        text = json.dumps(obj)
    except ValueError:  # NaN is fine in Python's JSON; nothing else should fail
        return
    try:
        Config.from_json(text)
    except ValueError as exc:
        assert str(exc) and "\n" not in str(exc)  # one line, something to read


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=64))
def test_from_json_fuzz_raw_text(data):
    try:
        Config.from_json(data)
    except ValueError:
        pass
