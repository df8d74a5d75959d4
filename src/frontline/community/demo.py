"""Demo data for the last kilometre (see `demo_homes` and `demo_grid`).

Homes: every grid of the home township (柯岩街道) gets its buildings (一楼一档), households
and about 30,000 residents in all, with the shares of vulnerable people a suburban Zhejiang
township has, one-to-one helpers and household group leaders (十户长). Grids: every grid of
the district gets its public safety facilities; every grid worker their posts; the home
township's grids patrol plans and a month of patrol runs.
"""

from frontline.community.demo_calls import generate_calls
from frontline.community.demo_grid import generate_facilities, generate_patrols
from frontline.community.demo_homes import generate_residents
from frontline.core.demo import register

register("community.residents", order=300, generate_fn=generate_residents, label="楼栋、住户与居民")
register("community.facilities", order=310, generate_fn=generate_facilities, label="公共安全设施")
register(
    "community.patrols", order=320, generate_fn=generate_patrols, label="网格岗位与一个月的巡查"
)
register("community.calls", order=330, generate_fn=generate_calls, label="社区呼叫")
