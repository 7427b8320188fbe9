"""Seeded synthetic portfolio: projects, monthly status reports and the true overrun odds.

Generative story (one project)
------------------------------
*Static draw.* A category (reference class) sets the budget scale, the planned duration
(12-48 months) and the average optimism of the baseline. Observable attributes are drawn
beside it: ``portfolio``, ``region``, ``contract_type`` and ``team_size``.

*Hidden drivers* (never output): optimism bias of the estimates (its mean depends on the
category), scope volatility, team instability and contractor quality, each standard normal.
They set, per project, the prior mean of the log schedule ratio ``S = log(actual /
planned duration)`` and of the log cost ratio ``C = log(actual cost / baseline budget)``,
how much uncertainty is still to come, and the chance of a cost "blow-up" (a claim or
re-scope that multiplies the cost, fat-tailed for IT: 2-4x).

*Information arrives as news.* ``S = mu_s + sum of Gaussian increments``; the increment of
report ``t`` carries the share ``G(t / D) - G((t - 1) / D)`` of the news variance, where
``D`` is the planned duration in periods and ``G`` rises front-loaded to 1 (schedule news is
all in by 85% of the plan, cost news by 100%). ``C`` is built the same way plus, with a
hidden probability, a Gaussian jump at a uniformly timed hidden period. The running sums
``M_s(t)``, ``M_c(t)`` are the hidden state at report ``t``.

*How the state shows.* Every observable of report ``t`` is a function of the hidden state up
to ``t`` plus independent noise, never of later news:
percent complete follows the S-curve stretched by the current pace ``exp(M_s)``, minus the part
of the optimism bias that has not yet surfaced (so SPI drifts down on optimistic projects),
with persistent measurement noise that is larger for unstable teams; cumulative actual cost is
earned value times ``exp(M_c)`` with noise that shrinks as work is done; PMs re-estimate the
forecast finish and cost only now and then, and shrink the truth towards the baseline;
approved changes raise the budget; change requests arrive faster on volatile scopes and on bad
news; open risks fall as uncertainty resolves; open issues grow with the overrun; the RAG is
a noisy, sticky threshold of the overrun that optimistic PMs report greener.
Planned value is the baseline budget on a logistic S-curve over the planned duration.

*Finish.* ``actual_finish = start + ceil(planned_days * exp(S))`` days, ``actual_cost =
baseline_budget * exp(C)``; reports come every ``report_every_days`` until the finish or
``as_of``. A small share of projects is cancelled at a random time independent of the state.

*Oracle.* Given the hidden state at report ``t`` the remaining news is Gaussian with a known
variance, so ``P(schedule overrun)`` is a normal tail, conditioned on the project still running
at ``t`` (``S > log(t / D)``, a truncated normal), and ``P(cost overrun)`` is a two-component
normal mixture (blow-up still to come or not). The realised outcome is drawn from exactly
that distribution, so the oracle is calibrated on completed projects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from scipy.special import expit, log_ndtr, logit, ndtr

from risk_model.schemas import PROJECT_STATUSES, SCHEDULE_QUALITY_FIELDS, conform_projects

ORACLE_COLUMNS: tuple[str, ...] = ("project_id", "as_of", "p_schedule_oracle", "p_cost_oracle")
EXTRA_PROJECT_COLUMNS: tuple[str, ...] = ("region", "contract_type", "team_size")
PHASES: tuple[tuple[float, str], ...] = (
    (5.0, "Initiation"),
    (20.0, "Design"),
    (35.0, "Procurement"),
    (95.0, "Construction"),
    (np.inf, "Closeout"),
)
RAG_CODES: tuple[str, ...] = ("green", "amber", "red")


@dataclass(frozen=True)
class CategoryProfile:
    """Reference-class parameters of the simulator (all on the log-ratio scale)."""

    share: float
    budget_median: float
    months_median: float
    schedule_mean: float
    cost_mean: float
    optimism: float
    blowup_prob: float
    blowup_mean: float
    blowup_sd: float
    portfolio: str


CATEGORIES: dict[str, CategoryProfile] = {
    "IT": CategoryProfile(0.24, 4e6, 16.0, 0.23, 0.07, 1.3, 0.06, 0.95, 0.22, "Digital"),
    "Buildings": CategoryProfile(0.17, 30e6, 20.0, 0.16, 0.04, 1.0, 0.03, 0.45, 0.12, "Estates"),
    "Roads": CategoryProfile(0.16, 40e6, 19.0, 0.13, 0.03, 0.8, 0.02, 0.40, 0.12, "Transport"),
    "Bridges": CategoryProfile(0.08, 60e6, 22.0, 0.17, 0.08, 1.0, 0.03, 0.45, 0.12, "Transport"),
    "Water": CategoryProfile(0.12, 30e6, 20.0, 0.18, 0.06, 1.0, 0.03, 0.45, 0.12, "Utilities"),
    "Rail": CategoryProfile(0.09, 250e6, 26.0, 0.27, 0.14, 1.4, 0.05, 0.50, 0.15, "Transport"),
    "Energy": CategoryProfile(0.14, 150e6, 24.0, 0.20, 0.08, 1.1, 0.04, 0.45, 0.12, "Utilities"),
}
REGIONS: dict[str, float] = {
    "North": 0.02,
    "South": -0.01,
    "East": 0.0,
    "West": -0.02,
    "Central": 0.01,
}
# contract type: (share, cost-mean shift, blow-up logit shift)
CONTRACTS: dict[str, tuple[float, float, float]] = {
    "fixed_price": (0.35, -0.04, 0.5),
    "cost_plus": (0.2, 0.07, -0.3),
    "design_build": (0.3, 0.0, 0.0),
    "time_materials": (0.15, 0.05, 0.0),
}
NAME_WORDS: tuple[str, ...] = (
    "Upgrade", "Renewal", "Expansion", "Replacement", "Programme", "Modernisation", "Link",
)  # fmt: skip

SCHEDULE_NEWS_END = 1.0  # share of the plan by which all schedule news is in
COST_NEWS_END = 1.2  # cost news runs past the plan: final accounts and claims
EARLY_SCHEDULE = 0.35  # log ratios below zero are compressed: early finishes are rare
EARLY_COST = 0.5
CANCEL_HAZARD = 0.0015  # per report period, independent of the state
CHUNK = 2048  # projects simulated together as one (projects x periods) matrix


@dataclass(frozen=True)
class SimulatedPortfolio:
    """Canonical ``projects`` and ``snapshots`` frames, and the evaluation-only ``oracle``."""

    projects: pd.DataFrame
    snapshots: pd.DataFrame
    oracle: pd.DataFrame


@dataclass(frozen=True)
class _Draws:
    """Per-project arrays: observable statics, hidden drivers and the realised outcome."""

    category: np.ndarray
    region: np.ndarray
    contract: np.ndarray
    team_size: np.ndarray
    start_day: np.ndarray  # days after the span start
    planned_days: np.ndarray  # integer days
    budget: np.ndarray
    z_opt: np.ndarray
    z_scope: np.ndarray
    z_team: np.ndarray
    z_contr: np.ndarray
    mu_s: np.ndarray
    var_s: np.ndarray
    hidden_slip: np.ndarray  # part of mu_s that surfaces only as work proceeds
    mu_c: np.ndarray
    var_c: np.ndarray
    hidden_cost: np.ndarray
    blow_prob: np.ndarray
    blow_mean: np.ndarray
    blow_sd: np.ndarray
    cancel_period: np.ndarray


def s_curve(x: np.ndarray, steepness: float = 8.0, mid: float = 0.45) -> np.ndarray:
    """Logistic S-curve rescaled to run from 0 at ``x <= 0`` to 1 at ``x >= 1``."""
    xc = np.clip(x, 0.0, 1.0)
    lo, hi = expit(-steepness * mid), expit(steepness * (1.0 - mid))
    return (expit(steepness * (xc - mid)) - lo) / (hi - lo)


def revealed_share(x: np.ndarray, end: float, power: float = 1.0) -> np.ndarray:
    """Share of a project's news variance revealed by plan fraction ``x`` (1 from ``end`` on)."""
    r = np.clip(x / end, 0.0, 1.0)
    return 1.0 - (1.0 - r) ** power


