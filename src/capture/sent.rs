//! What the launch sent, and what became of it: the task messages the command's processes
//! (not the worker's own) published, grouped by shape — same broker, destination, task,
//! wire format — each with its count, its times relative to the worker's start, what its
//! sender declared first and where it read the results; and, for the case header, where
//! they went against where the worker consumed, and their fate (executed, discarded, left
//! in a queue, executed with the result elsewhere).

use std::collections::{HashMap, HashSet};

use base64::Engine;
use indexmap::IndexMap;
use serde_json::Value;

use super::session::{Candidate, Fate, Published, Session};
use crate::broker::Declaration;
use crate::messages::results::{location_words, readable};
use crate::messages::{Destination, LaunchMessage, ResultWait, address};

/// One shape of message, with what became of its messages during the capture.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: LaunchMessage,
    /// Of its messages: executed by the worker, discarded (how, in the framework's words),
    /// executed with the result where the sender does not read it.
    pub executed: u32,
    pub discarded: Vec<String>,
    pub misplaced: Option<String>,
}

impl Sent {
    /// The messages that went through as the sender saw them.
    pub fn succeeded(&self) -> bool {
        self.executed == self.message.count && self.misplaced.is_none()
    }

    /// What became of them, in a line.
    pub fn fate(&self) -> String {
        let count = self.message.count;
        if let Some(first) = self.discarded.first() {
            return format!(
                "{} of {count} discarded by the worker: {first}",
                self.discarded.len()
            );
        }
        if let Some(misplaced) = &self.misplaced {
            return format!("{} of {count} executed; {misplaced}", self.executed);
        }
        if self.executed == count {
            return format!("all {count} executed by the worker");
        }
        let left = count - self.executed;
        let queue = self
            .message
            .destination
            .queue()
            .map_or_else(|| "their queue".to_string(), |q| format!("`{q}`"));
        format!(
            "{} of {count} executed; {left} never taken by the worker, left in {queue} on {}",
            self.executed,
            address(&self.message.broker)
        )
    }
}

