//! Errors in a case file, shown the way compilers show them: the file, the line and column,
//! the offending text underlined, and what to write instead.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Error};

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

    /// An input error pointing at `span` of the file (rendered where it is shown).
    pub fn error(&self, span: Option<Range<usize>>, title: &str, help: Option<&str>) -> Error {
        Error::CaseFile(Box::new(Diagnostic {
            path: self.path.clone(),
            text: self.text.as_str().into(),
            span: span.unwrap_or(0..0),
            title: title.to_string(),
            help: help.map(str::to_string),
        }))
    }

    /// 1-based line and column of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        crate::error::line_column(&self.text, offset)
    }
}
