//! Statement-level reduction of a certified cause: for each module of the case's own code
//! that the cause imports (an `import:` element, or a value that names a module), the
//! statements that still show the failure, found with the same reducer and real trials.
//! Modules that a kept statement imports from the same code, and the packages above a
//! reduced module, are reduced after it, while the trial budget lasts.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::events::Note;
use super::oracle::TrialOracle;
use crate::case::{Config, ElementKey};
use crate::lines::reduce::reduce_module;
use crate::lines::{LineRange, Module, Read, read_modules};
use crate::reduce::Stop;
use crate::reduce::engine::Engine;

/// The statements of one module that a cause needs.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleLines {
    pub module: String,
    /// The module's file (relative to the case folder when it is inside).
    pub file: String,
    /// The kept lines, in runs, with their text.
    pub lines: Vec<LineRange>,
    /// Statements kept, of how many.
    pub kept: usize,
    pub statements: usize,
    pub one_minimal: bool,
    pub trials: u32,
    /// The kept statements alone, as they read in the file (for minimal_worker.py).
    #[serde(skip)]
    pub kept_text: String,
    /// Whether the kept statements can run pasted into another file: they import no other
    /// module of the case's code and read no `__file__`, `__name__` and the like.
    #[serde(skip)]
    pub inlinable: bool,
}

/// What statement-level reduction found for one cause.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinesFinding {
    pub modules: Vec<ModuleLines>,
    /// Where it stopped before the end, and why (the budget, an unreadable module).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

pub struct LinesRequest<'a> {
    pub python: &'a Path,
    pub case_dir: &'a Path,
    /// The cause's configuration and its element names.
    pub config: Config,
    pub elements: &'a [String],
    /// Where the failing worker loaded each imported module from.
    pub origins: &'a BTreeMap<String, String>,
    /// Trials this cause's statement reduction may run.
    pub budget: u32,
    pub certificate_runs: u32,
}

/// Reduces the cause's modules; returns the configuration with their reduced sources.
/// At most `budget` trials are launched: where it runs out, the module being reduced keeps
/// the smallest failing set of statements seen, and the finding says where it stopped.
pub fn reduce_lines(
    engine: &mut Engine<'_, TrialOracle>,
    request: LinesRequest<'_>,
) -> Result<(Config, LinesFinding), Stop> {
    let limit = engine.oracle().launched() + request.budget;
    engine.oracle().trial_limit = Some(limit);
    let result = reduce_modules(engine, &request);
    engine.oracle().trial_limit = None;
    result
}

fn reduce_modules(
    engine: &mut Engine<'_, TrialOracle>,
    request: &LinesRequest<'_>,
) -> Result<(Config, LinesFinding), Stop> {
    let mut config = request.config.clone();
    let mut finding = LinesFinding::default();
    let named = named_modules(&config, request.elements);
    let roots = search_roots(&config, request.origins, &named);
    let mut queue: VecDeque<String> = named.into();
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    let mut budget_spent = false;
    while let Some(name) = queue.pop_front() {
        if budget_spent {
            finding.notes.push(format!(
                "`{name}` was not reduced: the budget of {} trials (--lines-budget) was spent",
                request.budget
            ));
            continue;
        }
        let Some((file, module)) = own_module(request, &roots, &name, &mut finding.notes) else {
            continue;
        };
        let label = label(&file, request.case_dir);
        engine.oracle().note(Note::Lines {
            statements: module.statements.len(),
            module: format!("{label} ({name})"),
        });
        let before = engine.oracle().launched();
        let module = Arc::new(module);
        let reduced = reduce_module(engine, &config, &module, &label, request.certificate_runs)?;
        if reduced.budget_spent {
            budget_spent = true;
            finding.notes.push(format!(
                "{label}: the budget of {} trials (--lines-budget) was spent: its statements are the smallest failing set seen, not shown 1-minimal",
                request.budget
            ));
        }
        let removed = reduced.removed;
        let kept = module.kept(&removed);
        config.sources.insert(name.clone(), module.render(&removed));
        for inner in next_modules(&module, &kept, &name) {
            if seen.insert(inner.clone()) && locate(&inner, &roots).is_some() {
                queue.push_back(inner);
            }
        }
        let inlinable = inlinable(&module, &kept, &roots);
        finding.modules.push(ModuleLines {
            kept_text: module.kept_text(&removed),
            inlinable,
            module: name.clone(),
            file: label,
            lines: module.kept_lines(&removed),
            kept: kept.len(),
            statements: module.statements.len(),
            one_minimal: reduced.one_minimal,
            trials: engine.oracle().launched() - before,
        });
    }
    // A module that needs none of its statements says nothing: its import alone matters.
    finding.modules.retain(|m| m.kept > 0);
    Ok((config, finding))
}

/// The module `name` as read from its file, where it is the case's own code and has
/// statements to remove; `None` where it is not reduced, with why in `notes` when that is
/// worth telling (a module that cannot be read).
fn own_module(
    request: &LinesRequest<'_>,
    roots: &[PathBuf],
    name: &str,
    notes: &mut Vec<String>,
) -> Option<(PathBuf, Module)> {
    let file = request
        .origins
        .get(name)
        .map(PathBuf::from)
        .or_else(|| locate(name, roots))?;
    let module = match read_modules(request.python, &[(name.to_string(), file.clone())]) {
        Ok(mut read) => match read.pop() {
            Some(Read::Own(module)) => module,
            Some(Read::Unreadable(why)) => {
                notes.push(format!(
                    "`{name}` ({}) was not reduced: {why}",
                    file.display()
                ));
                return None;
            }
            _ => return None,
        },
        Err(err) => {
            notes.push(format!("`{name}` was not reduced: {err}"));
            return None;
        }
    };
    if module.statements.iter().all(|s| s.fixed) {
        return None;
    }
    Some((file, module))
}