/// The task id and name a published message carries, in any framework's format; `None`
/// for what is not a task message (Celery's control and event messages, replies).
fn task_of(published: &Published) -> Option<(String, String)> {
    if let (Some(id), Some(task)) = (&published.id, &published.task) {
        return Some((id.clone(), task.clone()));
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let headers = match published.kind.as_str() {
        "kombu" => published
            .envelope
            .as_ref()
            .and_then(|e| e.get("headers"))
            .cloned(),
        _ => published.properties.get("headers").cloned(),
    };
    if let Some(headers) = &headers
        && let (Some(id), Some(task)) = (text(headers.get("id")), text(headers.get("task")))
    {
        return Some((id, task)); // Celery's message protocol 2
    }
    let body: Value = serde_json::from_slice(&body_of(published)).ok()?;
    match (text(body.get("id")), text(body.get("task"))) {
        (Some(id), Some(task)) => Some((id, task)), // Celery's protocol 1
        _ => Some((text(body.get("message_id"))?, text(body.get("actor_name"))?)), // Dramatiq
    }
}

fn body_of(published: &Published) -> Vec<u8> {
    if let Some(envelope) = &published.envelope {
        return envelope.to_string().into_bytes();
    }
    match (&published.body, &published.body_base64) {
        (Some(text), _) => text.clone().into_bytes(),
        (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_default(),
        (None, None) => Vec::new(),
    }
}

fn destination_of(published: &Published) -> Destination {
    match published.kind.as_str() {
        "amqp" => Destination::Exchange {
            exchange: published.exchange.clone(),
            routing_key: published.routing_key.clone(),
        },
        _ => Destination::Queue {
            queue: published
                .queue
                .clone()
                .or_else(|| published.queues.first().cloned())
                .unwrap_or_else(|| published.routing_key.clone()),
            namespace: published.namespace.clone(),
        },
    }
}

/// What tells one shape from another: broker, destination, task, and the layout of the
/// wire format (content type and encoding, which headers and properties are set).
fn shape_key(published: &Published, task: &str) -> String {
    let mut properties: Vec<String> = published
        .properties
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "correlation_id" | "message_id" | "timestamp"))
        .map(|(name, value)| match name.as_str() {
            "headers" => format!(
                "headers:{:?}",
                value
                    .as_object()
                    .map(|h| h.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
            ),
            "content_type" | "content_encoding" | "delivery_mode" | "priority" => {
                format!("{name}={value}")
            }
            _ => name.clone(),
        })
        .collect();
    properties.sort();
    format!(
        "{}|{}|{:?}|{task}|{}",
        published.kind,
        published.broker,
        destination_of(published),
        properties.join(",")
    )
}

/// The processes of the worker's side: the worker, the launch that started it, and every
/// process forked from them (pool processes, work horses); what they publish is the
/// worker's own doing (retries, events, replies), replayed by the worker itself.
fn worker_side(session: &Session<'_>, worker: &Candidate) -> HashSet<u32> {
    let processes = session.processes();
    let mut side: HashSet<u32> = [worker.pid, worker.launch_pid].into();
    loop {
        let before = side.len();
        for process in &processes {
            if side.contains(&process.ppid) && process.event == "forked" {
                side.insert(process.pid);
            }
        }
        if side.len() == before {
            return side;
        }
    }
}

/// When the worker was ready to consume (Celery's worker_ready, else when it started).
fn worker_ready(session: &Session<'_>, worker: &Candidate) -> f64 {
    session
        .ready()
        .iter()
        .filter(|r| r.pid == worker.pid)
        .map(|r| r.t)
        .next()
        .unwrap_or(worker.t)
}

/// What the sender declared on the broker before publishing, that the shape's messages go
/// through: its queue (with the queues named after it, such as Dramatiq's `.DQ`, `.XQ`), its
/// exchange, their bindings.
fn declarations_of(
    session: &Session<'_>,
    pid: u32,
    broker: &str,
    destination: &Destination,
) -> Vec<Declaration> {
    let (queue, exchange) = match destination {
        Destination::Exchange {
            exchange,
            routing_key,
        } if exchange.is_empty() => (routing_key.clone(), String::new()),
        Destination::Exchange { exchange, .. } => (String::new(), exchange.clone()),
        Destination::Queue { .. } => return Vec::new(),
    };
    let touches = |name: &str| {
        !name.is_empty()
            && (name == queue
                || name == exchange
                || (!queue.is_empty() && name.starts_with(&format!("{queue}."))))
    };
    let mut found: Vec<Declaration> = Vec::new();
    for event in session.declared() {
        if event.pid != pid || event.broker != broker {
            continue;
        }
        let Ok(declaration) = serde_json::from_value::<Declaration>(event.declaration) else {
            continue;
        };
        let relevant = match &declaration {
            Declaration::Queue { name, .. } | Declaration::Exchange { name, .. } => touches(name),
            Declaration::Binding {
                queue: bound,
                exchange: to,
                ..
            } => touches(bound) || touches(to),
        };
        if relevant && !found.contains(&declaration) {
            found.push(declaration);
        }
    }
    found
}

/// The shapes the command's processes sent, in the order of their first message, with
/// what became of them.
pub fn sent(session: &Session<'_>, worker: &Candidate) -> Vec<Sent> {
    let worker_pids = worker_side(session, worker);
    let ready = worker_ready(session, worker);
    let waited = first_waits(session);
    // What the taken worker did (another worker of the command may have run too).
    let fates: HashMap<String, Fate> = session
        .fates()
        .into_iter()
        .filter(|f| worker_pids.contains(&f.worker))
        .filter_map(|f| Some((f.id.clone()?, f)))
        .collect();
    shapes(session, &worker_pids)
        .into_iter()
        .map(|shape| {
            let message = launch_message(session, &shape, ready, &waited);
            what_became(message, &shape.2, &fates)
        })
        .collect()
}

/// The first read of each result, by message id: the sender's own call (`get`), not
/// what it calls, says where the sender looked for it.
fn first_waits(session: &Session<'_>) -> HashMap<String, (Option<String>, String)> {
    let mut waited: HashMap<String, (Option<String>, String)> = HashMap::new();
    for wait in session.waited() {
        if let Some(id) = wait.id {
            waited.entry(id).or_insert((wait.backend, wait.how));
        }
    }
    waited
}

/// The task messages the command's processes published, gathered by shape in the order
/// of each shape's first message; the worker's side is left out, as it replays its own.
fn shapes(session: &Session<'_>, worker_pids: &HashSet<u32>) -> Vec<Shape> {
    let mut shapes: IndexMap<String, Shape> = IndexMap::new();
    for published in session.published() {
        if worker_pids.contains(&published.pid) {
            continue;
        }
        let Some((id, task)) = task_of(&published) else {
            continue;
        };
        let key = shape_key(&published, &task);
        let entry = shapes
            .entry(key)
            .or_insert_with(|| (published.clone(), task, Vec::new()));
        entry.2.push((id, published.t));
    }
    shapes.into_values().collect()
}

/// A shape as the case file's entry replays it: its first message stands for all, with
/// their count, their times from the worker's start (`ready`), what the sender declared,
/// and where it read the results (`waited`).
fn launch_message(
    session: &Session<'_>,
    (example, task, messages): &Shape,
    ready: f64,
    waited: &HashMap<String, (Option<String>, String)>,
) -> LaunchMessage {
    let count = messages.len() as u32;
    let first = messages.iter().map(|(_, t)| *t).fold(f64::MAX, f64::min);
    let last = messages.iter().map(|(_, t)| *t).fold(f64::MIN, f64::max);
    let destination = destination_of(example);
    let wait = messages.iter().find_map(|(id, _)| match waited.get(id) {
        Some((Some(backend), how)) => Some(ResultWait {
            backend: backend.clone(),
            how: how.clone(),
        }),
        _ => None,
    });
    let mut properties: IndexMap<String, Value> = example.properties.clone().into_iter().collect();
    if example.at_front {
        properties.insert("_at_front".into(), true.into());
    }
    LaunchMessage {
        task: task.clone(),
        count,
        at: Some(round(first - ready)),
        until: Some(round(last - ready)),
        sent: Some(first),
        declare: declarations_of(session, example.pid, &example.broker, &destination),
        broker: example.broker.clone(),
        destination,
        properties,
        body: body_of(example),
        waited: wait,
    }
}

/// What the taken worker did with a shape's messages (by their ids): executed, discarded
/// (in the framework's words), or executed with the result where the sender does not
/// read it.
fn what_became(
    message: LaunchMessage,
    messages: &[(String, f64)],
    fates: &HashMap<String, Fate>,
) -> Sent {
    let mut executed = 0;
    let mut discarded = Vec::new();
    let mut misplaced = None;
    for (id, _) in messages {
        match fates.get(id) {
            Some(fate) if fate.state == "discarded" => {
                discarded.push(fate.words.clone().unwrap_or_else(|| "discarded".into()));
            }
            Some(fate) if fate.state == "executed" => {
                executed += 1;
                if let Some(wait) = &message.waited
                    && !readable(wait, &message.broker, fate.result.as_deref())
                {
                    misplaced = Some(format!(
                        "their results went to {}, the sender read {} ({})",
                        fate.result.as_deref().map_or(
                            "nowhere (the worker has no result backend)".into(),
                            crate::redact::redact_url
                        ),
                        location_words(&wait.backend, &message.broker),
                        wait.how
                    ));
                }
            }
            _ => {}
        }
    }
    Sent {
        message,
        executed,
        discarded,
        misplaced,
    }
}

/// A shape as it is gathered: its first message, its task, and each message's id and time.
type Shape = (Published, String, Vec<(String, f64)>);

fn round(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, file: &str, lines: &[serde_json::Value]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(dir.join(file), text).unwrap();
    }

    fn celery_publish(pid: u32, t: f64, id: &str, routing_key: &str) -> serde_json::Value {
        serde_json::json!({
            "pid": pid, "t": t, "kind": "amqp", "broker": "amqp://guest:guest@127.0.0.1:5672/proj-dev",
            "exchange": "", "routing_key": routing_key,
            "properties": {"content_type": "application/json", "correlation_id": id,
                           "headers": {"task": "shop.ship", "id": id, "eta": null}},
            "body": "[[1], {}, {}]",
        })
    }

    /// A capture in which the test process (pid 10) sent three messages of one shape and a
    /// control message, the worker (pid 20, forked 21) published an event of its own and ran
    /// two of them, storing no result while the test read them from Redis.
    fn session() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        write(
            path,
            "processes.jsonl",
            &[
                serde_json::json!({"event": "started", "pid": 10, "ppid": 1, "argv": ["pytest"]}),
                serde_json::json!({"event": "started", "pid": 20, "ppid": 10, "argv": ["celery"]}),
                serde_json::json!({"event": "forked", "pid": 21, "ppid": 20, "argv": ["celery"]}),
            ],
        );
        write(
            path,
            "published.jsonl",
            &[
                celery_publish(10, 100.5, "a", "celery"),
                celery_publish(10, 100.7, "b", "celery"),
                celery_publish(10, 100.9, "c", "celery"),
                // Celery's remote control: no task.
                serde_json::json!({"pid": 10, "t": 100.4, "kind": "amqp", "broker": "amqp://h/%2f",
                               "exchange": "celery.pidbox", "routing_key": "", "body": "{\"method\": \"ping\"}"}),
                // The worker's own (a retry): replayed by the worker itself, not by minrepro.
                celery_publish(21, 101.0, "d", "celery"),
            ],
        );
        write(
            path,
            "declared.jsonl",
            &[
                serde_json::json!({"pid": 10, "broker": "amqp://guest:guest@127.0.0.1:5672/proj-dev",
                               "declaration": {"declare": "queue", "name": "celery", "durable": true}}),
                serde_json::json!({"pid": 10, "broker": "amqp://guest:guest@127.0.0.1:5672/proj-dev",
                               "declaration": {"declare": "queue", "name": "unrelated", "durable": true}}),
            ],
        );
        write(
            path,
            "waited.jsonl",
            &[
                serde_json::json!({"id": "a", "backend": "redis://127.0.0.1:6379/1", "how": "AsyncResult.get"}),
                serde_json::json!({"id": "a", "backend": "redis://127.0.0.1:6379/1", "how": "AsyncResult.get_task_meta"}),
            ],
        );
        write(
            path,
            "fates.jsonl",
            &[
                serde_json::json!({"worker": 20, "id": "a", "state": "executed", "result": null}),
                serde_json::json!({"worker": 20, "id": "b", "state": "executed", "result": null}),
            ],
        );
        write(
            path,
            "ready.jsonl",
            &[serde_json::json!({"pid": 20, "t": 100.0})],
        );
        dir
    }

    fn worker() -> Candidate {
        serde_json::from_value(serde_json::json!({
            "event": "worker", "framework": "celery", "pid": 20, "launch_pid": 20, "t": 99.0,
            "executable": "/usr/bin/python3", "queues": ["celery"],
        }))
        .unwrap()
    }

    #[test]
    fn the_senders_task_messages_make_one_shape_with_their_fate() {
        let dir = session();
        let shapes = sent(&Session { dir: dir.path() }, &worker());
        assert_eq!(shapes.len(), 1, "{shapes:?}");
        let shape = &shapes[0];
        let message = &shape.message;
        assert_eq!(message.task, "shop.ship");
        assert_eq!(message.count, 3);
        // Relative to the worker's readiness (worker_ready), not its process start.
        assert_eq!((message.at, message.until), (Some(0.5), Some(0.9)));
        assert_eq!(
            message.destination,
            Destination::Exchange {
                exchange: String::new(),
                routing_key: "celery".into()
            }
        );
        assert_eq!(
            message.declare.len(),
            1,
            "only what the destination goes through"
        );
        let waited = message.waited.as_ref().unwrap();
        assert_eq!(
            waited.how, "AsyncResult.get",
            "the sender's own call, first"
        );
        assert_eq!(shape.executed, 2);
        assert!(!shape.succeeded());
        assert!(
            shape.fate().contains("their results went to nowhere"),
            "{}",
            shape.fate()
        );
    }
}
