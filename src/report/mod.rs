//! Everything minrepro shows or writes about trials and findings, one file per output.
//! Secrets are taken out here, on the way out, so no output can forget to.

pub mod attachment;
pub mod html;
pub mod json;
pub mod junit;
pub mod progress;
pub mod terminal;

use crate::redact::Redactor;
use crate::trial::{Outcome, TrialRecord};

/// The record with every secret value replaced, ready to be shown or written.
pub fn redacted(record: &TrialRecord, redactor: &Redactor) -> TrialRecord {
    let mut record = record.clone();
    record.outcome = match record.outcome {
        Outcome::Pending {
            stack_dump,
            stage,
            timeout,
            consumers,
            messages,
            processed,
        } => Outcome::Pending {
            stack_dump: redactor.redact(&stack_dump),
            stage,
            timeout,
            consumers,
            messages,
            processed,
        },
        Outcome::Crash {
            stage,
            exit_code,
            signal,
            signature,
        } => Outcome::Crash {
            stage,
            exit_code,
            signal,
            signature: redactor.redact(&signature),
        },
        Outcome::Error { message } => Outcome::Error {
            message: redactor.redact(&message),
        },
        processed @ Outcome::Processed { .. } => processed,
    };
    record.stdout_tail = redactor.redact(&record.stdout_tail);
    record.stderr_tail = redactor.redact(&record.stderr_tail);
    record
}
