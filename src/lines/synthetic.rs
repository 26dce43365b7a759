//! Statement-level reduction measured without workers (for `bench`): a generated module of
//! a few hundred statements (imports, settings, functions, branches, classes) with one
//! culprit statement, read by the real statement reader, reduced by the real reducer,
//! judged by rules on the reduced text: the failure shows when the culprit's line is there
//! with the lines that bind the names it reads; the culprit without them fails differently
//! (a NameError); anything else passes.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::case::space::{ConfigSpace, SpaceOracle};
use crate::error::Error;
use crate::reduce::{Oracle, OracleEvent, Started, Stop, TrialId, Variant, Verdict};

/// The module name the generated module is reduced under.
pub const MODULE: &str = "app.settings";

/// What the culprit needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Culprit {
    /// A statement that reads no name of the module.
    Alone,
    /// A statement that reads two names bound by import statements at the top.
    WithImports,
    /// The same, inside an `if` on an env var (which reads `os`).
    InBranch,
}

/// A generated module, and the lines of the statements that are needed.
pub struct GeneratedModule {
    pub text: String,
    pub culprit_line: usize,
    /// Lines of the statements the culprit reads names from.
    pub dependency_lines: Vec<usize>,
}

/// A module of at least `statements` statements (nested ones counted) with one culprit at
/// a random place among the top-level statements after the imports.
pub fn generate(statements: usize, culprit: Culprit, seed: u64) -> GeneratedModule {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5eed);
    let mut lines: Vec<String> = vec![
        "\"\"\"Application settings (generated for minrepro's benchmark).\"\"\"".into(),
        "import json".into(),
        "import logging".into(),
        "import os".into(),
        "import dramatiq".into(),
        "from dramatiq.brokers.stub import StubBroker".into(),
        String::new(),
        "logger = logging.getLogger(\"app.settings\")".into(),
    ];
    let dependency_lines = vec![5, 6];
    let mut blocks = filler_blocks(&mut rng, statements);
    let culprit_block = culprit_block(culprit);
    let at = rng.random_range(0..=blocks.len());
    blocks.insert(at, culprit_block.clone());
    let mut culprit_line = 0;
    let mut branch_line = None;
    for block in blocks {
        lines.push(String::new());
        if block == culprit_block {
            culprit_line = lines.len() + block.len();
            branch_line = (block.len() > 1).then_some(lines.len() + 1);
        }
        lines.extend(block);
    }
    GeneratedModule {
        text: lines.join("\n") + "\n",
        culprit_line,
        dependency_lines: match culprit {
            Culprit::Alone => Vec::new(),
            Culprit::WithImports => dependency_lines,
            // `import os` for the branch's test, and the branch itself.
            Culprit::InBranch => {
                [vec![4], dependency_lines, branch_line.into_iter().collect()].concat()
            }
        },
    }
}

/// The module's body after its imports: random blocks of the kinds a settings module
/// holds (a setting, a function, a branch, a class), numbered so that no two bind the same
/// name, until the count of statements, which starts at 6 for the module's head, reaches
/// `statements`.
fn filler_blocks(rng: &mut StdRng, statements: usize) -> Vec<Vec<String>> {
    let mut count = 6;
    let mut blocks: Vec<Vec<String>> = Vec::new();
    let mut index = 0;
    while count < statements {
        index += 1;
        let (block, size) = match rng.random_range(0..4) {
            0 => (
                vec![format!(
                    "SETTING_{index} = os.environ.get(\"SETTING_{index}\", \"{index}\")"
                )],
                1,
            ),
            1 => (
                vec![
                    format!("def helper_{index}(value):"),
                    format!("    total = value + {index}"),
                    "    if total > 10:".into(),
                    "        total -= 1".into(),
                    "    return json.dumps(total)".into(),
                ],
                5,
            ),
            2 => (
                vec![
                    format!("if os.environ.get(\"FLAG_{index}\"):"),
                    format!("    LIMIT_{index} = {index}"),
                    "else:".into(),
                    format!("    LIMIT_{index} = 0"),
                ],
                3,
            ),
            _ => (
                vec![
                    format!("class Model{index}:"),
                    format!("    name = \"model-{index}\""),
                    "    def size(self):".into(),
                    format!("        return {index}"),
                ],
                4,
            ),
        };
        blocks.push(block);
        count += size;
    }
    blocks
}

/// The culprit's lines: each kind of culprit reads the names its kind says it needs
/// (none, the imports, or those and `os` for its branch).
fn culprit_block(culprit: Culprit) -> Vec<String> {
    match culprit {
        Culprit::Alone => vec!["__import__(\"dramatiq\").set_broker(__import__(\"dramatiq.brokers.stub\", fromlist=[\"StubBroker\"]).StubBroker())".into()],
        Culprit::WithImports => vec!["dramatiq.set_broker(StubBroker())".into()],
        Culprit::InBranch => vec![
            "if os.environ.get(\"APP_TESTING\") is None:".into(),
            "    dramatiq.set_broker(StubBroker())".into(),
        ],
    }
}

/// Judges variants by the reduced text of [`MODULE`], one trial at a time.
pub struct SourceOracle {
    original: Vec<String>,
    culprit_line: usize,
    dependency_lines: Vec<usize>,
    space: Option<Arc<dyn ConfigSpace>>,
    ready: VecDeque<OracleEvent>,
}

impl SourceOracle {
    pub fn new(module: &GeneratedModule) -> SourceOracle {
        SourceOracle {
            original: module.text.lines().map(str::to_string).collect(),
            culprit_line: module.culprit_line,
            dependency_lines: module.dependency_lines.clone(),
            space: None,
            ready: VecDeque::new(),
        }
    }

    /// The lines of the original still there, unchanged, in a reduced text.
    pub fn present(&self, text: &str) -> BTreeSet<usize> {
        text.lines()
            .enumerate()
            .filter(|(i, line)| self.original.get(*i) == Some(&line.to_string()))
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, _)| i + 1)
            .collect()
    }

    fn verdict(&self, text: &str) -> Verdict {
        let present = self.present(text);
        if !present.contains(&self.culprit_line) {
            Verdict::Pass
        } else if self.dependency_lines.iter().all(|l| present.contains(l)) {
            Verdict::Fail
        } else {
            Verdict::Unresolved
        }
    }
}

impl Oracle for SourceOracle {
    fn capacity(&self) -> usize {
        1
    }

    fn start(&mut self, trial: TrialId, variant: &Variant) -> Result<Started, Stop> {
        let space = self
            .space
            .as_ref()
            .ok_or_else(|| Stop::Error(Error::infra("no space to judge in")))?;
        let config = space.config(variant);
        let text = config.sources.get(MODULE).map_or("", String::as_str);
        let verdict = self.verdict(text);
        self.ready.push_back(OracleEvent::Finished(trial, verdict));
        Ok(Started::Running)
    }

    fn next_event(&mut self) -> Result<OracleEvent, Stop> {
        self.ready
            .pop_front()
            .ok_or_else(|| Stop::Error(Error::infra("no synthetic trial is running")))
    }

    fn cancel(&mut self, trial: TrialId) {
        self.ready
            .retain(|e| !matches!(e, OracleEvent::Finished(t, _) if *t == trial));
    }
}

impl SpaceOracle for SourceOracle {
    fn set_space(&mut self, space: Arc<dyn ConfigSpace>) {
        self.space = Some(space);
    }
}
