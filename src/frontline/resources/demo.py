"""Demo data for emergency resources (see docs/demo-data.md, "Resources").

Depots: the four depots (四库) of every township station and the county's depots. Teams of
every kind with their members, certificates and a week of duty shifts, and the experts.
Equipment and vehicles of the teams and depots. Shelters of every class, two of them open
with people registered. A year of stock movements, posted in time order, from which the
stock re-derives exactly.

Written in bulk like the other apps' demo parts (a system job creating fresh data); the
rows follow the rules the services apply. Steps run in this order because each uses what
the one before left: teams need the experts, equipment the teams and depots, the ledger the
shelters it supplies.
"""

import gc
from functools import wraps

from frontline.core.demo import register
from frontline.resources.demo_depots import generate_depots
from frontline.resources.demo_equipment import generate_equipment
from frontline.resources.demo_shelters import generate_shelters
from frontline.resources.demo_stock_plan import generate_stock
from frontline.resources.demo_teams import generate_teams


def _quickly(generate):
    """Run a step with the cyclic garbage collector paused: the steps allocate tens of
    thousands of short-lived objects over a heap the earlier steps filled (regions with
    their boundaries), and each collection pass walks all of it; the steps make no cycles
    worth collecting before they return."""

    @wraps(generate)
    def step(ctx):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return generate(ctx)
        finally:
            if enabled:
                gc.enable()

    return step


register(
    "resources.depots", order=400, generate_fn=_quickly(generate_depots), label="应急物资储备库"
)
register(
    "resources.teams",
    order=410,
    generate_fn=_quickly(generate_teams),
    label="救援队伍、队员、排班与专家",
)
register(
    "resources.equipment", order=420, generate_fn=_quickly(generate_equipment), label="装备与车辆"
)
register(
    "resources.shelters",
    order=430,
    generate_fn=_quickly(generate_shelters),
    label="避难场所与安置人员",
)
register(
    "resources.stock", order=440, generate_fn=_quickly(generate_stock), label="一年的物资出入库台账"
)
