#!/usr/bin/env python3
"""Deterministic CSV of resident records for bulk-collection benchmarks.

    gen_rows.py --rows N [--bad-percent 1] [--encoding utf8|gbk] [--seed 42] OUT.csv

Same arguments give byte-identical output (Python ≥ 3.2 keeps random.Random(int) stable),
so baselines and datahall's importer can be measured on the same file on any machine.
Standard library only; streams row by row, memory stays flat whatever --rows is.

Columns (header = item names; identifier and type as in the catalogue):
   1 身份证号  SFZH      CHAR(18)  primary key, valid GB 11643 number
   2 姓名      XM        CHAR(50)
   3 性别      XB        CHAR(1)   1 male / 2 female, agrees with the ID's sequence digit
   4 出生日期  CSRQ      DATE      agrees with the ID's birth date
   5 民族      MZ        CHAR(2)   01..56
   6 户籍地址  HJDZ      CHAR(200) some with a comma or quote, ~0.1 % with a newline
   7 行政区划  XZQH      CHAR(6)
   8 手机号码  SJHM      CHAR(11)
   9 工作单位统一社会信用代码 DWTYXYDM CHAR(18) valid GB 32100 (+ GB 11714), ~10 % empty
  10 月收入    YSR       NUMERIC   2 decimals, 0–50000
  11 家庭人口  JTRK      INTEGER   1..12
  12 身高      SG        DOUBLE
  13 是否参保  SFCB      LOGICAL   true / false
  14 登记时间  DJSJ      DATETIME  YYYY-MM-DD HH:MM:SS, Beijing time
  15 备注      BZ        CHAR(500) often empty

Bad rows carry exactly one defect each (see DEFECTS), so a validating importer should
reject exactly the number printed on stderr.
"""

import argparse
import csv
import datetime as dt
import math
import os
import random
import resource
import sys

HEADER = [
    "身份证号", "姓名", "性别", "出生日期", "民族", "户籍地址", "行政区划", "手机号码",
    "工作单位统一社会信用代码", "月收入", "家庭人口", "身高", "是否参保", "登记时间", "备注",
]

# Real county-level codes of 黄山市 (GB/T 2260) with a few of their towns, so addresses
# read as plausible and XZQH/ID prefixes pass a region-code check.
REGIONS = {
    "341002": ("屯溪区", ["昱中街道", "老街街道", "昱东街道", "新安街道", "屯光镇", "阳湖镇", "黎阳镇", "奕棋镇"]),
    "341003": ("黄山区", ["甘棠镇", "仙源镇", "汤口镇", "谭家桥镇", "太平湖镇", "焦村镇", "耿城镇", "三口镇", "乌石镇"]),
    "341004": ("徽州区", ["岩寺镇", "西溪南镇", "潜口镇", "呈坎镇", "富溪乡", "杨村乡", "洽舍乡"]),
    "341021": ("歙县", ["徽城镇", "深渡镇", "北岸镇", "富堨镇", "郑村镇", "桂林镇", "许村镇", "溪头镇", "雄村镇", "王村镇"]),
    "341022": ("休宁县", ["海阳镇", "齐云山镇", "万安镇", "五城镇", "东临溪镇", "蓝田镇", "溪口镇", "流口镇"]),
    "341023": ("黟县", ["碧阳镇", "宏村镇", "渔亭镇", "西递镇", "柯村镇", "美溪乡", "宏潭乡", "洪星乡"]),
    "341024": ("祁门县", ["祁山镇", "小路口镇", "金字牌镇", "平里镇", "历口镇", "闪里镇", "安凌镇", "凫峰镇"]),
}
REGION_CODES = list(REGIONS)

