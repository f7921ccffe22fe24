//! Differences between two versions of a catalogue entry, field by field. Items are keyed
//! by identifier so that reordering them is not reported as a change.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::catalogue::ResourceBody;

/// One changed field: `share.share_type`, `items.id_number.length`, …
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                flatten(&join(prefix, key), inner, out);
            }
        }
        Value::Array(items)
            if items.iter().all(|i| i.get("identifier").is_some()) && !items.is_empty() =>
        {
            for item in items {
                let key = item["identifier"].as_str().unwrap_or_default().to_string();
                flatten(&join(prefix, &key), item, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn flat(body: &ResourceBody) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    flatten(
        "",
        &serde_json::to_value(body).expect("bodies serialise"),
        &mut out,
    );
    out
}

/// What changed from `before` to `after`, in field order.
pub fn diff(before: &ResourceBody, after: &ResourceBody) -> Vec<FieldChange> {
    let (old, new) = (flat(before), flat(after));
    let mut fields: Vec<&String> = old.keys().chain(new.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| old.get(*f) != new.get(*f))
        .map(|f| FieldChange {
            field: f.clone(),
            before: old.get(f).cloned(),
            after: new.get(f).cloned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::tests::sample_body;

    #[test]
    fn reports_changed_fields_and_items_by_identifier() {
        let before = sample_body();
        let mut after = before.clone();
        after.name = "户籍人口信息".into();
        after.items[0].length = Some(20);
        let changes = diff(&before, &after);
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["items.id_number.length", "name"]);
        assert_eq!(changes[0].before, Some(Value::from(18)));
        assert_eq!(changes[0].after, Some(Value::from(20)));
        assert!(diff(&before, &before).is_empty());
    }

    #[test]
    fn added_item_shows_every_field_as_new() {
        let before = sample_body();
        let mut after = before.clone();
        let mut item = after.items[0].clone();
        item.identifier = "name".into();
        item.name = "姓名".into();
        after.items.push(item);
        let changes = diff(&before, &after);
        assert!(changes
            .iter()
            .all(|c| c.field.starts_with("items.name.") && c.before.is_none()));
        assert!(!changes.is_empty());
    }
}
