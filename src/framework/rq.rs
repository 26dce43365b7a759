//! RQ, on Redis: `templates/rq/`.

use super::{Framework, ProbeMessage, unsupported, verbatim_flags};
use crate::broker::{Delivery, Kind, Leftovers};
use crate::case::LaunchOptions;
use crate::error::Error;

pub struct Rq;

impl Framework for Rq {
    fn name(&self) -> &'static str {
        "rq"
    }

    fn package(&self) -> &'static str {
        "rq"
    }

    fn console_script(&self) -> &'static str {
        "rq"
    }

    fn cli_arguments(&self, options: &LaunchOptions) -> Vec<String> {
        verbatim_flags(options)
    }

    fn probe_task(&self, _token: &str) -> String {
        "minrepro_framework.probe".to_string()
    }

    fn probe_message(&self, kind: Kind, _probe: ProbeMessage<'_>) -> Result<Delivery, Error> {
        Err(unsupported(self.name(), kind))
    }

    fn probe_leftovers(&self, _kind: Kind, queue: &str) -> Leftovers {
        Leftovers::Keys {
            keys: vec![format!("rq:queue:{queue}")],
            patterns: Vec::new(),
        }
    }

    fn queue_family(&self, queue: &str) -> Vec<String> {
        vec![queue.to_string()]
    }
}
