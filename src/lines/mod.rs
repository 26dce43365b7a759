//! Down to the line: the statements of an application module, as Python's own parser sees
//! them (read by `statements.py`, run in the case's interpreter), and the module's text with
//! some of them left out. A left-out statement becomes `pass` followed by the line breaks it
//! spanned, so every kept statement keeps its text, comments and line number, and the
//! module stays valid Python whatever is left out.

pub mod reduce;
pub mod space;
pub mod synthetic;

use std::collections::BTreeSet;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The reader, embedded so that an installed minrepro needs no file of its own.
const READER: &str = include_str!("statements.py");

/// One statement, with its place in the file.
#[derive(Debug, Clone, Deserialize)]
pub struct Statement {
    pub id: usize,
    /// The statement whose body holds this one (`None`: the module's top level).
    pub parent: Option<usize>,
    /// The block it is in (a body, an `else:`, an `except:`): its siblings share it.
    pub block: usize,
    /// Byte span in the file, decorators included.
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub end_line: usize,
    /// Cannot become `pass` (a `from __future__` import, the docstring before it).
    pub fixed: bool,
    /// The absolute names of the modules it may import.
    pub imports: Vec<String>,
    /// Names it binds and reads itself (not in the statements it holds).
    pub defines: Vec<String>,
    pub uses: Vec<String>,
    /// A function or class: names bound in its body are not the module's.
    pub scope: bool,
}

#[derive(Debug, Deserialize)]
struct ReaderAnswer {
    own: bool,
    error: Option<String>,
    statements: Vec<Statement>,
}

/// A module of the case's own code, as read.
#[derive(Debug, Clone)]
pub struct Module {
    pub name: String,
    pub text: String,
    pub statements: Vec<Statement>,
    /// The statements directly inside each statement (by id), and at the top level: asked
    /// for every variant a trial renders, so they are found once.
    inner: Vec<Vec<usize>>,
    top: Vec<usize>,
}

/// What reading a module gave.
#[derive(Debug)]
pub enum Read {
    Own(Module),
    /// Standard library or an installed package: not the case's code.
    NotOwn,
    /// The case's code, but it cannot be reduced (no source, not UTF-8, a syntax error).
    Unreadable(String),
}

