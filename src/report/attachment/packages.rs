//! What a repro needs installed: every distribution of the interpreter the trials ran on
//! (`requirements.txt`), and among them the ones the worker imported (what `reproduce.py`
//! checks before it runs). Asked of that interpreter itself, with `importlib.metadata`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// Distributions of no interest to a repro: the installer's own.
const TOOLING: &[&str] = &["pip", "setuptools", "wheel", "distribute"];

/// Asked with the worker's top-level modules as its argument; prints both maps as JSON.
const QUERY: &str = r#"
import importlib.metadata as m, json, sys
installed = {}
for dist in m.distributions():
    name = dist.metadata["Name"]
    if name:
        installed[name] = dist.version
owners = m.packages_distributions()
required = {}
for module in json.loads(sys.argv[1]):
    for name in owners.get(module, ()):
        if name in installed:
            required[name] = installed[name]
print(json.dumps({"installed": installed, "required": required}))
"#;

#[derive(Debug, Default, Deserialize)]
pub struct Packages {
    pub installed: BTreeMap<String, String>,
    pub required: BTreeMap<String, String>,
}

/// The packages of `python`, and those providing `modules` (empty when it cannot say).
pub async fn of(python: &Path, modules: &[String]) -> Packages {
    let mut command = tokio::process::Command::new(python);
    command
        .args(["-c", QUERY])
        .arg(serde_json::to_string(modules).unwrap_or_default())
        .kill_on_drop(true);
    let Ok(Ok(output)) = tokio::time::timeout(Duration::from_secs(60), command.output()).await
    else {
        return Packages::default();
    };
    let mut packages: Packages = serde_json::from_slice(&output.stdout).unwrap_or_default();
    for name in TOOLING {
        packages.installed.remove(*name);
        packages.required.remove(*name);
    }
    packages
}

impl Packages {
    /// `requirements.txt`: the worker's packages first, then the rest of the interpreter's.
    pub fn requirements_txt(&self, python: &Path) -> String {
        let mut text = format!(
            "# The packages of the interpreter the trials ran on ({}).\n# The worker imports these:\n",
            python.display()
        );
        for (name, version) in &self.required {
            text.push_str(&format!("{name}=={version}\n"));
        }
        let others: Vec<_> = self
            .installed
            .iter()
            .filter(|(name, _)| !self.required.contains_key(*name))
            .collect();
        if !others.is_empty() {
            text.push_str("# Also installed there:\n");
            for (name, version) in others {
                text.push_str(&format!("{name}=={version}\n"));
            }
        }
        text
    }
}
