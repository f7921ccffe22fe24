//! 归集统计: the aggregation rate of every department and of the city, against targets.

use axum::extract::State;
use maud::{html, Markup};

use super::api::aggregation_stats;
use crate::page::{layout, thousands, PageResult, WebUser};
use crate::AppState;

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

fn verdict(meets: bool) -> Markup {
    html! { @if meets { span.tag.done { "达标" } } @else { span.tag.overdue { "未达标" } } }
}

pub async fn page(State(state): State<AppState>, user: WebUser) -> PageResult {
    user.require(domain::access::Act::ViewStats)?;
    let stats = aggregation_stats(&state).await?;
    let content = html! {
        div.cards {
            div.card { div.muted { "政务数据归集率（目标 " (percent(stats.government.target)) "）" }
                div.big.num { (percent(stats.government.tally.aggregation_rate)) } (verdict(stats.government.meets_target)) }
            div.card { div.muted { "社会/经济数据归集率（目标 " (percent(stats.social.target)) "）" }
                div.big.num { (percent(stats.social.tally.aggregation_rate)) } (verdict(stats.social.meets_target)) }
            div.card { div.muted { "全市已发布目录 / 有数据" }
                div.big.num { (thousands(stats.city.entries_published)) " / " (thousands(stats.city.entries_with_data)) } }
            div.card { div.muted { "全市数据量（行）" } div.big.num { (thousands(stats.city.rows)) } }
            div.card { div.muted { "逾期未更新目录" } div.big.num { (thousands(stats.city.entries_overdue)) } }
            div.card { div.muted { "数据合格率" } div.big.num { (percent(stats.city.quality_rate)) } }
        }
        p.muted { "归集率 = 有数据的已发布目录 ÷ 已发布目录；逾期 = 超过更新周期没有成功归集；合格率 = 入库行 ÷ 收到行。" }
        table id="aggregation" {
            tr { th { "部门" } th { "类型" } th.num { "已发布目录" } th.num { "有数据" } th.num { "无数据" } th.num { "逾期" }
                 th.num { "数据量（行）" } th.num { "归集率" } th.num { "目标" } th { "" } th.num { "合格率" } th { "最近更新" } }
            @for d in &stats.departments {
                tr {
                    td { (d.name) }
                    td { (if d.kind == "government" { "政府部门" } else { "社会/经济" }) }
                    td.num { (d.tally.entries_published) }
                    td.num { (d.tally.entries_with_data) }
                    td.num { (d.tally.entries_empty) }
                    td.num { (d.tally.entries_overdue) }
                    td.num { (thousands(d.tally.rows)) }
                    td.num { (percent(d.tally.aggregation_rate)) }
                    td.num { (percent(d.target)) }
                    td { (verdict(d.meets_target)) }
                    td.num { (percent(d.tally.quality_rate)) }
                    td { @if let Some(at) = &d.tally.last_update { (crate::page::beijing(at)) } }
                }
            }
        }
    };
    Ok(layout(
        &state,
        &user,
        "/stats",
        &[("", "归集统计")],
        "归集统计",
        content,
    ))
}
