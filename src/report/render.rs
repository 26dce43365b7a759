//! The reports' templates are rendered here, with the few filters that lay their text out
//! exactly as Rust's formatting did: columns padded, table cells escaped, prose wrapped.

use minijinja::{Error as TemplateError, ErrorKind, UndefinedBehavior, Value};

use crate::error::Error;
use crate::template;

/// Renders the template `source` (called `name` in errors) with `context`. A name or an
/// attribute the context lacks is an error, not an empty string: a misspelt one would
/// otherwise vanish from a report unnoticed.
pub fn render(name: &str, source: &str, context: Value) -> Result<String, Error> {
    let mut env = template::environment()?;
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("pad", pad);
    env.add_filter("widest", widest);
    env.add_filter("column_width", column_width);
    env.add_filter("cell", cell);
    env.add_filter("fill", fill);
    env.render_named_str(name, source, context)
        .map_err(|err| Error::infra(format!("cannot render {name}: {err:#}")))
}

/// `text` followed by spaces up to `width` characters, as `{:<width$}` pads.
fn pad(text: &str, width: usize) -> String {
    format!("{text:<width$}")
}

/// The length of the longest of `texts`, in bytes (what the terminal's columns always
/// measured).
fn widest(texts: Vec<String>) -> usize {
    texts.iter().map(String::len).max().unwrap_or(0)
}

/// Where the terminal lines up the trials of a cause's rows: after the longest
/// `name = value`, at most 60 (one long value must not push every row's trial off the
/// screen).
fn column_width(rows: Value) -> Result<usize, TemplateError> {
    let length = |row: &Value, attribute: &str| -> Result<Option<usize>, TemplateError> {
        let value = row.get_attr(attribute)?;
        if value.is_none() {
            return Ok(None);
        }
        value.as_str().map(|text| Some(text.len())).ok_or_else(|| {
            TemplateError::new(ErrorKind::InvalidOperation, "a row's text is no string")
        })
    };
    let mut widest = 0;
    for row in rows.try_iter()? {
        let name = length(&row, "name")?.unwrap_or(0);
        let value = length(&row, "value")?.map_or(0, |value| value + 3);
        widest = widest.max(name + value);
    }
    Ok(widest.min(60))
}

/// `text` as a Markdown table cell: a `|` would end the cell, a line break the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "\\n")
}

/// `text` wrapped to lines of at most `width` characters.
fn fill(text: &str, width: usize) -> String {
    textwrap::fill(text, width)
}