/// The modules to reduce after `name`: what its kept statements import (those of the
/// same code are kept by the caller), and the packages above it, whose `__init__` runs
/// first.
fn next_modules(module: &Module, kept: &[usize], name: &str) -> Vec<String> {
    let mut next: Vec<String> = kept
        .iter()
        .flat_map(|id| module.statements[*id].imports.clone())
        .collect();
    next.extend(parents(name));
    next
}

/// Whether the kept statements can run pasted into another file (minimal_worker.py):
/// they import no other module of the case's code and read no module dunder.
fn inlinable(module: &Module, kept: &[usize], roots: &[PathBuf]) -> bool {
    kept.iter().all(|id| {
        let statement = &module.statements[*id];
        !statement
            .uses
            .iter()
            .any(|name| MODULE_DUNDERS.contains(&name.as_str()))
            && !statement
                .imports
                .iter()
                .any(|inner| locate(inner, roots).is_some())
    })
}

/// Names that differ between a module and the file its statements are pasted into.
const MODULE_DUNDERS: [&str; 6] = [
    "__file__",
    "__name__",
    "__package__",
    "__path__",
    "__spec__",
    "__loader__",
];

/// The modules a cause names: its imports, and values of its other elements that read as
/// a dotted module name (a settings module given in an env var or an option).
fn named_modules(config: &Config, elements: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for element in elements {
        match ElementKey::parse(element) {
            Some(ElementKey::Import(module)) => {
                names.push(crate::case::imported_module(&module).to_string());
            }
            Some(ElementKey::Env(key)) => {
                names.extend(config.env.get(&key).filter(|v| is_module_name(v)).cloned());
            }
            Some(ElementKey::Option(name)) if name == "django_settings" => {
                names.extend(config.options.django_settings.clone());
            }
            _ => {}
        }
    }
    names
}

fn is_module_name(value: &str) -> bool {
    value.contains('.')
        && value.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// Where modules of the case's code are found: the folders above each named module the
/// worker loaded (its package's sys.path entry), PYTHONPATH's entries and the working
/// directory; never a folder of installed packages.
fn search_roots(
    config: &Config,
    origins: &BTreeMap<String, String>,
    named: &[String],
) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    let mut add = |root: PathBuf| {
        let installed = root.components().any(|c| {
            matches!(
                c.as_os_str().to_str(),
                Some("site-packages" | "dist-packages")
            )
        });
        if !installed && !roots.contains(&root) {
            roots.push(root);
        }
    };
    for (module, origin) in origins.iter().filter(|(m, _)| named.contains(m)) {
        let mut root = PathBuf::from(origin);
        let depth = module.matches('.').count() + 1 + usize::from(origin.ends_with("__init__.py"));
        for _ in 0..depth {
            root.pop();
        }
        add(root);
    }
    for entry in config
        .env
        .get("PYTHONPATH")
        .into_iter()
        .flat_map(|v| v.split(':'))
    {
        if !entry.is_empty() {
            add(PathBuf::from(entry));
        }
    }
    if let Some(cwd) = &config.options.cwd {
        add(cwd.clone());
    }
    roots
}

/// The source file of `module` under one of `roots`, if there is one.
fn locate(module: &str, roots: &[PathBuf]) -> Option<PathBuf> {
    let relative: PathBuf = module.split('.').collect();
    roots.iter().find_map(|root| {
        let as_file = root.join(&relative).with_extension("py");
        let as_package = root.join(&relative).join("__init__.py");
        [as_file, as_package].into_iter().find(|p| p.is_file())
    })
}

/// `a.b.c` → `a.b`, `a`: packages whose `__init__` runs before the module.
fn parents(module: &str) -> Vec<String> {
    let parts: Vec<&str> = module.split('.').collect();
    (1..parts.len())
        .rev()
        .map(|end| parts[..end].join("."))
        .collect()
}

/// The file as a user reads it: relative to the case folder when inside it.
fn label(file: &Path, case_dir: &Path) -> String {
    file.strip_prefix(case_dir)
        .unwrap_or(file)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_named_by_a_cause() {
        let mut config = Config::from_elements("dramatiq", []);
        config
            .env
            .insert("DJANGO_SETTINGS_MODULE".into(), "site.settings_test".into());
        config.env.insert("LEVEL".into(), "1.5".into());
        let names = named_modules(
            &config,
            &[
                "import:app.broker:redis".into(),
                "env:DJANGO_SETTINGS_MODULE".into(),
                "env:LEVEL".into(),
            ],
        );
        assert_eq!(names, ["app.broker", "site.settings_test"]);
        assert_eq!(parents("a.b.c"), ["a.b", "a"]);
    }

    #[test]
    fn modules_are_found_under_the_roots_of_those_loaded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("app/sub")).unwrap();
        std::fs::write(dir.path().join("app/__init__.py"), "").unwrap();
        std::fs::write(dir.path().join("app/settings.py"), "").unwrap();
        std::fs::write(dir.path().join("app/sub/__init__.py"), "").unwrap();
        let origins = BTreeMap::from([(
            "app.settings".to_string(),
            dir.path().join("app/settings.py").display().to_string(),
        )]);
        let config = Config::from_elements("dramatiq", []);
        let roots = search_roots(&config, &origins, &["app.settings".to_string()]);
        assert_eq!(roots, [dir.path().to_path_buf()]);
        assert_eq!(
            locate("app.sub", &roots),
            Some(dir.path().join("app/sub/__init__.py"))
        );
        assert_eq!(locate("app.missing", &roots), None);
    }
}
