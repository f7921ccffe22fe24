//! Data for the demo city's published entries, so that the aggregation page tells a story:
//! most entries hold data, every 11th is still empty, and every 7th was last updated long
//! ago and is overdue. Values are deterministic and pass the entries' own checks (valid ID
//! numbers, credit codes, region codes, mobiles).

use domain::catalogue::Item;
use domain::ids::{CreditCode, IdCardNumber};
use ingest::pipeline::check_values;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use store::{AuditContext, Store};

/// Huangshan's districts and counties (GB/T 2260).
const REGIONS: [&str; 7] = [
    "341002", "341003", "341004", "341021", "341022", "341023", "341024",
];

/// A valid text for `item`, row `n` of the entry.
fn sample(item: &Item, n: u32, rng: &mut ChaCha8Rng) -> String {
    let region = REGIONS[rng.gen_range(0..REGIONS.len())];
    match item.identifier.as_str() {
        // A legacy 15-digit number upgrades to a valid 18-digit one.
        "id_number" => IdCardNumber::parse(&format!(
            "{region}{:02}{:02}{:02}{:03}",
            rng.gen_range(40..99),
            rng.gen_range(1..=12),
            rng.gen_range(1..=28),
            n % 1000
        ))
        .map(|id| id.to_string())
        .unwrap_or_default(),
        "credit_code" => CreditCode::complete(&format!("91{region}{:09}", 100_000_000 + n))
            .map(|c| c.to_string())
            .unwrap_or_default(),
        "record_no" => format!("YW2026{n:06}"),
        "full_name" => {
            ["张伟", "王芳", "李娜", "刘洋", "陈静", "汪敏", "程浩"][n as usize % 7].into()
        }
        "mobile" => format!("13{:09}", rng.gen_range(0..1_000_000_000u32)),
        "region_code" => region.into(),
        "org_name" => format!("黄山市示例企业{n}有限公司"),
        "address" => format!("黄山市屯溪区示例路{}号", n % 300 + 1),
        "registered_on" => format!(
            "2025-{:02}-{:02}",
            rng.gen_range(1..=12),
            rng.gen_range(1..=28)
        ),
        "valid_until" => format!(
            "2030-{:02}-{:02}",
            rng.gen_range(1..=12),
            rng.gen_range(1..=28)
        ),
        "status" => "01".into(),
        "amount" => format!("{}.{:02}", rng.gen_range(0..100_000), rng.gen_range(0..100)),
        "quantity" => rng.gen_range(0..1000).to_string(),
        "handling_org" => "黄山市政务服务中心".into(),
        "updated_time" => "2026-11-01 09:30:00".into(),
        "remarks" => String::new(),
        "is_valid" => "true".into(),
        "longitude" => format!("118.{:03}", rng.gen_range(0..1000)),
        "latitude" => format!("29.{:03}", rng.gen_range(0..1000)),
        _ => format!("示例{n}"),
    }
}

/// Loads data into the published entries; returns how many got data.
pub async fn load(
    store: &Store,
    rng: &mut ChaCha8Rng,
    ctx: &AuditContext,
) -> anyhow::Result<usize> {
    let entries = store.published_freshness().await?;
    let mut loaded = 0;
    for (index, entry) in entries.iter().enumerate() {
        if index % 11 == 5 {
            continue;
        }
        let resource = store.resource(&entry.code).await?;
        let items = store.published_body(&resource).await?.items;
        let rows = rng.gen_range(20..120);
        let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
        for n in 0..rows {
            let texts: Vec<String> = items.iter().map(|item| sample(item, n, rng)).collect();
            let raw: Vec<Option<&str>> = texts
                .iter()
                .map(|t| Some(t.as_str()).filter(|t| !t.is_empty()))
                .collect();
            match check_values(u64::from(n) + 2, &raw, &items) {
                Ok(row) => accepted.push(row),
                Err(row) => rejected.push(row),
            }
        }
        let report = store
            .apply_batch(
                &entry.code,
                "upload:csv",
                &format!("demo:{}", entry.code),
                &accepted,
                &rejected,
                ctx,
            )
            .await?;
        if index % 7 == 3 {
            // Received long ago: overdue against any cycle but 不定期.
            store
                .backdate_batch(report.id, chrono::Utc::now() - chrono::Duration::days(400))
                .await?;
        }
        loaded += 1;
    }
    Ok(loaded)
}