def outcome_ratio(log_ratio: np.ndarray, early: float) -> np.ndarray:
    """Actual/planned ratio of a log-ratio state, with underruns compressed by ``early``."""
    return np.exp(np.where(log_ratio < 0.0, early * log_ratio, log_ratio))


def log_ratio_of(ratio: np.ndarray, early: float) -> np.ndarray:
    """Inverse of ``outcome_ratio``."""
    logs = np.log(ratio)
    return np.where(logs < 0.0, logs / early, logs)


CATEGORY_FIELDS: tuple[str, ...] = (
    "budget_median",
    "months_median",
    "schedule_mean",
    "cost_mean",
    "optimism",
    "blowup_prob",
    "blowup_mean",
    "blowup_sd",
)


def _category_arrays(category: np.ndarray) -> dict[str, np.ndarray]:
    """Every numeric ``CategoryProfile`` field as an array aligned with ``category`` codes."""
    profiles = list(CATEGORIES.values())
    return {f: np.array([getattr(p, f) for p in profiles])[category] for f in CATEGORY_FIELDS}


def _draw_projects(rng: np.random.Generator, n: int, span_days: float) -> _Draws:
    """Static attributes, hidden drivers and the prior of every project."""
    shares = np.array([p.share for p in CATEGORIES.values()])
    category = rng.choice(len(CATEGORIES), size=n, p=shares / shares.sum())
    cat = _category_arrays(category)
    region = rng.integers(0, len(REGIONS), size=n)
    c_share = np.array([v[0] for v in CONTRACTS.values()])
    contract = rng.choice(len(CONTRACTS), size=n, p=c_share / c_share.sum())
    z_opt, z_scope, z_team, z_contr = rng.standard_normal((4, n))
    size_z = rng.standard_normal(n)
    team_noise = rng.standard_normal(n)
    # team instability is partly visible: small teams relative to budget are less stable
    z_team = -0.6 * team_noise + 0.8 * z_team
    budget = np.round(cat["budget_median"] * np.exp(0.9 * size_z), -3).clip(50_000.0)
    team_size = np.round(np.exp(np.log(6.0) + 0.35 * size_z + 0.45 * team_noise)).clip(2)
    months = np.clip(cat["months_median"] * np.exp(0.3 * rng.standard_normal(n)), 12.0, 48.0)
    planned_days = np.round(months * 30.44).astype(np.int64)
    start_day = rng.integers(0, max(int(span_days), 1), size=n)

    region_shift = np.array(list(REGIONS.values()))[region]
    c_cost = np.array([v[1] for v in CONTRACTS.values()])[contract]
    c_blow = np.array([v[2] for v in CONTRACTS.values()])[contract]
    opt = 0.08 * cat["optimism"] * z_opt
    mu_s = (
        cat["schedule_mean"] + region_shift + opt + 0.06 * z_scope + 0.05 * z_team
        + 0.03 * z_contr + 0.02 * size_z
    )  # fmt: skip
    mu_c = (
        cat["cost_mean"] + c_cost + 0.6 * opt + 0.06 * z_scope + 0.07 * z_contr
        + 0.02 * z_team + 0.02 * size_z + 0.3 * (mu_s - cat["schedule_mean"])
    )  # fmt: skip
    var_s = (0.28 * np.exp(0.12 * z_scope + 0.08 * z_team)) ** 2
    var_c = (0.26 * np.exp(0.15 * z_scope)) ** 2
    hidden_slip = 0.5 * np.maximum(cat["schedule_mean"] + opt, 0.0)
    hidden_cost = 0.5 * np.maximum(cat["cost_mean"] + 0.6 * opt, 0.0)
    blow_prob = expit(logit(cat["blowup_prob"]) + 0.5 * z_scope + 0.5 * z_contr + c_blow)
    cancel_period = rng.geometric(CANCEL_HAZARD, size=n)
    return _Draws(
        category=category, region=region, contract=contract, team_size=team_size,
        start_day=start_day, planned_days=planned_days, budget=budget,
        z_opt=z_opt, z_scope=z_scope, z_team=z_team, z_contr=z_contr,
        mu_s=mu_s, var_s=var_s, hidden_slip=hidden_slip,
        mu_c=mu_c, var_c=var_c, hidden_cost=hidden_cost,
        blow_prob=blow_prob, blow_mean=cat["blowup_mean"], blow_sd=cat["blowup_sd"],
        cancel_period=cancel_period,
    )  # fmt: skip


