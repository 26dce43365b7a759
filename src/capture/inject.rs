//! Getting the hook into the worker without touching its environment: a `.pth` file in
//! the site-packages of every interpreter the command may use runs the hook at each
//! start-up of that interpreter. The files are removed when the capture ends, whatever way
//! it ends; one left behind by a crash does nothing once its session folder is gone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::Error;

/// The hook's source, written into the session folder: how a broker client's server is named
/// (shared with the trials' workers), the workers (hook.py), then the messages
/// (hook_messages.py), which hook.py calls for.
pub const HOOK: &str = concat!(
    include_str!("../../templates/broker_addresses.py"),
    "\n\n",
    include_str!("hook.py"),
    "\n\n",
    include_str!("hook_messages.py")
);

/// Interpreters the command may start: the ones named, the `python3` and `python` on
/// PATH, the command itself when it is one, and virtual environments under the current
/// folder (`.tox/*`, `.venv`, `venv`).
pub fn candidate_interpreters(named: &[PathBuf], command: &[String]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for path in named {
        let python = if path.is_dir() {
            path.join("bin").join("python")
        } else {
            path.clone()
        };
        found.push(python);
    }
    for name in ["python3", "python"] {
        if let Ok(path) = which::which(name) {
            found.push(path);
        }
    }
    if let Some(program) = command.first()
        && Path::new(program)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("python"))
        && let Ok(path) = which::which(program)
    {
        found.push(path);
    }
    let here = std::env::current_dir().unwrap_or_default();
    let mut venvs = vec![here.join(".venv"), here.join("venv")];
    if let Ok(entries) = std::fs::read_dir(here.join(".tox")) {
        venvs.extend(entries.flatten().map(|e| e.path()));
    }
    found.extend(
        venvs
            .into_iter()
            .map(|v| v.join("bin").join("python"))
            .filter(|p| p.is_file()),
    );
    let mut seen = BTreeSet::new();
    found.retain(|p| seen.insert(p.clone()));
    found
}

/// Removes, from the site-packages of `interpreters`, the hooks of earlier captures that
/// were killed before they could: those whose session folder is gone. Returns them.
pub fn clean(interpreters: &[PathBuf]) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let mut seen = BTreeSet::new();
    for python in interpreters {
        if let Some(site) = site_packages(python)
            && seen.insert(site.clone())
        {
            removed.extend(remove_stale_hooks(&site));
        }
    }
    removed
}

/// Removes the hooks of earlier captures that were killed before they could: a hook whose
/// session folder is gone. (Such a hook does nothing, but the folder should not fill up.)
fn remove_stale_hooks(site: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(site) else {
        return removed;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with(HOOK_PREFIX) && name.ends_with(".pth")) {
            continue;
        }
        let session = std::fs::read_to_string(entry.path()).ok().and_then(|line| {
            let start = line.find("os.path.isdir(")? + "os.path.isdir(".len();
            let end = start + line[start..].find(')')?;
            serde_json::from_str::<String>(&line[start..end]).ok()
        });
        if session.is_some_and(|dir| !Path::new(&dir).is_dir())
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed.push(entry.path());
        }
    }
    removed
}

/// The site-packages folder of `python`, where `.pth` files are read.
fn site_packages(python: &Path) -> Option<PathBuf> {
    let output = Command::new(python)
        .args([
            "-I",
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    path.is_dir().then_some(path)
}

/// `.pth` files installed for one capture; removed when dropped.
pub struct Installed {
    files: Vec<PathBuf>,
    pub site_packages: Vec<PathBuf>,
}

impl Drop for Installed {
    fn drop(&mut self) {
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// The prefix of every hook file, so that one left behind can be recognised.
const HOOK_PREFIX: &str = "minrepro_capture_";

/// Installs the hook for `session` into the site-packages of `interpreters`, for the
/// processes descending from `root_pid`; `trigger` is the `--match` module, if any.
pub fn install(
    session: &Path,
    interpreters: &[PathBuf],
    root_pid: u32,
    trigger: Option<&str>,
) -> Result<Installed, Error> {
    let hook = session.join("hook.py");
    std::fs::write(&hook, HOOK)
        .map_err(|err| Error::infra(format!("cannot write {}: {err}", hook.display())))?;
    let quote = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let (session_text, hook_text) = (
        quote(&session.display().to_string()),
        quote(&hook.display().to_string()),
    );
    // One line: site.py executes .pth lines that start with "import".
    let line = format!(
        "import os; os.path.isdir({session_text}) and (lambda ns: (exec(compile(open({hook_text}).read(), {hook_text}, 'exec'), ns), ns['_minrepro_capture']({session_text}, {root_pid}, {})))({{}})\n",
        trigger.map_or("None".to_string(), quote)
    );
    let name = format!(
        "{HOOK_PREFIX}{}.pth",
        session
            .file_name()
            .map(|n| n
                .to_string_lossy()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_"))
            .unwrap_or_default()
    );
    let mut installed = Installed {
        files: Vec::new(),
        site_packages: Vec::new(),
    };
    let mut seen = BTreeSet::new();
    let mut refused = Vec::new();
    for python in interpreters {
        let Some(site) = site_packages(python) else {
            continue;
        };
        if !seen.insert(site.clone()) {
            continue;
        }
        remove_stale_hooks(&site);
        let file = site.join(&name);
        match std::fs::write(&file, &line) {
            Ok(()) => {
                installed.files.push(file);
                installed.site_packages.push(site);
            }
            Err(err) => refused.push(format!("{}: {err}", site.display())),
        }
    }
    if installed.files.is_empty() {
        return Err(Error::infra(format!(
            "cannot install the capture hook into any interpreter's site-packages{}\n  = help: name the interpreter (or virtual environment) the worker runs with, writable, with --python-env",
            if refused.is_empty() {
                String::new()
            } else {
                format!(" ({})", refused.join("; "))
            }
        )));
    }
    Ok(installed)
}
