//! Errors in a case file, shown the way compilers show them: the file, the line and column,
//! the offending text underlined, and what to write instead.

use std::io::IsTerminal;
use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::error::Error;

/// A case file's text, kept to point into it when something is wrong.
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    pub fn read(path: &Path) -> Result<SourceFile, Error> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            Error::input(format!(
                "cannot read case file {}: {err}\n  = help: give a case file, or a folder that holds case.toml",
                path.display()
            ))
        })?;
        Ok(SourceFile {
            path: path.to_path_buf(),
            text,
        })
    }

    /// An input error pointing at `span` of the file.
    pub fn error(&self, span: Option<Range<usize>>, title: &str, help: Option<&str>) -> Error {
        let path = self.path.display().to_string();
        let span = span.unwrap_or(0..0);
        let (line, column) = self.line_column(span.start);
        // The title carries file:line:column too, so that the position survives when the
        // message is read without its snippet (a log line, a JSON field).
        let title = format!("{title} ({path}:{line}:{column})");
        let mut group = Group::with_title(Level::ERROR.primary_title(&title)).element(
            Snippet::source(self.text.as_str())
                .path(path.as_str())
                .annotation(AnnotationKind::Primary.span(span)),
        );
        if let Some(help) = help {
            group = group.element(Level::HELP.message(help));
        }
        let renderer = if std::io::stderr().is_terminal() {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        Error::Input(renderer.render(&[group]))
    }

    /// 1-based line and column of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rfind('\n')
            .map_or(before.len(), |nl| before.len() - nl - 1)
            + 1;
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_file_line_and_column() {
        let file = SourceFile {
            path: "corpus/x/case.toml".into(),
            text: "name = \"x\"\n[options]\nstdot = \"pipe\"\n".into(),
        };
        let at = file.text.find("stdot").unwrap();
        let err = file.error(
            Some(at..at + 5),
            "unknown option `stdot`",
            Some("known: stdout"),
        );
        let text = err.to_string();
        assert!(text.contains("corpus/x/case.toml:3:1"), "{text}");
        assert!(text.contains("unknown option `stdot`"), "{text}");
        assert!(text.contains("known: stdout"), "{text}");
    }
}
