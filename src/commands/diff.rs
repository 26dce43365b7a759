//! `minrepro diff A B`: the element-level difference of two case files, what `bisect
//! --good A B` would reduce over. Colored on a terminal; secrets redacted.

use std::fmt::Write as _;
use std::io::Write as _;

use anstyle::{AnsiColor, Style};

use crate::bisect::{redact_value, redactor_for};
use crate::case::space::Space;
use crate::case::{self, Element, ElementKey};
use crate::cli::DiffArgs;
use crate::error::{Error, Exit};

const REMOVED: Style = AnsiColor::Red.on_default();
const ADDED: Style = AnsiColor::Green.on_default();
const HEADER: Style = Style::new().bold();

pub fn diff(args: DiffArgs) -> Result<Exit, Error> {
    let a = case::load(&args.case_a)?;
    let b = case::load(&args.case_b)?;
    let redactor = redactor_for(&b, Some(&a), args.show_secrets);
    // The differences that turn A into B, as `bisect --good A B` sees them.
    let space = Space::isolate(&b, &a);
    let show = |name: &str, element: &Option<Element>| -> String {
        match element {
            None => match ElementKey::parse(name) {
                Some(ElementKey::Env(_)) => "(unset)",
                Some(ElementKey::Import(_)) => "(not imported)",
                _ => "(default)",
            }
            .to_string(),
            Some(Element::Import { .. }) => "imported".to_string(),
            Some(element) => {
                let value = element.value_text().unwrap_or_default();
                let value = redact_value(name, &value, &redactor);
                match element {
                    Element::Env { .. } => format!("{value:?}"),
                    _ => value,
                }
            }
        }
    };
    let width = space
        .reducible
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(out, "{HEADER}--- {}{HEADER:#}", a.path.display());
    let _ = writeln!(out, "{HEADER}+++ {}{HEADER:#}", b.path.display());
    let mut counts = [0usize; 3];
    for reducible in &space.reducible {
        let kind = match reducible.name.split(':').next() {
            Some("env") => 0,
            Some("import") => 1,
            _ => 2,
        };
        counts[kind] += 1;
        let _ = writeln!(
            out,
            "  {:<width$}  {REMOVED}{}{REMOVED:#} → {ADDED}{}{ADDED:#}",
            reducible.name,
            show(&reducible.name, &reducible.excluded),
            show(&reducible.name, &reducible.included),
        );
    }
    if space.reducible.is_empty() {
        let _ = writeln!(out, "  no differences");
    }
    let common = a.elements.iter().filter(|e| b.elements.contains(e)).count();
    let _ = writeln!(
        out,
        "{} differences ({} env, {} imports, {} options); {} elements in common",
        space.reducible.len(),
        counts[0],
        counts[1],
        counts[2],
        common
    );
    if !space.kept.is_empty() {
        let _ = writeln!(
            out,
            "kept by {} (not reduced by bisect --good): {}",
            b.path.display(),
            space.kept.join(", ")
        );
    }
    let mut stdout = anstream::stdout();
    let _ = stdout.write_all(out.as_bytes());
    Ok(Exit::Done)
}