def _ar1(rng: np.random.Generator, shape: tuple[int, int], rho: float) -> np.ndarray:
    """Unit-variance AR(1) noise along axis 1 (persistent reporting error)."""
    z = rng.standard_normal(shape) * math.sqrt(1.0 - rho * rho)
    z[:, 0] = rng.standard_normal(shape[0])
    out: np.ndarray = lfilter([1.0], [1.0, -rho], z, axis=1)
    return out


def _forward_fill(values: np.ndarray, mask: np.ndarray, initial: np.ndarray | float) -> np.ndarray:
    """Along axis 1, the value at the latest ``mask`` position so far (``initial`` before any)."""
    m, n = values.shape
    idx = np.where(mask, np.arange(1, n + 1), 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    padded = np.concatenate([np.broadcast_to(np.asarray(initial, float), (m,))[:, None], values], 1)
    return np.take_along_axis(padded, idx, axis=1)


def _news(
    rng: np.random.Generator,
    var: np.ndarray,
    plan_days: np.ndarray,
    period: int,
    end: float,
    n: int,
) -> np.ndarray:
    """Gaussian news increments of reports 1..n (zero once all news is in)."""
    t = np.arange(1, n + 1)[None, :] * period
    d = plan_days[:, None].astype(float)
    share = revealed_share(t / d, end) - revealed_share((t - period) / d, end)
    return np.sqrt(var[:, None] * share) * rng.standard_normal((len(var), n))


def _pad(matrix: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` columns of ``matrix``, repeating its last column when it is shorter."""
    if matrix.shape[1] >= n:
        return matrix[:, :n]
    extra = np.repeat(matrix[:, -1:], n - matrix.shape[1], axis=1)
    return np.concatenate([matrix, extra], axis=1)


def schedule_cut(plan_days: np.ndarray, threshold: float) -> np.ndarray:
    """Log duration ratio above which whole-day finishes count as a schedule overrun.

    ``actual_days = ceil(plan_days * exp(S))`` overruns when ``(actual - plan) / plan >
    threshold``, i.e. ``actual >= plan + e`` for the least such whole ``e``: ``S > log((plan + e
    - 1) / plan)``.
    """
    e = np.floor(threshold * plan_days)
    e = np.where(e / plan_days > threshold, e, e + 1)
    return np.log((plan_days + e - 1) / plan_days)


def _schedule_oracle(
    state: np.ndarray, remaining_var: np.ndarray, cut: np.ndarray, running: np.ndarray
) -> np.ndarray:
    """P(S > cut | state, S > running): the truncated normal tail of the remaining news."""
    sd = np.maximum(np.sqrt(remaining_var), 1e-9)
    num = log_ndtr((state - np.maximum(cut, running)) / sd)
    den = log_ndtr((state - running) / sd)
    return np.exp(np.minimum(num - den, 0.0))


def _cost_oracle(
    state: np.ndarray,
    remaining_var: np.ndarray,
    cut: float,
    jump_prob: np.ndarray,
    jump_mean: np.ndarray,
    jump_var: np.ndarray,
) -> np.ndarray:
    """P(C > cut) when C = state + remaining normal news + a jump with ``jump_prob``."""
    sd = np.maximum(np.sqrt(remaining_var), 1e-9)
    no_jump = ndtr((state - cut) / sd)
    with_jump = ndtr((state + jump_mean - cut) / np.sqrt(remaining_var + jump_var + 1e-18))
    return (1.0 - jump_prob) * no_jump + jump_prob * with_jump


def _slice(d: _Draws, sl: slice) -> _Draws:
    """The draws of projects ``sl``."""
    return _Draws(**{k: v[sl] for k, v in vars(d).items()})


@dataclass(frozen=True)
class _Chunk:
    """Simulated outcome per project and report columns (long, project-major) of a chunk."""

    actual_days: np.ndarray
    actual_cost: np.ndarray
    status: np.ndarray  # index into PROJECT_STATUSES: active, completed, cancelled
    row_project: np.ndarray
    row_period: np.ndarray
    columns: dict[str, np.ndarray]


def _simulate_chunk(
    d: _Draws,
    rng: np.random.Generator,
    period: int,
    as_of_day: int,
    schedule_threshold: float,
    cost_threshold: float,
) -> _Chunk:
    """Draw the news, outcome and every report of a block of projects as matrices."""
    m = len(d.budget)
    plan = d.planned_days.astype(float)
    plan_periods = plan / period
    n_info = math.ceil(float(plan_periods.max())) + 1
    eps_s = _news(rng, d.var_s, d.planned_days, period, SCHEDULE_NEWS_END, n_info)
    eps_c = _news(rng, d.var_c, d.planned_days, period, COST_NEWS_END, n_info)
    blow = rng.random(m) < d.blow_prob
    jump = d.blow_mean + d.blow_sd * rng.standard_normal(m)
    blow_at = np.ceil(rng.uniform(0.15, 0.85, m) * plan_periods)
    log_s = d.mu_s + eps_s.sum(axis=1)
    log_c = d.mu_c + eps_c.sum(axis=1) + np.where(blow, jump, 0.0)

    finish_exact = plan * outcome_ratio(log_s, EARLY_SCHEDULE)
    actual_days = np.ceil(finish_exact).astype(np.int64)
    n_run = np.ceil(finish_exact / period).astype(np.int64) - 1  # reports strictly before finish
    cancelled = d.cancel_period <= n_run
    n_life = np.where(cancelled, d.cancel_period - 1, n_run)
    n_asof = np.floor((as_of_day - d.start_day) / period).astype(np.int64)
    n_rep = np.clip(np.minimum(n_life, n_asof), 0, None)
    cancel_known = cancelled & (d.start_day + d.cancel_period * period <= as_of_day)
    done = ~cancelled & (d.start_day + actual_days <= as_of_day)
    status = np.where(cancel_known, 2, np.where(done, 1, 0))

    n = max(int(n_rep.max()), 1)
    t = np.arange(1, n + 1, dtype=float)[None, :]
    x = t * period / plan[:, None]
    surfaced = np.clip(x / 0.8, 0.0, 1.0)
    state_s = d.mu_s[:, None] + _pad(np.cumsum(eps_s, axis=1), n)
    state_c = d.mu_c[:, None] + _pad(np.cumsum(eps_c, axis=1), n)
    news_s, news_c = _pad(eps_s, n), _pad(eps_c, n)
    if n > n_info:
        news_s[:, n_info:] = 0.0
        news_c[:, n_info:] = 0.0
    blown = blow[:, None] & (t >= blow_at[:, None])
    blow_now = blow[:, None] & (t == blow_at[:, None])

    # progress: S-curve at the current pace, optimism surfacing late, persistent noise
    pace = state_s - d.hidden_slip[:, None] * (1.0 - surfaced)
    noise_sd = 0.025 * np.exp(0.4 * d.z_team)[:, None]
    progress = s_curve(x / outcome_ratio(pace, EARLY_SCHEDULE)) * np.exp(
        noise_sd * _ar1(rng, (m, n), 0.7)
    )
    progress = np.maximum.accumulate(np.clip(progress, 1e-3, 0.99), axis=1)
    # cost: cumulative AC = EV * exp(current cost state), noisier while little is spent
    cost_sd = 0.02 + 0.08 * (1.0 - progress)
    cost_state = (
        state_c + np.where(blown, jump[:, None], 0.0) - d.hidden_cost[:, None] * (1.0 - surfaced)
    ) + cost_sd * _ar1(rng, (m, n), 0.6)
    budget = d.budget[:, None]
    earned = budget * progress
    actual = np.maximum.accumulate(earned * outcome_ratio(cost_state, EARLY_COST), axis=1)
    approve = rng.random((m, n)) < (0.1 * np.exp(0.4 * d.z_scope))[:, None]
    growth = _forward_fill(0.6 * np.maximum(cost_state, 0.0), approve, 0.0)
    current_budget = budget * np.exp(np.maximum.accumulate(growth, axis=1))

    # PM re-estimates: now and then, shrunk towards the baseline
    update = (rng.random((m, n)) < 0.3) | blow_now
    shrink = np.clip(0.65 * np.exp(-0.3 * d.z_opt), 0.2, 1.0)[:, None]
    est_noise = 0.03 * rng.standard_normal((2, m, n))
    slip_est = _forward_fill(shrink * pace + est_noise[0], update, 0.0)
    forecast_days = np.maximum(plan[:, None] * np.exp(slip_est), (t + 0.5) * period)
    cost_est = _forward_fill(shrink * cost_state + est_noise[1], update, 0.0)
    forecast_cost = np.maximum(np.maximum(budget * np.exp(cost_est), current_budget), actual)

    cr_rate = (
        0.12 * np.exp(0.7 * d.z_scope)[:, None]
        + 3.0 * np.maximum(news_s, 0.0)
        + 3.0 * np.maximum(news_c, 0.0)
        + 2.0 * blow_now
    )
    change_requests = np.cumsum(rng.poisson(cr_rate), axis=1)
    unresolved = 1.0 - revealed_share(x, SCHEDULE_NEWS_END)
    risks = rng.poisson(
        (1.5 + 7.0 * unresolved) * np.exp(0.3 * d.z_scope + 0.15 * d.z_contr)[:, None]
    )
    issue_rate = (
        1.5 * np.exp(0.4 * d.z_contr + 0.3 * d.z_team)[:, None]
        + 8.0 * np.maximum(pace - 0.05, 0.0)
        + 6.0 * np.maximum(cost_state - 0.05, 0.0)
    )
    issues = rng.poisson(issue_rate)
    latent = pace + cost_state - 0.06 * d.z_opt[:, None] + 0.06 * rng.standard_normal((m, n))
    rag_now = (latent > 0.2).astype(float) + (latent > 0.45)
    rag = _forward_fill(rag_now, (rng.random((m, n)) < 0.4) | (t == 1), 0.0)

    # oracle: the exact overrun probability given the hidden state at each report
    p_sched = _schedule_oracle(
        state_s,
        d.var_s[:, None] * (1.0 - revealed_share(x, SCHEDULE_NEWS_END)),
        schedule_cut(plan, schedule_threshold)[:, None],
        log_ratio_of(x, EARLY_SCHEDULE),
    )
    still = np.clip((0.85 - t / plan_periods[:, None]) / 0.7, 0.0, 1.0)
    prior = d.blow_prob[:, None] * still
    jump_prob = np.where(blown, 1.0, prior / (1.0 - d.blow_prob[:, None] + prior))
    p_cost = _cost_oracle(
        state_c,
        d.var_c[:, None] * (1.0 - revealed_share(x, COST_NEWS_END)),
        math.log1p(cost_threshold),
        jump_prob,
        np.where(blown, jump[:, None], d.blow_mean[:, None]),
        np.where(blown, 0.0, d.blow_sd[:, None] ** 2),
    )

    valid = t <= n_rep[:, None]
    last = np.clip(n_rep - 1, 0, None)
    spent = np.where(n_rep > 0, actual[np.arange(m), last], 0.0)
    final_cost = np.where(
        cancelled, np.round(spent), np.round(d.budget * outcome_ratio(log_c, EARLY_COST))
    )
    final_days = np.where(cancelled, d.cancel_period * period, actual_days)
    rows, cols = np.nonzero(valid)
    columns = {
        "percent_complete": np.round(100.0 * progress, 2),
        "planned_value": np.round(budget * s_curve(x)),
        "earned_value": np.round(earned),
        "actual_cost": np.round(actual),
        "forecast_days": np.round(forecast_days),
        "forecast_cost": np.round(forecast_cost),
        "budget": np.round(current_budget),
        "rag": rag,
        "open_risks": risks.astype(float),
        "open_issues": issues.astype(float),
        "change_requests": change_requests.astype(float),
        "p_schedule_oracle": p_sched,
        "p_cost_oracle": p_cost,
    }
    return _Chunk(
        actual_days=final_days,
        actual_cost=final_cost,
        status=status,
        row_project=rows,
        row_period=cols + 1,
        columns={k: v[valid] for k, v in columns.items()},
    )


def _phase(percent: np.ndarray) -> np.ndarray:
    """Phase name of each percent complete."""
    cuts = np.array([c for c, _ in PHASES[:-1]])
    names = np.array([name for _, name in PHASES], dtype=object)
    return names[np.searchsorted(cuts, percent, side="right")]


def _text(values: np.ndarray) -> pd.Series:
    """An ``object`` Series of Python strings (no string-dtype inference, no copies)."""
    return pd.Series(values, dtype=object, copy=False)


def _ids(n: int) -> np.ndarray:
    """Project ids ``P00001``.. (wider when ``n`` needs it)."""
    width = max(5, len(str(n)))
    return np.array([f"P{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _projects_frame(
    d: _Draws, ids: np.ndarray, origin: np.datetime64, chunks: list[_Chunk]
) -> pd.DataFrame:
    """The canonical projects frame (outcomes only where completed or cancelled)."""
    status = np.concatenate([c.status for c in chunks])
    finished = status > 0
    days = np.concatenate([c.actual_days for c in chunks])
    cost = np.concatenate([c.actual_cost for c in chunks])
    start = origin + d.start_day.astype("timedelta64[D]")
    cats = np.array(list(CATEGORIES), dtype=object)[d.category]
    regions = np.array(list(REGIONS), dtype=object)[d.region]
    portfolios = np.array([p.portfolio for p in CATEGORIES.values()], dtype=object)[d.category]
    words = np.array(NAME_WORDS, dtype=object)[np.arange(len(ids)) % len(NAME_WORDS)]
    frame = pd.DataFrame(
        {
            "project_id": ids,
            "name": regions + " " + cats + " " + words + " " + ids,
            "portfolio": portfolios,
            "category": cats,
            "start_date": start,
            "baseline_finish": start + d.planned_days.astype("timedelta64[D]"),
            "baseline_budget": d.budget,
            "currency": np.full(len(ids), "USD", dtype=object),
            "actual_finish": np.where(
                finished, start + days.astype("timedelta64[D]"), np.datetime64("NaT")
            ),
            "actual_cost": np.where(finished, cost, np.nan),
            "status": np.array(PROJECT_STATUSES, dtype=object)[status],
            "region": regions,
            "contract_type": np.array(list(CONTRACTS), dtype=object)[d.contract],
            "team_size": d.team_size.astype(float),
        }
    )
    return conform_projects(frame)


def _report_frames(
    d: _Draws, ids: np.ndarray, origin: np.datetime64, period: int, chunks: list[_Chunk]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The canonical snapshots frame and the oracle frame, row-aligned."""
    offsets = np.cumsum([0] + [len(c.status) for c in chunks[:-1]])
    proj = np.concatenate([c.row_project + o for c, o in zip(chunks, offsets, strict=True)])
    t = np.concatenate([c.row_period for c in chunks])
    col = {k: np.concatenate([c.columns.pop(k) for c in chunks]) for k in list(chunks[0].columns)}
    start = (origin + d.start_day.astype("timedelta64[D]"))[proj].astype("datetime64[ns]")
    as_of = start + (t * period).astype("timedelta64[D]")
    row_ids = ids[proj]
    snapshots = pd.DataFrame(
        {
            "project_id": _text(row_ids),
            "as_of": as_of,
            "phase": _text(_phase(col["percent_complete"])),
            "percent_complete": col["percent_complete"],
            "planned_value": col["planned_value"],
            "earned_value": col["earned_value"],
            "actual_cost": col["actual_cost"],
            "forecast_finish": start + col["forecast_days"].astype("timedelta64[D]"),
            "forecast_cost": col["forecast_cost"],
            "budget": col["budget"],
            "rag": _text(np.array(RAG_CODES, dtype=object)[col["rag"].astype(np.int64)]),
            "open_risks": col["open_risks"],
            "open_issues": col["open_issues"],
            "change_requests": col["change_requests"],
            # schedule-quality figures come only from schedule files (issue 4)
            **{name: np.full(len(as_of), np.nan) for name in SCHEDULE_QUALITY_FIELDS},
        }
    )
    oracle = pd.DataFrame(
        {
            "project_id": _text(row_ids),
            "as_of": as_of,
            "p_schedule_oracle": col["p_schedule_oracle"],
            "p_cost_oracle": col["p_cost_oracle"],
        }
    )
    # rows are already in (project_id, as_of) order with canonical dtypes: the frame equals
    # conform_snapshots(snapshots) (tested) without its three full copies
    return snapshots, oracle


def simulate_portfolio(
    n_projects: int,
    *,
    seed: int = 0,
    start: str = "2018-01-01",
    span_years: float = 5.0,
    report_every_days: int = 30,
    as_of: str | None = None,
    schedule_threshold: float = 0.10,
    cost_threshold: float = 0.10,
) -> SimulatedPortfolio:
    """A seeded synthetic portfolio: same arguments, same frames; no I/O.

    Projects start uniformly over ``span_years`` from ``start``; reports come every
    ``report_every_days`` until the finish or ``as_of`` (default: the end of the span).
    ``oracle`` holds, per report, the true probability of each overrun under the simulator.
    """
    if n_projects < 1:
        raise ValueError("n_projects must be at least 1")
    if report_every_days < 1 or span_years <= 0:
        raise ValueError("report_every_days and span_years must be positive")
    origin = np.datetime64(pd.Timestamp(start).date(), "D")
    span_days = span_years * 365.25
    cut_off = pd.Timestamp(as_of) if as_of is not None else None
    as_of_day = (
        int(span_days)
        if cut_off is None
        else int((np.datetime64(cut_off.date(), "D") - origin).astype(np.int64))
    )
    project_seed, *chunk_seeds = np.random.SeedSequence(seed).spawn(
        1 + math.ceil(n_projects / CHUNK)
    )
    draws = _draw_projects(np.random.default_rng(project_seed), n_projects, span_days)
    chunks = [
        _simulate_chunk(
            _slice(draws, slice(i * CHUNK, (i + 1) * CHUNK)),
            np.random.default_rng(s),
            report_every_days,
            as_of_day,
            schedule_threshold,
            cost_threshold,
        )
        for i, s in enumerate(chunk_seeds)
    ]
    ids = _ids(n_projects)
    projects = _projects_frame(draws, ids, origin, chunks)
    snapshots, oracle = _report_frames(draws, ids, origin, report_every_days, chunks)
    return SimulatedPortfolio(projects=projects, snapshots=snapshots, oracle=oracle)
