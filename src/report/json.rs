//! The machine-readable finding (docs/SPEC.md §5).

use serde_json::{Value, json};

use crate::bisect::Finding;

pub fn finding(finding: &Finding) -> Value {
    let mut value = serde_json::to_value(finding).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        let values: serde_json::Map<String, Value> = finding
            .minimal_elements
            .iter()
            .map(|e| (e.name.clone(), json!(e.value)))
            .collect();
        map.insert("values".into(), Value::Object(values));
        if let Some(Value::Array(causes)) = map.get_mut("causes") {
            for (json, cause) in causes.iter_mut().zip(&finding.causes) {
                let values: serde_json::Map<String, Value> = cause
                    .elements
                    .iter()
                    .map(|e| (e.name.clone(), json!(e.value)))
                    .collect();
                json["values"] = Value::Object(values);
            }
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use crate::report::fixtures;

    #[test]
    fn findings_print_as_their_snapshots() {
        for fixture in fixtures::all() {
            let json = serde_json::to_string_pretty(&super::finding(&fixture.finding)).unwrap();
            fixtures::check_snapshot(&format!("{}.json", fixture.name), &format!("{json}\n"));
        }
    }
}
