//! The errors a command can end with, and the exit status each one maps to
//! (docs/SPEC.md §4).

use std::fmt;

/// Exit status for bad input or usage.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit status for infrastructure trouble: the broker, the interpreter, the file system.
pub const EXIT_INFRA: i32 = 3;
/// Exit status after Ctrl-C (128 + SIGINT), as shells expect.
pub const EXIT_INTERRUPTED: i32 = 130;

#[derive(Debug)]
pub enum Error {
    /// The user's input is wrong: a case file, a flag, a path. The message is complete and
    /// starts with "error:", naming the file, the position and what to do.
    Input(String),
    /// Something outside the configuration under test failed: the broker, the interpreter.
    Infra(String),
    /// The connection to the broker dropped (a restart): what ran meanwhile proves
    /// nothing, and is run again once the broker is back.
    BrokerLost(String),
    /// The user pressed Ctrl-C (or the process got SIGTERM).
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

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => EXIT_BAD_INPUT,
            Error::Infra(_) | Error::BrokerLost(_) => EXIT_INFRA,
            Error::Interrupted => EXIT_INTERRUPTED,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(message) => f.write_str(message),
            Error::Infra(message) | Error::BrokerLost(message) => write!(f, "error: {message}"),
            Error::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for Error {}
