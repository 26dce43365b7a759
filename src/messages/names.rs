//! A trial's own names on the broker. The worker's broker clients rename every queue,
//! exchange and key name they use (templates/isolation.py); minrepro renames the launch's
//! messages' destinations the same way, so that both sides meet exactly where the real
//! worker and the real sender would have met, and nowhere else: a mismatch stays a
//! mismatch, and no trial touches the user's queues or another trial's.

/// What minrepro's own names (its probe's queue) start with: never renamed.
const OWN: &str = "minrepro_";

/// The names of one trial: `minrepro.<trial>.` before every name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialNames {
    prefix: String,
    trial: String,
}

impl TrialNames {
    pub fn new(trial: &str) -> TrialNames {
        TrialNames {
            prefix: format!("minrepro.{trial}."),
            trial: trial.to_string(),
        }
    }

    /// What the worker's plumbing prefixes names with (probe.json's `names`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The trial's id: in every name and every fresh message id of the trial.
    pub fn trial(&self) -> &str {
        &self.trial
    }

    /// The queue of minrepro's probe in this trial: a name every framework accepts (old
    /// Dramatiq allows no dot), minrepro's own, never renamed.
    pub fn probe_queue(&self) -> String {
        format!("{OWN}{}_probe", self.trial)
    }

    /// The trial's name for a queue or an exchange: empty names (the default exchange, a
    /// server-named queue), RabbitMQ's own (`amq.*`) and names already minrepro's (the
    /// trial's, or its probe's) stay.
    pub fn rename(&self, name: &str) -> String {
        if name.is_empty()
            || name.starts_with("amq.")
            || name.starts_with(&self.prefix)
            || name.starts_with(OWN)
        {
            name.to_string()
        } else {
            format!("{}{name}", self.prefix)
        }
    }

    /// A routing key: a queue's name on the default exchange (renamed), a key elsewhere.
    pub fn routing_key(&self, exchange: &str, routing_key: &str) -> String {
        if exchange.is_empty() {
            self.rename(routing_key)
        } else {
            routing_key.to_string()
        }
    }

    /// A queue's arguments: its dead-letter exchange, and its dead-letter routing key when
    /// that goes through the default exchange.
    pub fn queue_arguments(
        &self,
        arguments: &serde_json::Map<String, serde_json::Value>,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut renamed = arguments.clone();
        let exchange = arguments
            .get("x-dead-letter-exchange")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if !exchange.is_empty() {
            renamed.insert(
                "x-dead-letter-exchange".into(),
                self.rename(exchange).into(),
            );
        } else if let Some(key) = arguments
            .get("x-dead-letter-routing-key")
            .and_then(|v| v.as_str())
        {
            renamed.insert("x-dead-letter-routing-key".into(), self.rename(key).into());
        }
        renamed
    }

    /// A name as the launch knew it (the trial's prefix taken off).
    pub fn original<'a>(&self, name: &'a str) -> &'a str {
        name.strip_prefix(self.prefix.as_str()).unwrap_or(name)
    }

    /// A fresh message id of this trial, in the form of a UUID (what frameworks generate):
    /// the message's shape and number first, the trial's id as the last group, so that the
    /// worker's plumbing tells the trial's messages from others, and every key a result or
    /// a job leaves holds the trial's id.
    pub fn message_id(&self, shape: usize, number: u32) -> String {
        format!(
            "{:04x}{:04x}-{:04x}-4000-8000-{}",
            shape & 0xffff,
            number >> 16,
            number & 0xffff,
            self.trial
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_renamed_once_and_builtins_stay() {
        let names = TrialNames::new("3fa2c1d0e9ab");
        assert_eq!(names.rename("celery"), "minrepro.3fa2c1d0e9ab.celery");
        assert_eq!(
            names.rename(&names.rename("celery")),
            "minrepro.3fa2c1d0e9ab.celery"
        );
        assert_eq!(names.rename(""), "");
        assert_eq!(names.rename("amq.direct"), "amq.direct");
        assert_eq!(names.probe_queue(), "minrepro_3fa2c1d0e9ab_probe");
        assert_eq!(names.rename(&names.probe_queue()), names.probe_queue());
        assert_eq!(
            names.routing_key("", "celery"),
            "minrepro.3fa2c1d0e9ab.celery"
        );
        assert_eq!(names.routing_key("tasks", "high.#"), "high.#");
        assert_eq!(names.original("minrepro.3fa2c1d0e9ab.celery"), "celery");
        // Another trial's names are not this one's.
        let other = TrialNames::new("000000000001");
        assert_ne!(other.rename("celery"), names.rename("celery"));
    }

    #[test]
    fn dead_letters_follow_the_renaming() {
        let names = TrialNames::new("3fa2c1d0e9ab");
        // Dramatiq: the default exchange, and the dead-letter queue's name as the key.
        let dramatiq = serde_json::json!({
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "default.XQ",
        });
        let renamed = names.queue_arguments(dramatiq.as_object().unwrap());
        assert_eq!(renamed["x-dead-letter-exchange"], "");
        assert_eq!(
            renamed["x-dead-letter-routing-key"],
            "minrepro.3fa2c1d0e9ab.default.XQ"
        );
        // A named dead-letter exchange: renamed; the key is a routing key, kept.
        let named = serde_json::json!({
            "x-dead-letter-exchange": "dlx",
            "x-dead-letter-routing-key": "failed",
        });
        let renamed = names.queue_arguments(named.as_object().unwrap());
        assert_eq!(
            renamed["x-dead-letter-exchange"],
            "minrepro.3fa2c1d0e9ab.dlx"
        );
        assert_eq!(renamed["x-dead-letter-routing-key"], "failed");
    }

    #[test]
    fn message_ids_look_like_uuids_and_carry_the_trial() {
        let names = TrialNames::new("3fa2c1d0e9ab");
        let id = names.message_id(2, 70_000);
        assert_eq!(id, "00020001-1170-4000-8000-3fa2c1d0e9ab");
        assert_eq!(id.len(), 36);
        assert!(id.ends_with(names.trial()));
        assert_ne!(names.message_id(2, 1), names.message_id(3, 1));
    }
}