/// Reads `modules` (name, file) with `python`'s own parser, in one process.
pub fn read_modules(python: &Path, modules: &[(String, PathBuf)]) -> Result<Vec<Read>, Error> {
    let request = serde_json::to_string(modules)
        .map_err(|err| Error::infra(format!("cannot write the reader's request: {err}")))?;
    // -I: the reader must see the interpreter's own paths, not the application's.
    let mut child = Command::new(python)
        .args(["-I", "-c", READER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| Error::infra(format!("cannot run {}: {err}", python.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A reader that dies early closes its end: its stderr says why.
        let _ = stdin.write_all(request.as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|err| Error::infra(format!("the statement reader failed: {err}")))?;
    let answers: Vec<ReaderAnswer> = serde_json::from_slice(&output.stdout).map_err(|err| {
        Error::infra(format!(
            "the statement reader ({}) gave no answer ({err}): {}",
            python.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    })?;
    Ok(modules
        .iter()
        .zip(answers)
        .map(|((name, file), answer)| {
            if let Some(error) = answer.error {
                return if answer.own {
                    Read::Unreadable(error)
                } else {
                    Read::NotOwn
                };
            }
            if !answer.own {
                return Read::NotOwn;
            }
            match std::fs::read_to_string(file) {
                Ok(text) => Read::Own(Module::new(name.clone(), text, answer.statements)),
                Err(err) => Read::Unreadable(err.to_string()),
            }
        })
        .collect())
}

/// A run of kept lines, with their text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineRange {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// The lines between two inner statements of a compound one: a clause header such as
/// `else:` or `except X:` when a new block starts there, blank or comment lines otherwise.
struct Gap {
    lines: Range<usize>,
    before: usize,
    after: usize,
}

impl std::fmt::Display for LineRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

impl Module {
    fn new(name: String, text: String, statements: Vec<Statement>) -> Module {
        let mut inner = vec![Vec::new(); statements.len()];
        let mut top = Vec::new();
        for statement in &statements {
            match statement.parent {
                Some(parent) => inner[parent].push(statement.id),
                None => top.push(statement.id),
            }
        }
        Module {
            name,
            text,
            statements,
            inner,
            top,
        }
    }

    /// The statements directly in the body of `parent` (`None`: the top level).
    pub fn children(&self, parent: Option<usize>) -> &[usize] {
        match parent {
            Some(parent) => &self.inner[parent],
            None => &self.top,
        }
    }

    fn is_within(&self, id: usize, ancestors: &BTreeSet<usize>) -> bool {
        let mut at = Some(id);
        while let Some(id) = at {
            if ancestors.contains(&id) {
                return true;
            }
            at = self.statements[id].parent;
        }
        false
    }

    /// The names a statement reads, the statements it holds (those still there) included.
    pub fn uses_within(&self, id: usize, removed: &BTreeSet<usize>) -> BTreeSet<&str> {
        let mut names: BTreeSet<&str> = self.statements[id]
            .uses
            .iter()
            .map(String::as_str)
            .collect();
        for &child in self.children(Some(id)) {
            if !removed.contains(&child) {
                names.extend(self.uses_within(child, removed));
            }
        }
        names
    }

    /// The names a statement binds in the scope it is in (a function's locals do not count).
    pub fn defines_within(&self, id: usize, removed: &BTreeSet<usize>) -> BTreeSet<&str> {
        let statement = &self.statements[id];
        let mut names: BTreeSet<&str> = statement.defines.iter().map(String::as_str).collect();
        if !statement.scope {
            for &child in self.children(Some(id)) {
                if !removed.contains(&child) {
                    names.extend(self.defines_within(child, removed));
                }
            }
        }
        names
    }

    /// Whether `inner` is `outer` or sits inside it.
    pub fn is_inside(&self, inner: usize, outer: usize) -> bool {
        self.is_within(inner, &BTreeSet::from([outer]))
    }

    /// A statement that binds names (a definition, an import, an assignment) none of which
    /// any other statement of `kept` reads.
    pub fn is_orphan(&self, id: usize, kept: &[usize], removed: &BTreeSet<usize>) -> bool {
        let binds = self.defines_within(id, removed);
        !self.statements[id].fixed
            && !binds.is_empty()
            && kept
                .iter()
                .filter(|other| !self.is_inside(**other, id) && !self.is_inside(id, **other))
                .all(|other| {
                    self.statements[*other]
                        .uses
                        .iter()
                        .all(|name| !binds.contains(name.as_str()))
                })
    }

    /// The statements still there once `removed` are left out (with all they hold).
    pub fn kept(&self, removed: &BTreeSet<usize>) -> Vec<usize> {
        (0..self.statements.len())
            .filter(|id| !self.is_within(*id, removed))
            .collect()
    }

    /// The module's text with `removed` left out: each outermost one becomes `pass` and
    /// the line breaks it spanned.
    pub fn render(&self, removed: &BTreeSet<usize>) -> String {
        let mut text = String::with_capacity(self.text.len());
        let mut at = 0;
        for statement in &self.statements {
            let outermost = removed.contains(&statement.id)
                && !statement.fixed
                && !statement.parent.is_some_and(|p| self.is_within(p, removed));
            if !outermost || statement.start < at {
                continue;
            }
            text.push_str(&self.text[at..statement.start]);
            text.push_str("pass");
            let span = &self.text[statement.start..statement.end];
            text.extend(std::iter::repeat_n('\n', span.matches('\n').count()));
            at = statement.end;
        }
        text.push_str(&self.text[at..]);
        text
    }

    /// A statement's own lines: all of a simple statement's; of a compound one, its header
    /// (up to its first inner statement), and apart, the stretches between two of its inner
    /// statements.
    fn own_lines(&self, id: usize) -> (Range<usize>, Vec<Gap>) {
        let statement = &self.statements[id];
        let children = self.children(Some(id));
        let Some(first) = children.first() else {
            return (statement.line..statement.end_line + 1, Vec::new());
        };
        let header = statement.line..self.statements[*first].line.max(statement.line + 1);
        let gaps = children
            .windows(2)
            .map(|pair| Gap {
                lines: self.statements[pair[0]].end_line + 1..self.statements[pair[1]].line,
                before: pair[0],
                after: pair[1],
            })
            .collect();
        (header, gaps)
    }

    /// The kept statements alone, as they read in the file, for a reader or to paste into
    /// another file: what was left out is gone rather than `pass`, except where a block
    /// would be empty. Top-level statements stay at the left margin.
    pub fn kept_text(&self, removed: &BTreeSet<usize>) -> String {
        let kept: BTreeSet<usize> = self.kept(removed).into_iter().collect();
        let rendered = self.render(removed);
        let mut marked = BTreeSet::new();
        // Lines of kept simple statements: blank and comment lines count only there.
        let mut simple = BTreeSet::new();
        for id in &kept {
            let (own, gaps) = self.own_lines(*id);
            let children = self.children(Some(*id));
            if children.is_empty() {
                simple.extend(own.clone());
            }
            marked.extend(own);
            // Each clause header (`else:`, `except X:`) before a new block.
            for gap in gaps {
                if self.statements[gap.after].block != self.statements[gap.before].block {
                    marked.extend(gap.lines);
                }
            }
            // A block left empty keeps its first statement's `pass`.
            let mut blocks: Vec<usize> =
                children.iter().map(|c| self.statements[*c].block).collect();
            blocks.dedup();
            for block in blocks {
                let members: Vec<usize> = children
                    .iter()
                    .copied()
                    .filter(|c| self.statements[*c].block == block)
                    .collect();
                if members.iter().all(|m| !kept.contains(m)) {
                    marked.insert(self.statements[members[0]].line);
                }
            }
        }
        let mut text = String::new();
        for (index, line) in rendered.lines().enumerate() {
            let number = index + 1;
            let blank_or_comment = {
                let t = line.trim();
                t.is_empty() || t.starts_with('#')
            };
            if marked.contains(&number) && (!blank_or_comment || simple.contains(&number)) {
                text.push_str(line);
                text.push('\n');
            }
        }
        text
    }

    /// The lines that remain of the statements kept, grouped into runs: whole simple
    /// statements, and the header lines of compound ones (an `else:` or `except:` only when
    /// something of its body is kept). Blank and comment-only lines are left out.
    pub fn kept_lines(&self, removed: &BTreeSet<usize>) -> Vec<LineRange> {
        let kept: BTreeSet<usize> = self.kept(removed).into_iter().collect();
        let mut lines = BTreeSet::new();
        for id in &kept {
            let (own, gaps) = self.own_lines(*id);
            lines.extend(own);
            for gap in gaps {
                if kept.contains(&gap.after) {
                    lines.extend(gap.lines);
                }
            }
        }
        let text: Vec<&str> = self.text.lines().collect();
        let meaningful = |line: &usize| {
            text.get(line - 1).is_some_and(|t| {
                let t = t.trim();
                !t.is_empty() && !t.starts_with('#')
            })
        };
        let mut ranges: Vec<LineRange> = Vec::new();
        for line in lines.into_iter().filter(meaningful) {
            let line_text = text[line - 1].to_string();
            match ranges.last_mut() {
                Some(range) if range.end + 1 == line => {
                    range.end = line;
                    range.text.push('\n');
                    range.text.push_str(&line_text);
                }
                _ => ranges.push(LineRange {
                    start: line,
                    end: line,
                    text: line_text,
                }),
            }
        }
        ranges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: &str = r#""""Settings."""
import os

import dramatiq  # the client

TESTING = os.environ.get("T") == "1"
CACHE = int(os.environ.get("C", "3"))


@decorated
def helper(x):
    return x


if TESTING:
    from dramatiq.brokers.stub import StubBroker

    dramatiq.set_broker(StubBroker())
else:
    x = 1; y = 2
"#;

    fn python() -> PathBuf {
        PathBuf::from(std::env::var("MINREPRO_TEST_PYTHON").unwrap_or_else(|_| "python3".into()))
    }

    fn settings() -> (tempfile::TempDir, Module) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("settings.py");
        std::fs::write(&file, SETTINGS).unwrap();
        let read = read_modules(&python(), &[("app.settings".into(), file)]).unwrap();
        match read.into_iter().next().unwrap() {
            Read::Own(module) => (dir, module),
            other => panic!("not read: {other:?}"),
        }
    }

    fn compiles(text: &str) -> bool {
        Command::new(python())
            .args(["-c", "import sys; compile(sys.stdin.read(), 'm', 'exec')"])
            .stdin(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(text.as_bytes())?;
                child.wait()
            })
            .is_ok_and(|status| status.success())
    }

    #[test]
    fn statements_are_read_as_pythons_parser_sees_them() {
        let (_dir, module) = settings();
        let top: Vec<usize> = module
            .children(None)
            .iter()
            .map(|id| module.statements[*id].line)
            .collect();
        // The decorated function starts at its decorator.
        assert_eq!(top, [1, 2, 4, 6, 7, 10, 15]);
        let branch = module.statements.iter().find(|s| s.line == 15).unwrap();
        let inside: Vec<usize> = module
            .children(Some(branch.id))
            .iter()
            .map(|id| module.statements[*id].line)
            .collect();
        assert_eq!(inside, [16, 18, 20, 20]);
        let import = module.statements.iter().find(|s| s.line == 16).unwrap();
        assert_eq!(
            import.imports,
            ["dramatiq.brokers.stub", "dramatiq.brokers.stub.StubBroker"]
        );
    }

    #[test]
    fn left_out_statements_become_pass_and_the_rest_keeps_its_lines() {
        let (_dir, module) = settings();
        let keep_lines = [2, 4, 6, 15, 16, 18];
        let removed: BTreeSet<usize> = module
            .statements
            .iter()
            .filter(|s| !keep_lines.contains(&s.line))
            .map(|s| s.id)
            .collect();
        let text = module.render(&removed);
        assert!(compiles(&text), "{text}");
        assert_eq!(text.lines().count(), SETTINGS.lines().count());
        for line in keep_lines {
            assert_eq!(
                text.lines().nth(line - 1),
                SETTINGS.lines().nth(line - 1),
                "line {line}"
            );
        }
        assert!(!text.contains("CACHE") && !text.contains("def helper"));
        // Alone, the kept statements read as they were, with `pass` only where the `else:`
        // block would be empty.
        assert_eq!(
            module.kept_text(&removed),
            "import os\nimport dramatiq  # the client\nTESTING = os.environ.get(\"T\") == \"1\"\nif TESTING:\n    from dramatiq.brokers.stub import StubBroker\n    dramatiq.set_broker(StubBroker())\nelse:\n    pass; pass\n"
        );
        assert!(compiles(&module.kept_text(&removed)));
        let ranges: Vec<String> = module
            .kept_lines(&removed)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(ranges, ["2", "4", "6", "15-16", "18"]);
        // Everything left out is still valid Python; so is one of two statements on a line.
        let all: BTreeSet<usize> = (0..module.statements.len()).collect();
        assert!(compiles(&module.render(&all)));
        let second = module.statements.iter().rfind(|s| s.line == 20).unwrap();
        let one = module.render(&BTreeSet::from([second.id]));
        assert!(one.contains("x = 1; pass"), "{one}");
        assert!(compiles(&one));
    }

    #[test]
    fn installed_modules_are_not_the_cases_code() {
        let os_file = Command::new(python())
            .args(["-c", "import os; print(os.__file__)"])
            .output()
            .unwrap();
        let os_file = PathBuf::from(String::from_utf8(os_file.stdout).unwrap().trim());
        let read = read_modules(&python(), &[("os".into(), os_file)]).unwrap();
        assert!(matches!(read[0], Read::NotOwn), "{read:?}");
    }
}
