import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factordiff.analysis.percolation import PercolationConfig
from factordiff.config import (
    DataConfig,
    RunConfig,
    apply_overrides,
    from_dict,
    load_config,
    parse_yaml,
    save_config,
    to_dict,
    to_yaml,
)
from factordiff.errors import ConfigError
from factordiff.presets import PRESETS, preset


def test_defaults_are_paper_values():
    d = DataConfig()
    assert (d.kind, d.image_size, d.sigma, d.variance_convention) == ("bump", 32, 1.0, "4sigma2")
    assert (d.dx, d.dy, d.label_range, d.canvas_margin) == (1.0, 1.0, (0.0, 32.0), 6)


def test_overrides_set_nested_fields_and_types():
    cfg = apply_overrides(RunConfig(), ["data.sigma=0.5", "data.increment=0.25", "data.holdout=box",
                                        "data.holdout_x=[11, 21]", "seed=3", "data.periodic=false"])
    assert cfg.data.sigma == 0.5 and cfg.data.increment == 0.25 and cfg.seed == 3
    assert cfg.data.holdout_x == (11.0, 21.0) and isinstance(cfg.data.holdout_x[0], float)


def test_yaml12_floats_and_safe_loading():
    assert parse_yaml("1e-3") == 0.001  # PyYAML's 1.1 resolver would give the string '1e-3'
    with pytest.raises(ConfigError, match="python"):
        parse_yaml("!!python/object/apply:os.system ['echo hacked']")


def test_yaml_round_trip(tmp_path):
    cfg = preset("p2-sos-stripes-cross", ["data.fraction=0.3"])
    path = save_config(cfg, tmp_path / "c.yaml")
    assert load_config(path) == cfg
    assert "holdout_x" in path.read_text()  # every default written out


@pytest.mark.parametrize("override, field, value", [
    ("data.sigma=0", "data.sigma", "0"),
    ("data.sigma=-1", "data.sigma", "-1"),
    ("data.sigma=.nan", "data.sigma", "nan"),
    ("data.increment=0", "data.increment", "0"),
    ("data.increment=-0.5", "data.increment", "-0.5"),
    ("data.increment=40", "data.increment", "40"),
    ("data.image_size=30", "data.image_size", "30"),
    ("data.image_size=32.0", "data.image_size", "32.0"),
    ("data.fraction=0", "data.fraction", "0"),
    ("data.fraction=1.5", "data.fraction", "1.5"),
    ("data.kind=blob", "data.kind", "blob"),
    ("data.holdout=box data.holdout_x=[-3, 40]", "data.holdout_x", "-3"),
    ("data.holdout=cross data.holdout_x=[19, 13]", "data.holdout_x", "19"),
    ("data.periodic=1", "data.periodic", "1"),
    ("data.sigmma=1", "data.sigmma", "sigmma"),
])
def test_bad_values_name_field_value_and_allowed(override, field, value):
    with pytest.raises(ConfigError) as err:
        apply_overrides(RunConfig(), override.split(" "))
    msg = str(err.value)
    assert msg.startswith(field + ":"), msg
    assert value in msg, msg
    assert ("must be" in msg) or ("unknown key" in msg), msg


def test_unknown_key_suggests_close_match():
    with pytest.raises(ConfigError, match="did you mean 'data.sigma'"):
        apply_overrides(RunConfig(), ["data.sigmma=1"])


def test_cross_field_rules():
    with pytest.raises(ConfigError, match="data.periodic"):
        DataConfig(kind="sos", periodic=True)
    with pytest.raises(ConfigError, match="data.holdout"):
        DataConfig(periodic=True, holdout="box")


def test_strict_types_from_yaml():
    with pytest.raises(ConfigError, match="data.image_size"):
        from_dict(RunConfig, {"data": {"image_size": True}})
    with pytest.raises(ConfigError, match="data.sigma"):
        from_dict(RunConfig, {"data": {"sigma": "0.5"}})
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(RunConfig, {"dataa": {}})


def test_all_presets_construct():
    for name in PRESETS:
        assert isinstance(preset(name), RunConfig)
    with pytest.raises(ConfigError, match="preset"):
        preset("nope")


def test_percolation_config_validation():
    PercolationConfig()
    with pytest.raises(ConfigError, match="percolation.fractions"):
        PercolationConfig(fractions=(0.0, 0.5))
    with pytest.raises(ConfigError, match="percolation.sigmas"):
        PercolationConfig(sigmas=())


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=150, deadline=None)
@given(sigma=st.one_of(finite, st.just(math.nan), st.just(math.inf)),
       increment=st.one_of(finite, st.just(math.nan)), fraction=finite,
       size=st.integers(-16, 300))
def test_fuzzed_data_configs_either_validate_or_raise_config_error(sigma, increment, fraction, size):
    try:
        cfg = DataConfig(sigma=sigma, increment=increment, fraction=fraction, image_size=size)
    except ConfigError as e:
        assert str(e).split(":")[0] in {"data.sigma", "data.increment", "data.fraction", "data.image_size"}
        return
    assert 0 < cfg.sigma <= cfg.image_size and 0 < cfg.increment <= cfg.image_size
    assert 0 < cfg.fraction <= 1 and cfg.image_size % 8 == 0
    # a valid config round-trips through YAML unchanged
    assert from_dict(RunConfig, parse_yaml(to_yaml(RunConfig(data=cfg)))) == RunConfig(data=cfg)
    assert to_dict(cfg)["sigma"] == cfg.sigma


def test_config_error_survives_pickling_as_a_sweep_worker_sends_it():
    import pickle

    e = pickle.loads(pickle.dumps(ConfigError("data.fraction", 0.02, "a setting that keeps an image")))
    assert isinstance(e, ConfigError) and e.field == "data.fraction" and "got 0.02" in str(e)
