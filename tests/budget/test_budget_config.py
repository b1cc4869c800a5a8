"""The standing budget's sources (environment, config.toml) and every way they can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from novareel.foundation.errors import BudgetExceededError, InvalidRequestError
from novareel.limits.budget import (
    COUNT_LOCAL_ENV,
    DAILY_ENV,
    MONTHLY_ENV,
    CostCap,
    config_path,
    load_budget,
    parse_max_cost,
)


def write_config(home: Path, text: str) -> Path:
    path = config_path()
    assert path.parent == home
    path.write_text(text, encoding="utf-8")
    return path


def test_nothing_set_means_no_budget(isolated_home: Path) -> None:
    budget = load_budget({})
    assert (budget.daily_usd, budget.monthly_usd, budget.count_local) == (None, None, False)
    assert not budget.active
    assert budget.config_file == str(isolated_home / "config.toml")


def test_config_file_is_read_and_sources_are_named(isolated_home: Path) -> None:
    path = write_config(isolated_home, "[budget]\ndaily_usd = 20\nmonthly_usd = 200.5\n")
    budget = load_budget({})
    assert (budget.daily_usd, budget.monthly_usd) == (20.0, 200.5)
    assert budget.sources["daily_usd"] == f"{path} [budget] daily_usd"
    assert budget.raise_with("monthly") == (
        f"{MONTHLY_ENV}=<USD>",
        f"monthly_usd = <USD> under [budget] in {path}",
    )


def test_environment_wins_and_off_switches_a_file_limit_off(isolated_home: Path) -> None:
    write_config(isolated_home, "[budget]\ndaily_usd = 20\nmonthly_usd = 200\n")
    budget = load_budget({DAILY_ENV: " 5.5 ", MONTHLY_ENV: "off"})
    assert budget.daily_usd == 5.5 and budget.sources["daily_usd"] == DAILY_ENV
    assert budget.monthly_usd is None and budget.sources["monthly_usd"] == MONTHLY_ENV
    # An empty variable is not set: the file's value stays.
    assert load_budget({DAILY_ENV: ""}).daily_usd == 20.0


def test_zero_is_a_valid_limit_and_a_dollar_sign_is_tolerated() -> None:
    assert load_budget({DAILY_ENV: "0"}).daily_usd == 0.0
    assert load_budget({DAILY_ENV: "$12"}).daily_usd == 12.0


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", "1e400"])
def test_bad_environment_values_name_the_variable_value_and_rule(value: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        load_budget({DAILY_ENV: value})
    problem = caught.value.problems[0]
    assert problem.field == DAILY_ENV
    assert problem.value == value
    assert problem.limit is not None and "0 or more" in problem.limit
    assert caught.value.exit_code == 2
    assert caught.value.hint is not None and "off" in caught.value.hint


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ('[budget]\ndaily_usd = "20"\n', "daily_usd", "20"),
        ("[budget]\nmonthly_usd = -3\n", "monthly_usd", -3),
        ("[budget]\ndaily_usd = true\n", "daily_usd", True),
        ("[budget]\ndaily = 20\n", "daily", 20),
        ('[budget]\ncount_local = "yes"\n', "count_local", "yes"),
    ],
)
def test_bad_config_values_name_the_file_key_and_value(
    isolated_home: Path, text: str, field: str, value: object
) -> None:
    path = write_config(isolated_home, text)
    with pytest.raises(InvalidRequestError) as caught:
        load_budget({})
    problem = caught.value.problems[0]
    assert problem.field == f"{path} [budget] {field}"
    assert problem.value == value
    assert problem.limit


def test_a_misspelt_key_suggests_the_right_one(isolated_home: Path) -> None:
    write_config(isolated_home, "[budget]\nmontly_usd = 3\n")
    with pytest.raises(InvalidRequestError, match="did you mean monthly_usd"):
        load_budget({})


def test_broken_toml_names_the_file(isolated_home: Path) -> None:
    path = write_config(isolated_home, "[budget\ndaily_usd = 1\n")
    with pytest.raises(InvalidRequestError, match="not valid TOML") as caught:
        load_budget({})
    assert caught.value.problems[0].field == str(path)


def test_other_tables_of_the_config_file_are_left_alone(isolated_home: Path) -> None:
    write_config(isolated_home, "[gallery]\ntheme = 'dark'\n[budget]\ndaily_usd = 1\n")
    assert load_budget({}).daily_usd == 1.0


def test_count_local_from_file_and_environment(isolated_home: Path) -> None:
    write_config(isolated_home, "[budget]\ncount_local = true\n")
    assert load_budget({}).count_local is True
    assert load_budget({COUNT_LOCAL_ENV: "0"}).count_local is False
    with pytest.raises(InvalidRequestError) as caught:
        load_budget({COUNT_LOCAL_ENV: "maybe"})
    assert caught.value.problems[0].field == COUNT_LOCAL_ENV


def test_load_budget_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MONTHLY_ENV, "99")
    assert load_budget().monthly_usd == 99.0


@pytest.mark.parametrize("value", ["abc", "-0.01", "nan"])
def test_max_cost_values_are_checked_naming_the_flag(value: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_max_cost(value)
    assert caught.value.problems[0].field == "--max-cost"
    assert str(caught.value).startswith("--max-cost: ")


def test_max_cost_accepts_numbers_and_none() -> None:
    assert parse_max_cost(None) is None
    assert parse_max_cost("2.5") == 2.5
    assert parse_max_cost(0) == 0.0


def test_a_cost_cap_counts_what_was_submitted_and_says_what_remains() -> None:
    cap = CostCap(1.0)
    cap.check(0.48)
    cap.add(0.48)
    cap.check(0.48)
    cap.add(0.48)
    with pytest.raises(BudgetExceededError) as caught:
        cap.check(0.48)
    err = caught.value
    assert (err.limit, err.asked_usd, err.limit_usd, err.spent_usd) == ("max_cost", 0.48, 1.0, 0.96)
    assert err.remaining_usd == 0.04
    assert err.raise_with == ("max_cost_usd",)
    assert "max_cost_usd" in err.message and "$0.04 remains" in err.message
    assert err.exit_code == 2
    with pytest.raises(InvalidRequestError):
        CostCap(-5)
