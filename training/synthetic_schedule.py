"""Synthetic Primavera P6 XER files: a seeded, cost-loaded schedule at a chosen progress.

For tests and the import bench (``bench/schedule_import_speed.py``): the files carry the
tables and columns ``xerparser`` needs (PROJECT, SCHEDOPTIONS, CALENDAR, PROJWBS, TASK,
TASKPRED, RSRC, TASKRSRC). Activities form a random acyclic network (every activity after
the first has a predecessor); dates come from a forward and a backward pass on a 7-day,
8-hour calendar. ``delay_days`` pushes the unfinished work's forecast later than planned,
so successive updates of one project can be made at later data dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

__all__ = ["SyntheticSchedule", "synthetic_xer", "write_synthetic_xer"]

_FMT = "%Y-%m-%d %H:%M"
HOURS_PER_DAY = 8.0

COLUMNS: dict[str, tuple[str, ...]] = {
    "CURRTYPE": ("curr_id", "curr_short_name", "curr_type"),
    "PROJECT": (
        "proj_id", "proj_short_name", "export_flag", "clndr_id", "plan_start_date",
        "plan_end_date", "scd_end_date", "last_recalc_date", "add_date", "last_fin_dates_id",
        "last_schedule_date",
    ),
    "SCHEDOPTIONS": (
        "schedoptions_id", "proj_id", "sched_outer_depend_type", "sched_open_critical_flag",
        "sched_lag_early_start_flag", "sched_retained_logic", "sched_setplantoforecast",
        "sched_float_type", "sched_use_expect_end_flag", "sched_progress_override",
        "max_multiple_longest_path", "use_total_float_multiple_longest_paths",
        "sched_use_project_end_date_for_float",
    ),
    "CALENDAR": (
        "clndr_id", "default_flag", "clndr_name", "proj_id", "base_clndr_id", "last_chng_date",
        "clndr_type", "day_hr_cnt", "week_hr_cnt", "month_hr_cnt", "year_hr_cnt", "clndr_data",
    ),
    "PROJWBS": (
        "wbs_id", "proj_id", "seq_num", "proj_node_flag", "status_code", "wbs_short_name",
        "wbs_name", "parent_wbs_id",
    ),
    "RSRC": (
        "rsrc_id", "parent_rsrc_id", "clndr_id", "rsrc_seq_num", "rsrc_short_name", "rsrc_name",
        "rsrc_type",
    ),
    "TASK": (
        "task_id", "proj_id", "wbs_id", "clndr_id", "phys_complete_pct", "complete_pct_type",
        "task_type", "duration_type", "status_code", "task_code", "task_name",
        "total_float_hr_cnt", "free_float_hr_cnt", "remain_drtn_hr_cnt", "act_work_qty",
        "target_work_qty", "target_drtn_hr_cnt", "target_equip_qty", "act_equip_qty",
        "cstr_date", "act_start_date", "act_end_date", "late_start_date", "late_end_date",
        "expect_end_date", "early_start_date", "early_end_date", "restart_date", "reend_date",
        "target_start_date", "target_end_date", "rem_late_start_date", "rem_late_end_date",
        "cstr_type", "suspend_date", "resume_date", "float_path", "float_path_order",
        "cstr_date2", "cstr_type2", "driving_path_flag", "create_date", "update_date",
    ),
    "TASKPRED": (
        "task_pred_id", "task_id", "pred_task_id", "proj_id", "pred_proj_id", "pred_type",
        "lag_hr_cnt", "float_path", "aref", "arls",
    ),
    "TASKRSRC": (
        "taskrsrc_id", "task_id", "proj_id", "acct_id", "rsrc_id", "remain_qty", "target_qty",
        "act_ot_qty", "act_reg_qty", "target_cost", "act_reg_cost", "act_ot_cost",
        "remain_cost", "act_start_date", "act_end_date", "restart_date", "reend_date",
        "target_start_date", "target_end_date", "rem_late_start_date", "rem_late_end_date",
        "target_lag_drtn_hr_cnt", "act_this_per_cost", "act_this_per_qty", "rsrc_type",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class SyntheticSchedule:
    """What was generated (for assertions): the XER text and the key figures."""

    text: str
    data_date: datetime
    n_activities: int
    n_relationships: int
    budget: float
    actual_cost: float
    earned_value: float
    planned_finish: datetime
    forecast_finish: datetime


def _d(value: datetime | None) -> str:
    return "" if value is None else value.strftime(_FMT)


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))


def _table(name: str, rows: list[dict[str, str]]) -> list[str]:
    cols = COLUMNS[name]
    lines = [f"%T\t{name}", "%F\t" + "\t".join(cols)]
    lines += ["%R\t" + "\t".join(row.get(c, "") for c in cols) for row in rows]
    return lines


def _network(n: int, m: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """``m`` distinct links i -> j with i < j; every j > 0 has at least one predecessor."""
    links: set[tuple[int, int]] = set()
    for j in range(1, n):
        links.add((int(rng.integers(max(0, j - 20), j)), j))
    while len(links) < m:
        j = int(rng.integers(1, n))
        links.add((int(rng.integers(max(0, j - 50), j)), j))
    return sorted(links, key=lambda p: (p[1], p[0]))


def synthetic_xer(
    n_activities: int = 200,
    n_relationships: int = 300,
    *,
    seed: int = 0,
    project: str = "SYN-1",
    start: datetime = datetime(2024, 1, 1, 8),
    progress: float = 0.3,
    delay_days: float = 0.0,
    cost_per_day: float = 1000.0,
    cost_overrun: float = 0.0,
) -> SyntheticSchedule:
    """A P6 XER of one project at the data date where ``progress`` of the plan has elapsed.

    Work planned to finish by the data date is complete (late by ``delay_days`` when
    positive); work under way is in progress at its planned share; the remaining work is
    pushed ``delay_days`` later. Actual cost is earned value x (1 + ``cost_overrun``).
    """
    if n_relationships < n_activities - 1:
        raise ValueError("need at least n_activities - 1 relationships")
    rng = np.random.default_rng(seed)
    n = n_activities
    dur = rng.integers(1, 30, size=n).astype(float)
    dur[rng.random(n) < 0.05] = 0.0  # milestones
    links = _network(n, n_relationships, rng)
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for i, j in links:
        preds[j].append(i)
        succs[i].append(j)
    es = np.zeros(n)
    for j in range(n):
        es[j] = max((es[i] + dur[i] for i in preds[j]), default=0.0)
    ef = es + dur
    finish = float(ef.max())
    lf = np.full(n, finish)
    for i in range(n - 1, -1, -1):
        lf[i] = min((lf[j] - dur[j] for j in succs[i]), default=finish)
    tf = lf - ef
    dd_day = round(progress * finish)
    data_date = start + timedelta(days=dd_day)

    def at(day: float) -> datetime:
        return start + timedelta(days=float(day))

    budget = dur * cost_per_day
    tasks, assigns = [], []
    ev = ac = 0.0
    forecast = start
    for k in range(n):
        done = (ef[k] <= dd_day and dur[k] > 0) or (dur[k] == 0 and es[k] < dd_day)
        active = not done and es[k] < dd_day
        pct = 100.0 if done else (100.0 * (dd_day - es[k]) / dur[k] if active else 0.0)
        shift = delay_days if not done else 0.0
        act_start = at(es[k]) if (done or active) else None
        act_end = at(ef[k] + min(delay_days, max(0.0, dd_day - ef[k]))) if done else None
        remain = 0.0 if done else dur[k] * (1 - pct / 100.0)
        e_start = None if (done or active) else at(es[k] + shift)
        e_finish = None if done else at(max(dd_day, ef[k] + shift))
        if e_finish is not None and e_finish > forecast:
            forecast = e_finish
        if act_end is not None and act_end > forecast:
            forecast = act_end
        earned = budget[k] * pct / 100.0
        spent = earned * (1.0 + cost_overrun)
        ev += earned
        ac += spent
        status = "TK_Complete" if done else ("TK_Active" if active else "TK_NotStart")
        tasks.append(
            {
                "task_id": str(1000 + k),
                "proj_id": "1",
                "wbs_id": "1",
                "clndr_id": "1",
                "phys_complete_pct": _num(pct),
                "complete_pct_type": "CP_Phys",
                "task_type": "TT_Mile" if dur[k] == 0 else "TT_Task",
                "duration_type": "DT_FixedDUR2",
                "status_code": status,
                "task_code": f"A{k:05d}",
                "task_name": f"Activity {k}",
                "total_float_hr_cnt": _num(tf[k] * HOURS_PER_DAY),
                "free_float_hr_cnt": "0",
                "remain_drtn_hr_cnt": _num(remain * HOURS_PER_DAY),
                "act_work_qty": "0",
                "target_work_qty": _num(dur[k] * HOURS_PER_DAY),
                "target_drtn_hr_cnt": _num(dur[k] * HOURS_PER_DAY),
                "target_equip_qty": "0",
                "act_equip_qty": "0",
                "act_start_date": _d(act_start),
                "act_end_date": _d(act_end),
                "early_start_date": _d(e_start),
                "early_end_date": _d(e_finish),
                "late_start_date": _d(None if done else at(lf[k] - dur[k] + shift)),
                "late_end_date": _d(None if done else at(lf[k] + shift)),
                "restart_date": _d(at(dd_day) if active else e_start),
                "reend_date": _d(e_finish),
                "target_start_date": _d(at(es[k])),
                "target_end_date": _d(at(ef[k])),
                "driving_path_flag": "Y" if tf[k] == 0 else "N",
                "create_date": _d(start),
                "update_date": _d(data_date),
            }
        )
        if budget[k] > 0:
            assigns.append(
                {
                    "taskrsrc_id": str(5000 + k),
                    "task_id": str(1000 + k),
                    "proj_id": "1",
                    "rsrc_id": "1",
                    "remain_qty": _num(remain * HOURS_PER_DAY),
                    "target_qty": _num(dur[k] * HOURS_PER_DAY),
                    "act_ot_qty": "0",
                    "act_reg_qty": _num(dur[k] * pct / 100 * HOURS_PER_DAY),
                    "target_cost": _num(budget[k]),
                    "act_reg_cost": _num(spent),
                    "act_ot_cost": "0",
                    "remain_cost": _num(budget[k] - earned),
                    "act_start_date": _d(act_start),
                    "act_end_date": _d(act_end),
                    "target_start_date": _d(at(es[k])),
                    "target_end_date": _d(at(ef[k])),
                    "target_lag_drtn_hr_cnt": "0",
                    "act_this_per_cost": "0",
                    "act_this_per_qty": "0",
                    "rsrc_type": "RT_Labor",
                }
            )
    rels = [
        {
            "task_pred_id": str(20000 + r),
            "task_id": str(1000 + j),
            "pred_task_id": str(1000 + i),
            "proj_id": "1",
            "pred_proj_id": "1",
            "pred_type": "PR_FS",
            "lag_hr_cnt": "0",
        }
        for r, (i, j) in enumerate(links)
    ]
    planned_finish = at(finish)
    lines = [f"ERMHDR\t19.12\t{start:%Y-%m-%d}\tProject\tadmin\tAdmin\tdb\tProject Management\tUSD"]
    lines += _table("CURRTYPE", [{"curr_id": "1", "curr_short_name": "USD", "curr_type": "$"}])
    lines += _table(
        "PROJECT",
        [
            {
                "proj_id": "1",
                "proj_short_name": project,
                "export_flag": "Y",
                "clndr_id": "1",
                "plan_start_date": _d(start),
                "scd_end_date": _d(forecast),
                "last_recalc_date": _d(data_date),
                "add_date": _d(start),
            }
        ],
    )
    lines += _table(
        "SCHEDOPTIONS",
        [
            {
                "schedoptions_id": "1",
                "proj_id": "1",
                "sched_outer_depend_type": "SD_None",
                "sched_open_critical_flag": "N",
                "sched_lag_early_start_flag": "Y",
                "sched_retained_logic": "Y",
                "sched_setplantoforecast": "N",
                "sched_float_type": "FT_FF",
                "sched_use_expect_end_flag": "Y",
                "sched_progress_override": "N",
                "max_multiple_longest_path": "10",
                "use_total_float_multiple_longest_paths": "Y",
                "sched_use_project_end_date_for_float": "N",
            }
        ],
    )
    lines += _table(
        "CALENDAR",
        [
            {
                "clndr_id": "1",
                "default_flag": "Y",
                "clndr_name": "7-day",
                "clndr_type": "CA_Base",
                "day_hr_cnt": "8",
                "week_hr_cnt": "56",
                "month_hr_cnt": "240",
                "year_hr_cnt": "2920",
                "last_chng_date": _d(start),
                "clndr_data": "",
            }
        ],
    )
    lines += _table(
        "PROJWBS",
        [
            {
                "wbs_id": "1",
                "proj_id": "1",
                "seq_num": "0",
                "proj_node_flag": "Y",
                "status_code": "WS_Open",
                "wbs_short_name": project,
                "wbs_name": f"Synthetic project {project}",
                "parent_wbs_id": "",
            }
        ],
    )
    lines += _table(
        "RSRC",
        [
            {
                "rsrc_id": "1",
                "clndr_id": "1",
                "rsrc_seq_num": "0",
                "rsrc_short_name": "CREW",
                "rsrc_name": "Crew",
                "rsrc_type": "RT_Labor",
            }
        ],
    )
    lines += _table("TASK", tasks)
    lines += _table("TASKPRED", rels)
    lines += _table("TASKRSRC", assigns)
    lines.append("%E")
    return SyntheticSchedule(
        text="\r\n".join(lines) + "\r\n",
        data_date=data_date,
        n_activities=n,
        n_relationships=len(links),
        budget=float(budget.sum()),
        actual_cost=ac,
        earned_value=ev,
        planned_finish=planned_finish,
        forecast_finish=forecast,
    )


def write_synthetic_xer(path: Path, **kwargs: object) -> SyntheticSchedule:
    """``synthetic_xer(**kwargs)`` written to ``path`` (Windows-1252, as P6 writes it)."""
    schedule = synthetic_xer(**kwargs)  # type: ignore[arg-type]
    Path(path).write_bytes(schedule.text.encode("cp1252"))
    return schedule
