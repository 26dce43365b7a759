//! The night as one self-contained HTML page: a row per case with its status and finding,
//! and two pictures drawn as inline SVG (no network needed to view it): the size of the
//! configuration trial after trial, and the time each trial took.

use std::fmt::Write;
use std::path::Path;

use minijinja::{Environment, Value, context};

use super::{Status, Summary, TrialPoint};
use crate::error::Error;
use crate::reduce::Verdict;

const WIDTH: f64 = 260.0;
const HEIGHT: f64 = 64.0;
const PAD: f64 = 4.0;

fn color(point: &TrialPoint) -> &'static str {
    match point.verdict {
        Some(Verdict::Fail) => "#c0392b",
        Some(Verdict::Pass) => "#27ae60",
        Some(Verdict::Unresolved) => "#e67e22",
        None => "#95a5a6",
    }
}

fn x_of(index: usize, count: usize) -> f64 {
    if count <= 1 {
        WIDTH / 2.0
    } else {
        PAD + index as f64 * (WIDTH - 2.0 * PAD) / (count - 1) as f64
    }
}

fn y_of(value: f64, max: f64) -> f64 {
    HEIGHT - PAD - if max > 0.0 { value / max } else { 0.0 } * (HEIGHT - 2.0 * PAD)
}

/// Elements of each trial's configuration, in trial order.
fn size_chart(points: &[TrialPoint]) -> String {
    let max = points.iter().map(|p| p.elements).max().unwrap_or(0) as f64;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img"><title>configuration size per trial</title><rect width="{WIDTH}" height="{HEIGHT}" fill="#fafafa"/>"##
    );
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "{:.1},{:.1}",
                x_of(i, points.len()),
                y_of(p.elements as f64, max)
            )
        })
        .collect();
    let _ = write!(
        svg,
        r##"<polyline fill="none" stroke="#bbb" stroke-width="1" points="{}"/>"##,
        line.join(" ")
    );
    for (i, point) in points.iter().enumerate() {
        let (fill, stroke) = if point.recorded {
            ("#fff", color(point))
        } else {
            (color(point), color(point))
        };
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="2.6" fill="{fill}" stroke="{stroke}"/>"#,
            x_of(i, points.len()),
            y_of(point.elements as f64, max)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Seconds each trial took, as bars.
fn time_chart(points: &[TrialPoint]) -> String {
    let max = points.iter().map(|p| p.seconds).fold(0.0, f64::max);
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img"><title>seconds per trial</title><rect width="{WIDTH}" height="{HEIGHT}" fill="#fafafa"/>"##
    );
    let slot = (WIDTH - 2.0 * PAD) / points.len().max(1) as f64;
    for (i, point) in points.iter().enumerate() {
        let top = y_of(point.seconds, max);
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
            PAD + i as f64 * slot,
            top,
            (slot * 0.8).max(0.5),
            (HEIGHT - PAD - top).max(0.5),
            color(point)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn duration(seconds: f64) -> String {
    if seconds >= 60.0 {
        format!("{}m {:02.0}s", (seconds / 60.0).floor(), seconds % 60.0)
    } else {
        format!("{seconds:.1}s")
    }
}

pub fn render(summary: &Summary, out: &Path) -> Result<String, Error> {
    let cases: Vec<Value> = summary
        .cases
        .iter()
        .map(|case| {
            let attachment = case.attachment.as_ref().map(|dir| {
                let relative = dir.strip_prefix(out).unwrap_or(dir);
                format!("{}/README.md", relative.display())
            });
            context! {
                name => case.name.clone(),
                mode => case.mode.clone(),
                status => case.status.name(),
                reason => case.reason.clone(),
                minimal => case.minimal.clone(),
                outcome => case.outcome.clone(),
                attachment => attachment,
                trials => case.trials,
                cache_hits => case.cache_hits,
                wall => duration(case.wall_s),
                size_chart => Value::from_safe_string(size_chart(&case.series)),
                time_chart => Value::from_safe_string(time_chart(&case.series)),
                max_elements => case.series.iter().map(|p| p.elements).max().unwrap_or(0),
                max_seconds => format!("{:.1}", case.series.iter().map(|p| p.seconds).fold(0.0, f64::max)),
            }
        })
        .collect();
    let counts: Vec<Value> = [
        Status::Reduced,
        Status::Unchanged,
        Status::Changed,
        Status::Fixed,
        Status::Error,
        Status::Unfinished,
    ]
    .into_iter()
    .filter(|s| summary.count(*s) > 0)
    .map(|s| context! { name => s.name(), count => summary.count(s) })
    .collect();
    let mut env = Environment::new();
    env.add_template("index.html", include_str!("index.html.j2"))
        .map_err(|err| Error::infra(format!("the report template is broken: {err}")))?;
    let template = env
        .get_template("index.html")
        .map_err(|err| Error::infra(format!("the report template is broken: {err}")))?;
    template
        .render(context! {
            corpus => summary.corpus.display().to_string(),
            started => summary.started.clone(),
            wall => duration(summary.wall_s),
            jobs => summary.jobs,
            budget => summary.budget_s.map(duration),
            trials => summary.trials,
            counts => counts,
            cases => cases,
        })
        .map_err(|err| Error::infra(format!("cannot render index.html: {err}")))
}
