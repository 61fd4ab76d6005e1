"""The sales organisation: an admin, three managers, twenty reps in regional teams, five support agents.

Emails and Slack ids are stable (``rep01@demo.crm``, ``U0REP01``) so docs, tests and
evals can name people without looking them up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storage.demo.config import DemoPlan
from storage.demo.tables import Table, datetimes

# (name, region): China team reps first, then International.
_REPS = [
    ("李娜", "East China"), ("张伟", "East China"), ("王磊", "East China"),
    ("刘洋", "North China"), ("陈晨", "North China"), ("杨敏", "North China"),
    ("黄海", "South China"), ("赵婷", "South China"), ("吴杰", "South China"),
    ("周涛", "West China"), ("徐慧", "West China"), ("孙鹏", "West China"),
    ("Emily Carter", "US East"), ("Michael Brooks", "US East"), ("Sarah Mitchell", "US East"),
    ("David Nguyen", "US West"), ("Jessica Alvarez", "US West"), ("Ryan Cooper", "US West"),
    ("Oliver Hughes", "UK"), ("Charlotte Davies", "UK"),
]
_SUPPORT = ["Grace Kim", "马丽", "Tom Walker", "郑欣", "Priya Shah"]


@dataclass
class Staff:
    table: Table
    rep_ids: np.ndarray  # staff ids of reps, in _REPS order
    rep_regions: np.ndarray
    support_ids: np.ndarray
    manager_ids: np.ndarray
    admin_id: int


def build_staff(plan: DemoPlan) -> Staff:
    rows: list[tuple] = [("Alex Admin", "admin@demo.crm", "admin", None, None, "U0ADMIN", False)]
    rows += [
        ("Victoria Lane", "manager01@demo.crm", "manager", "Sales", None, "U0MGR01", True),
        ("周建国", "manager02@demo.crm", "manager", "China", "China", "U0MGR02", False),
        ("James Porter", "manager03@demo.crm", "manager", "International", "International", "U0MGR03", False),
    ]
    for i, (name, region) in enumerate(_REPS, start=1):
        team = "China" if region.endswith("China") else "International"
        rows.append((name, f"rep{i:02d}@demo.crm", "rep", team, region, f"U0REP{i:02d}", False))
    for i, name in enumerate(_SUPPORT, start=1):
        rows.append((name, f"support{i:02d}@demo.crm", "support", "Support", None, f"U0SUP{i:02d}", False))

    n = len(rows)
    ids = np.arange(1, n + 1)
    # Staff joined before the order history starts; a fixed offset keeps the rows deterministic.
    created = datetimes(plan, np.full(n, -400 * 86_400) + ids * 3_600)
    table = Table("staff_user", {
        "id": ids,
        "name": [r[0] for r in rows],
        "email": [r[1] for r in rows],
        "role": [r[2] for r in rows],
        "team": [r[3] for r in rows],
        "region": [r[4] for r in rows],
        "slack_user_id": [r[5] for r in rows],
        "is_head_of_sales": [r[6] for r in rows],
        "is_active": [True] * n,
        "password_hash": [None] * n,
        "created_at": created,
    })
    roles = np.array([r[2] for r in rows])
    return Staff(
        table=table,
        rep_ids=ids[roles == "rep"],
        rep_regions=np.array([region for _, region in _REPS]),
        support_ids=ids[roles == "support"],
        manager_ids=ids[roles == "manager"],
        admin_id=1,
    )
