#!/usr/bin/env bash
# Loads a gen_rows.py CSV into MariaDB table `bench_people`: the "source system" that the
# pgloader and incremental baselines read from.
#
#   load_mariadb.sh FILE.csv [utf8|gbk]
#
# Environment: BENCH_MY_HOST (127.0.0.1), BENCH_MY_PORT (3306), BENCH_MY_USER (root, no
# password), BENCH_MY_DB (test).
#
# All rows are kept, bad ones included, so the source holds exactly --rows rows and the
# move really is "1M rows". Columns are typed wherever every row of the file is
# well-formed (DECIMAL, DOUBLE, BOOLEAN, DATETIME, fixed CHARs); only CSRQ and JTRK, where
# bad rows put "2023-02-30" and "三", are VARCHAR — a typed DATE/INT would make strict
# mode abort the load. The remaining defects (wrong check character, 10-digit mobile,
# 性别 "9") fit their CHAR columns and are stored as they are, like a real source would.
# Prints one machine-parsable line: `baseline mariadb_load_data rows=… seconds=… rows_per_s=…`.
set -euo pipefail

file=${1:?usage: load_mariadb.sh FILE.csv [utf8|gbk]}
encoding=${2:-utf8}
case $encoding in
    utf8) charset=utf8mb4 ;;
    gbk) charset=gbk ;;
    *) echo "load_mariadb.sh: encoding must be utf8 or gbk" >&2; exit 2 ;;
esac
file=$(realpath "$file")

my() {
    mariadb --local-infile=1 -h "${BENCH_MY_HOST:-127.0.0.1}" -P "${BENCH_MY_PORT:-3306}" \
        -u "${BENCH_MY_USER:-root}" "${BENCH_MY_DB:-test}" "$@"
}

my <<'SQL'
DROP TABLE IF EXISTS bench_people;
CREATE TABLE bench_people (
    sfzh      CHAR(18)      NOT NULL PRIMARY KEY,  -- 身份证号
    xm        VARCHAR(50)   NOT NULL,              -- 姓名
    xb        CHAR(1)       NOT NULL,              -- 性别
    csrq      VARCHAR(10)   NOT NULL,              -- 出生日期 (bad rows: impossible dates)
    mz        CHAR(2)       NOT NULL,              -- 民族
    hjdz      VARCHAR(200)  NOT NULL,              -- 户籍地址
    xzqh      CHAR(6)       NOT NULL,              -- 行政区划
    sjhm      VARCHAR(11)   NOT NULL,              -- 手机号码
    dwtyxydm  CHAR(18)      NULL,                  -- 工作单位统一社会信用代码
    ysr       DECIMAL(10,2) NOT NULL,              -- 月收入
    jtrk      VARCHAR(8)    NOT NULL,              -- 家庭人口 (bad rows: text)
    sg        DOUBLE        NOT NULL,              -- 身高
    sfcb      BOOLEAN       NOT NULL,              -- 是否参保
    djsj      DATETIME      NOT NULL,              -- 登记时间 (Beijing time, no zone)
    bz        VARCHAR(500)  NOT NULL,              -- 备注
    -- Change-tracking column for the incremental baseline; starts at the registration time.
    updated_at DATETIME(6)  NOT NULL,
    KEY bench_people_updated_at (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
SQL

# ESCAPED BY '' because the file is RFC 4180 CSV: a quote inside a field is doubled, and
# a backslash is an ordinary character. Quoted fields may span lines; LOAD DATA handles that.
start=$EPOCHREALTIME
my <<SQL
LOAD DATA LOCAL INFILE '$file' INTO TABLE bench_people CHARACTER SET $charset
    FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY ''
    LINES TERMINATED BY '\n'
    IGNORE 1 LINES
    (sfzh, xm, xb, csrq, mz, hjdz, xzqh, sjhm, @dwtyxydm, ysr, jtrk, sg, @sfcb, @djsj, bz)
    SET dwtyxydm = NULLIF(@dwtyxydm, ''),
        sfcb = (@sfcb = 'true'),
        djsj = @djsj,
        updated_at = @djsj;
-- Empty unless a value was truncated or converted; the typed columns should never warn.
SHOW WARNINGS LIMIT 5;
SQL
end=$EPOCHREALTIME

rows=$(my -N -e 'SELECT COUNT(*) FROM bench_people')
awk -v r="$rows" -v s="$start" -v e="$end" \
    'BEGIN { printf "baseline mariadb_load_data rows=%d seconds=%.2f rows_per_s=%.0f\n", r, e - s, r / (e - s) }'