# Local surnames (汪, 程, 方, 胡, 吴 …) listed twice so they come up more often, as in 徽州.
SURNAMES = list(
    "汪程方胡吴汪程方胡吴王李张刘陈杨黄赵周徐孙马朱郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶苏魏吕丁任沈姚卢姜崔钟谭陆范金石廖贾夏韦付白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
) + ["欧阳", "诸葛", "司马", "上官"]
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌海燕鹏飞宇浩然欣怡子涵梓轩雨桐思远佳琪晨曦俊杰婷婷子豪一诺昊天嘉懿梦瑶德福寿春梅金凤淑珍永胜振华"
)
ROADS = ["黄山路", "新安路", "华山路", "延安路", "前园路", "跃进路", "滨江路", "栗园路", "百鸟亭路", "徽州大道"]
ESTATES = ["徽州人家", "阳光花园", "新安花园", "江南新城", "黄山一品", "滨江华府", "碧桂园", "御景园"]
VILLAGES = ["上村", "下村", "东山村", "西溪村", "南屏村", "桃源村", "石门村", "金竹村", "长丰村", "汪村"]
REMARKS = [
    "低保户", "独居老人", "外出务工", "已迁出", "退役军人", "残疾人，二级", "待核实",
    "电话空号,需回访", "户主", "留守儿童监护人", "新生儿随母落户", "信息由社区网格员采集",
]
BAD_JTRK = ["三", "3人", "约4", "x", "二人"]

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# Registration authority + organisation type: enterprise, individual, co-op, public
# institution, organ, social organisations, …
USCC_KINDS = ["91", "91", "91", "91", "92", "93", "12", "11", "51", "52", "53", "Y1"]
USCC_REGIONS = REGION_CODES + ["341000", "340100", "340000"]
# Body letters allowed by both GB 11714 and the GB 32100 alphabet (no I, O, S, V, Z).
ORG_BODY = "0123456789" * 6 + "ABCDEFGHJKLMNPQRTUWXY"

DEFECTS = ["id_check", "bad_date", "mobile_10", "jtrk_text", "uscc_check", "xb_9"]

BIRTH_FIRST = dt.date(1940, 1, 1)
BIRTH_LAST = dt.date(2020, 12, 31)
DJSJ_FIRST = dt.date(2010, 1, 1)
DJSJ_END = dt.date(2025, 1, 1)  # exclusive


def id_check_char(first17):
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def org_check_char(body8):
    # GB 11714: digits as themselves, letters A=10 … Z=35 (int(c, 36) does exactly that).
    n = 11 - sum(int(c, 36) * w for c, w in zip(body8, ORG_WEIGHTS)) % 11
    return "X" if n == 10 else "0" if n == 11 else str(n)


def uscc_check_char(first17):
    return USCC_ALPHABET[(31 - sum(USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS)) % 31) % 31]


class IdSpace:
    """Row number → distinct (region, birth day, sequence), without remembering issued IDs.

    A keyed 4-round Feistel network is a bijection on 2^bits; cycle-walking restricts it
    to [0, size). Unlike a linear stride it leaves no visible pattern between neighbouring
    rows, so primary keys arrive in random order as a real extract would."""

    def __init__(self, rng):
        self.days = (BIRTH_LAST - BIRTH_FIRST).days + 1
        self.size = len(REGION_CODES) * self.days * 1000
        bits = max(2, (self.size - 1).bit_length())
        self.half = (bits + 1) // 2
        self.mask = (1 << self.half) - 1
        self.keys = [rng.getrandbits(32) for _ in range(4)]

    def _round(self, r, k):
        f = ((r ^ k) * 0x45D9F3B) & 0xFFFFFFFF
        f ^= f >> 16
        f = (f * 0x45D9F3B) & 0xFFFFFFFF
        f ^= f >> 16
        return f & self.mask

    def _permute(self, x):
        left, right = x >> self.half, x & self.mask
        for k in self.keys:
            left, right = right, left ^ self._round(right, k)
        return (left << self.half) | right

    def __call__(self, i):
        x = self._permute(i)
        while x >= self.size:
            x = self._permute(x)
        x, region = divmod(x, len(REGION_CODES))
        day, seq = divmod(x, 1000)
        return REGION_CODES[region], day, seq


