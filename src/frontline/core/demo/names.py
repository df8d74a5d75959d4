"""Names that look real: places around Shaoxing, people, phone numbers.

Everything takes the caller's `random.Random`, so a seed always gives the same names.
"""

from __future__ import annotations

import random

# Keqiao's sixteen townships (11 streets, 5 towns). Streets take codes 001–0xx and towns
# 101–1xx; towns lie in the hilly south, so the generator hands them the southern cells.
KEQIAO_STREETS = [
    "柯岩街道",
    "柯桥街道",
    "华舍街道",
    "湖塘街道",
    "齐贤街道",
    "安昌街道",
    "福全街道",
    "兰亭街道",
    "马鞍街道",
    "钱清街道",
    "杨汛桥街道",
]
KEQIAO_TOWNS = ["平水镇", "王坛镇", "稽东镇", "夏履镇", "漓渚镇"]

# A few real village names of the first township, so the demo opens on familiar ground.
KEYAN_VILLAGES = ["州山村", "梅墅社区", "型塘村", "柯岩社区", "叶家堰村", "新风社区"]

# City scale: Shaoxing's six county-level units first, then made-up ones with codes 3306xx.
SHAOXING_COUNTIES = [
    ("330603", "柯桥区"),
    ("330602", "越城区"),
    ("330604", "上虞区"),
    ("330624", "新昌县"),
    ("330681", "诸暨市"),
    ("330683", "嵊州市"),
    ("330605", "镜湖区"),
    ("330606", "会稽区"),
    ("330625", "鉴湖县"),
    ("330626", "若耶县"),
]
# Province scale: ten cities of Zhejiang.
ZHEJIANG_CITIES = [
    ("330600", "绍兴市"),
    ("330100", "杭州市"),
    ("330200", "宁波市"),
    ("330300", "温州市"),
    ("330400", "嘉兴市"),
    ("330500", "湖州市"),
    ("330700", "金华市"),
    ("330800", "衢州市"),
    ("331000", "台州市"),
    ("331100", "丽水市"),
]

_PLACE_FIRST = (
    "州梅型兰湖安齐福马钱杨平王稽夏漓华柯鉴若镜东西南北新前后上下大小青白石"
    "金银沙塘桥溪山江河浦岙坞岭坂横陶谢方童徐沈孙俞傅蒋章宣应丁寿余高"
)
_PLACE_SECOND = "山墅塘桥溪浦岙坞岭湾头埠口港泾河江湖田园庄里家村亭阳坂桥泉源林岩洋"
_TOWNSHIP_FIRST = "东西南北安福兴华和平新长永丰宁顺清泰康仁德富瑞"
_TOWNSHIP_SECOND = "江湖山溪塘桥浦阳川源城关渡港亭岭坞岙"

_SURNAMES_WEIGHTED = (
    ("王", 8), ("陈", 9), ("张", 6), ("李", 5), ("吴", 5), ("徐", 5), ("周", 5), ("金", 4),
    ("胡", 4), ("朱", 4), ("沈", 4), ("杨", 3), ("黄", 3), ("叶", 3), ("郑", 3), ("何", 3),
    ("俞", 3), ("钱", 3), ("孙", 3), ("马", 2), ("方", 2), ("施", 2), ("汪", 2), ("蒋", 2),
    ("应", 2), ("赵", 2), ("刘", 2), ("许", 2), ("谢", 2), ("傅", 2), ("章", 2), ("宣", 1),
    ("丁", 1), ("寿", 1), ("余", 1), ("高", 1), ("任", 1), ("楼", 1), ("屠", 1), ("裘", 1),
    ("诸葛", 1), ("欧阳", 1),
)  # fmt: skip
_SURNAMES = [name for name, _ in _SURNAMES_WEIGHTED]
_SURNAME_WEIGHTS = [weight for _, weight in _SURNAMES_WEIGHTED]
_GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰涛明超华平刚英建国志海燕晓东红霞萍斌波辉鑫宇浩"
    "俊峰琳婷雪梅兰文武忠良春秋冬夏振兴永锋亮晨佳怡欣悦颖琦鹏飞龙云成林森杭越"
)

_MOBILE_PREFIXES = [
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
]  # fmt: skip


class UniqueNames:
    """Hands out names not given before (within one county, say): a duplicate village
    name would confuse people reading a list."""

    def __init__(self, rng: random.Random, taken: set[str] | None = None):
        self.rng = rng
        self.taken = set(taken or ())

    def claim(self, name: str) -> bool:
        if name in self.taken:
            return False
        self.taken.add(name)
        return True

    def place(self, suffix: str) -> str:
        for _ in range(200):
            first, second = self.rng.choice(_PLACE_FIRST), self.rng.choice(_PLACE_SECOND)
            # "江江社区" reads as a typo, not a place.
            if first != second and self.claim(first + second + suffix):
                return first + second + suffix
        # The pools hold thousands of pairs; only a province-sized county could get here.
        for serial in range(1, 10_000):
            name = f"{self.rng.choice(_PLACE_FIRST)}{serial}{suffix}"
            if self.claim(name):
                return name
        raise RuntimeError("ran out of place names")

    def township(self, suffix: str) -> str:
        for _ in range(200):
            first, second = self.rng.choice(_TOWNSHIP_FIRST), self.rng.choice(_TOWNSHIP_SECOND)
            if first != second and self.claim(first + second + suffix):
                return first + second + suffix
        return self.place(suffix)


def county_name_for(code: str, index: int) -> str:
    """Name of a generated county with this code (province scale invents most of them)."""
    for known_code, name in SHAOXING_COUNTIES:
        if known_code == code:
            return name
    districts = "东西南北中"
    return f"{districts[index % 5]}{'新安宁康泰华丰'[index % 7]}{'区' if index % 3 else '县'}"


def person_name(rng: random.Random) -> str:
    surname = rng.choices(_SURNAMES, weights=_SURNAME_WEIGHTS)[0]
    given_length = 1 if rng.random() < 0.3 else 2
    return surname + "".join(rng.choice(_GIVEN_CHARS) for _ in range(given_length))


class MobileNumbers:
    """Unique 11-digit mainland mobile numbers (13x / 15x / 18x)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def next(self) -> str:
        while True:
            number = self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.used:
                self.used.add(number)
                return number


def office_phone(rng: random.Random) -> str:
    """A Shaoxing landline (area code 0575)."""
    return f"0575-8{rng.randrange(10**7):07d}"
