//! The errors a command can end with, and every exit status minrepro ends with
//! (docs/SPEC.md §4). An error keeps its kind and its data until it is shown: a case-file
//! diagnostic is rendered where it is printed (styled only on a terminal), never when it is
//! made, so that a file minrepro writes holds no escape code.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// How a command ended, as the exit status says it: the one table of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The work is done (and, for `run` and `bisect`, the failure reproduces).
    Done,
    /// The case does not reproduce: the full configuration works, the good one does not;
    /// for `nightly`, a case changed or erred.
    NotReproduced,
    /// Bad input or usage.
    BadInput,
    /// Trouble outside the configuration: the broker, the interpreter, the file system.
    Infra,
    /// Ctrl-C (128 + SIGINT), as shells expect.
    Interrupted,
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Done => 0,
            Exit::NotReproduced => 1,
            Exit::BadInput => 2,
            Exit::Infra => 3,
            Exit::Interrupted => 130,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The user's input is wrong: a flag, a path, a capture that found nothing. The message
    /// is complete and starts with "error:", naming what to do.
    #[error("{0}")]
    Input(String),
    /// A case file is wrong: where, and what to write instead.
    #[error("{}", .0.render(false))]
    CaseFile(Box<Diagnostic>),
    /// Something outside the configuration under test failed: the broker, the interpreter.
    #[error("error: {0}")]
    Infra(String),
    /// The connection to the broker dropped (a restart): what ran meanwhile proves
    /// nothing, and is run again once the broker is back.
    #[error("error: {0}")]
    BrokerLost(String),
    /// The user pressed Ctrl-C (or the process got SIGTERM).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// An input error from a plain message.
    pub fn input(message: impl AsRef<str>) -> Self {
        Error::Input(format!("error: {}", message.as_ref()))
    }

    pub fn infra(message: impl Into<String>) -> Self {
        Error::Infra(message.into())
    }

    pub fn exit(&self) -> Exit {
        match self {
            Error::Input(_) | Error::CaseFile(_) => Exit::BadInput,
            Error::Infra(_) | Error::BrokerLost(_) => Exit::Infra,
            Error::Interrupted => Exit::Interrupted,
        }
    }

    /// Whether the error is the configuration's or the user's, so that running the same
    /// trial again cannot help.
    pub fn is_input(&self) -> bool {
        self.exit() == Exit::BadInput
    }

    pub fn kind(&self) -> Kind {
        match self {
            Error::Input(_) | Error::CaseFile(_) => Kind::Input,
            Error::Infra(_) => Kind::Infra,
            Error::BrokerLost(_) => Kind::BrokerLost,
            Error::Interrupted => Kind::Interrupted,
        }
    }

    /// The error in words, without the leading "error: ": for a report that says it is an
    /// error itself (a nightly case's reason).
    pub fn words(&self) -> String {
        self.to_string().trim_start_matches("error: ").to_string()
    }

    /// The error as shown on a terminal (`styled`) or anywhere else.
    pub fn render(&self, styled: bool) -> String {
        match self {
            Error::CaseFile(diagnostic) => diagnostic.render(styled),
            other => other.to_string(),
        }
    }

    /// The same kind of error with its words passed through `f` (secrets redacted, say).
    pub fn map_words(self, f: impl Fn(&str) -> String) -> Error {
        match self {
            Error::Input(message) => Error::Input(f(&message)),
            Error::Infra(message) => Error::Infra(f(&message)),
            Error::BrokerLost(message) => Error::BrokerLost(f(&message)),
            Error::CaseFile(_) | Error::Interrupted => self,
        }
    }
}

/// An error's kind, for an error that crosses a process (an agent's reply): the kind
/// decides the exit status and whether a trial runs again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Input,
    #[default]
    Infra,
    BrokerLost,
    Interrupted,
}

impl Kind {
    /// An error of this kind in these words (without the leading "error: ").
    pub fn error(self, words: &str) -> Error {
        match self {
            Kind::Input => Error::input(words),
            Kind::Infra => Error::infra(words),
            Kind::BrokerLost => Error::BrokerLost(words.to_string()),
            Kind::Interrupted => Error::Interrupted,
        }
    }
}

/// An error in a case file, kept as data: the file's text, where in it, what is wrong and
/// what to write instead. Shown the way compilers show them.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub path: PathBuf,
    pub text: Arc<str>,
    pub span: Range<usize>,
    pub title: String,
    pub help: Option<String>,
}

impl Diagnostic {
    /// The diagnostic with its snippet; escape codes only when `styled`.
    pub fn render(&self, styled: bool) -> String {
        let path = self.path.display().to_string();
        let (line, column) = line_column(&self.text, self.span.start);
        // The title carries file:line:column too, so that the position survives when the
        // message is read without its snippet (a log line, a JSON field).
        let title = format!("{} ({path}:{line}:{column})", self.title);
        let mut group = Group::with_title(Level::ERROR.primary_title(&title)).element(
            Snippet::source(&*self.text)
                .path(path.as_str())
                .annotation(AnnotationKind::Primary.span(self.span.clone())),
        );
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        renderer.render(&[group])
    }
}

/// 1-based line and column of a byte offset in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostic() -> Diagnostic {
        let text = "name = \"x\"\n[options]\nstdot = \"pipe\"\n";
        let at = text.find("stdot").unwrap();
        Diagnostic {
            path: "corpus/x/case.toml".into(),
            text: text.into(),
            span: at..at + 5,
            title: "unknown option `stdot`".into(),
            help: Some("known: stdout".into()),
        }
    }

    #[test]
    fn a_case_file_error_names_file_line_and_column() {
        let text = Error::CaseFile(Box::new(diagnostic())).to_string();
        assert!(text.contains("corpus/x/case.toml:3:1"), "{text}");
        assert!(text.contains("unknown option `stdot`"), "{text}");
        assert!(text.contains("known: stdout"), "{text}");
    }

    #[test]
    fn a_case_file_error_is_styled_only_when_asked() {
        let error = Error::CaseFile(Box::new(diagnostic()));
        assert!(!error.to_string().contains('\x1b'));
        assert!(!error.render(false).contains('\x1b'));
        assert!(error.render(true).contains('\x1b'));
    }

    #[test]
    fn every_kind_has_its_exit_status() {
        let kinds = [
            (Error::input("bad flag"), 2),
            (Error::CaseFile(Box::new(diagnostic())), 2),
            (Error::infra("no broker"), 3),
            (Error::BrokerLost("restarted".into()), 3),
            (Error::Interrupted, 130),
        ];
        for (error, code) in kinds {
            assert_eq!(error.exit().code(), code, "{error:?}");
        }
        assert_eq!(Exit::Done.code(), 0);
        // Across a process, an error keeps its kind.
        let lost = Error::BrokerLost("restarted".into());
        assert!(matches!(lost.kind().error("x"), Error::BrokerLost(_)));
        assert!(Error::input("x").kind().error("x").is_input());
        assert_eq!(Exit::NotReproduced.code(), 1);
    }
}
