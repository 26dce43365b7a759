//! The machine-readable finding (docs/SPEC.md §5): the finding's fields, how it ended as
//! `reproduces` and `reason`, the first cause's fields again at the top level, and each
//! cause's elements with their values as `values`.

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::bisect::load::LoadFinding;
use crate::bisect::{AttachmentSize, Cause, Finding, FoundElement, Rate};
use crate::case::space::Mode;
use crate::trial::Outcome;

pub fn finding(finding: &Finding) -> Value {
    serde_json::to_value(FindingJson::of(finding)).unwrap_or(Value::Null)
}

/// The finding as the spec lays it out, field by field in its order.
#[derive(Serialize)]
struct FindingJson<'a> {
    case: &'a str,
    mode: Mode,
    reproduces: bool,
    /// Why the case does not reproduce, or why the bisection stopped early.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The first cause's (see [`Finding::first`]), here and in `outcome`, `one_minimal`,
    /// `reproduction_rate` and `values`.
    minimal: &'a [String],
    prerequisites: &'a [String],
    kept: &'a [String],
    elements_total: usize,
    reducible: usize,
    outcome: Option<&'a Outcome>,
    full_outcome: Option<&'a Outcome>,
    trials: u32,
    cache_hits: u32,
    recorded: u32,
    one_minimal: bool,
    reproduction_rate: Rate,
    wall_s: f64,
    timeout_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment: Option<&'a Path>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    minimal_worker_reproduces: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment_size: Option<AttachmentSize>,
    causes: Vec<CauseJson<'a>>,
    messages: u32,
    probe: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    load: Option<&'a LoadFinding>,
    values: Map<String, Value>,
}

/// A cause, its elements' values last.
#[derive(Serialize)]
struct CauseJson<'a> {
    #[serde(flatten)]
    cause: &'a Cause,
    values: Map<String, Value>,
}

impl<'a> FindingJson<'a> {
    fn of(finding: &'a Finding) -> Self {
        let first = finding.first();
        FindingJson {
            case: &finding.case,
            mode: finding.mode,
            reproduces: finding.ending.reproduces(),
            reason: finding.ending.reason(),
            minimal: &first.minimal,
            prerequisites: &first.prerequisites,
            kept: &finding.kept,
            elements_total: finding.elements_total,
            reducible: finding.reducible,
            outcome: first.outcome.as_ref(),
            full_outcome: finding.full_outcome.as_ref(),
            trials: finding.trials,
            cache_hits: finding.cache_hits,
            recorded: finding.recorded,
            one_minimal: first.one_minimal,
            reproduction_rate: first.reproduction_rate,
            wall_s: finding.wall_s,
            timeout_s: finding.timeout_s,
            attachment: finding.attachment.as_deref(),
            attachment_verified: finding.attachment_verified,
            minimal_worker_reproduces: finding.minimal_worker_reproduces,
            attachment_size: finding.attachment_size,
            causes: finding
                .causes
                .iter()
                .map(|cause| CauseJson {
                    cause,
                    values: values(&cause.elements),
                })
                .collect(),
            messages: finding.messages,
            probe: finding.probe,
            load: finding.load.as_ref(),
            values: values(&first.elements),
        }
    }
}

/// Element name → its value (`null`: an import, or an env var the failing side leaves
/// unset), in the cause's order.
fn values(elements: &[FoundElement]) -> Map<String, Value> {
    elements
        .iter()
        .map(|e| (e.name.clone(), json!(e.value)))
        .collect()
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

    /// Every key or value `name` of a JSON value, at any depth.
    fn words(value: &serde_json::Value, into: &mut std::collections::BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    into.insert(key.clone());
                    words(value, into);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| words(v, into)),
            serde_json::Value::String(text) => {
                into.insert(text.clone());
            }
            _ => {}
        }
    }

    /// The contract: every field docs/SPEC.md §5 names for `bisect --json` is in the JSON
    /// of the findings built by hand (each of them shows some).
    #[test]
    fn the_json_holds_every_field_the_spec_names() {
        let spec = include_str!("../../docs/SPEC.md");
        let section = spec
            .split("## 5. Machine-readable output")
            .nth(1)
            .expect("SPEC.md has §5");
        let paragraph = section
            .trim_start()
            .split("\n\n")
            .next()
            .expect("§5 opens with the bisect output");
        let named: Vec<&str> = paragraph
            .split('`')
            .skip(1)
            .step_by(2)
            // Flags and the case file's `keep` are named in passing, not as fields.
            .filter(|word| !word.contains(' ') && !word.starts_with("--") && *word != "keep")
            .collect();
        assert!(named.len() > 30, "{named:?}");
        let mut seen = std::collections::BTreeSet::new();
        for fixture in fixtures::all() {
            words(&super::finding(&fixture.finding), &mut seen);
        }
        let missing: Vec<&&str> = named.iter().filter(|w| !seen.contains(**w)).collect();
        assert!(
            missing.is_empty(),
            "named in SPEC.md §5, in no JSON: {missing:?}"
        );
    }
}