def rows(args, rng, counts):
    ids = IdSpace(rng)
    if args.rows > ids.size:
        sys.exit(f"--rows {args.rows} exceeds the {ids.size} distinct ID numbers available")
    birth_ord = BIRTH_FIRST.toordinal()
    djsj_first, djsj_end = DJSJ_FIRST.toordinal(), DJSJ_END.toordinal()
    # ISO strings for every day either column can take: ~31k short strings, not per row.
    iso = [dt.date.fromordinal(o).isoformat() for o in range(birth_ord, djsj_end)]
    # Exactly bad_bp bad rows in every 10,000, spread by a stride coprime with 10,000.
    bad_bp = round(args.bad_percent * 100)
    bad_offset = rng.randrange(10000)
    rand, randrange, choice = rng.random, rng.randrange, rng.choice

    for i in range(args.rows):
        defect = DEFECTS[randrange(len(DEFECTS))] if (i * 7919 + bad_offset) % 10000 < bad_bp else None
        region, day, seq = ids(i)
        birth = iso[day]
        first17 = f"{region}{birth.replace('-', '')}{seq:03d}"
        check = id_check_char(first17)
        if defect == "id_check":
            check = choice(ID_CHECK.replace(check, ""))
        sfzh = first17 + check

        xm = choice(SURNAMES) + choice(GIVEN) + (choice(GIVEN) if rand() < 0.7 else "")
        xb = "9" if defect == "xb_9" else ("1" if seq % 2 else "2")
        csrq = birth
        if defect == "bad_date":
            csrq = birth[:4] + choice(["-02-30", "-02-31", "-04-31", "-06-31", "-09-31", "-11-31", "-13-01", "-00-15"])
        mz = "01" if rand() < 0.97 else f"{randrange(2, 57):02d}"

        # Most people live where their ID was issued; some have moved within the city.
        xzqh = region if rand() < 0.85 else choice(REGION_CODES)
        county, towns = REGIONS[xzqh]
        r = rand()
        if r < 0.45:
            place = f"{choice(VILLAGES)}{randrange(1, 200)}号"
        elif r < 0.90:
            place = f"{choice(ROADS)}{randrange(1, 400)}号"
        elif r < 0.96:
            # The comma makes CSV writers quote the field.
            place = f"{choice(ESTATES)}小区{randrange(1, 30)}栋,{randrange(1, 6)}单元{randrange(1, 33)}0{randrange(1, 5)}室"
        else:
            # An embedded double quote: quoted and doubled in the file.
            place = f'"{choice(ESTATES)}"小区{randrange(1, 30)}栋{randrange(1, 33)}0{randrange(1, 5)}室'
        hjdz = f"安徽省黄山市{county}{choice(towns)}{place}"
        if rand() < 0.001:
            hjdz += f"\n（原址：{choice(towns)}{choice(VILLAGES)}）"

        sjhm = f"1{randrange(3, 10)}{randrange(10**9):09d}"
        if defect == "mobile_10":
            sjhm = sjhm[:10]

        dwtyxydm = ""
        if rand() >= 0.10 or defect == "uscc_check":
            body = "".join(choice(ORG_BODY) for _ in range(8))
            first17 = choice(USCC_KINDS) + choice(USCC_REGIONS) + body + org_check_char(body)
            check = uscc_check_char(first17)
            if defect == "uscc_check":
                check = choice(USCC_ALPHABET.replace(check, ""))
            dwtyxydm = first17 + check

        # Log-normal around ~4,500 yuan, clipped to the item's range; integer cents so
        # formatting never rounds.
        cents = min(5_000_000, int(math.exp(rng.gauss(8.4, 0.7)) * 100)) if rand() < 0.93 else 0
        ysr = f"{cents // 100}.{cents % 100:02d}"
        jtrk = choice(BAD_JTRK) if defect == "jtrk_text" else str(min(12, 1 + int(rng.expovariate(0.45))))
        sg = f"{min(210.0, max(50.0, rng.gauss(166.0, 9.0))):.1f}"
        sfcb = "true" if rand() < 0.88 else "false"

        day_ord = randrange(max(birth_ord + day, djsj_first), djsj_end)
        secs = randrange(86400)
        djsj = f"{iso[day_ord - birth_ord]} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        bz = choice(REMARKS) if rand() < 0.25 else ""

        if defect:
            counts[defect] += 1
        yield (sfzh, xm, xb, csrq, mz, hjdz, xzqh, sjhm, dwtyxydm, ysr, jtrk, sg, sfcb, djsj, bz)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--bad-percent", type=float, default=1.0, help="0–100, resolution 0.01")
    p.add_argument("--encoding", choices=["utf8", "gbk"], default="utf8")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("out", help="output CSV path")
    args = p.parse_args()
    if not 0 <= args.bad_percent <= 100:
        p.error("--bad-percent must be within 0–100")

    rng = random.Random(args.seed)
    counts = dict.fromkeys(DEFECTS, 0)
    # Written beside the target and renamed at the end, so a killed run never leaves a
    # truncated file that a later benchmark would mistake for a complete one.
    tmp = f"{args.out}.part"
    with open(tmp, "w", encoding=args.encoding, newline="", buffering=1 << 20) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows(args, rng, counts))
    os.replace(tmp, args.out)

    bad = sum(counts.values())
    detail = " ".join(f"{k}={v}" for k, v in counts.items())
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"gen_rows: wrote {args.rows} rows ({bad} bad: {detail}) to {args.out} "
          f"[{args.encoding}, seed {args.seed}, peak RSS {rss_mib:.1f} MiB]", file=sys.stderr)


if __name__ == "__main__":
    main()
