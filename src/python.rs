//! The interpreter the workers run on: the one the user names (`--python`,
//! `MINREPRO_PYTHON`), the one the case names (its real launch's), or a virtual environment
//! minrepro provisions once per template from the template's pinned requirements and then
//! reuses.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::fcntl::{Flock, FlockArg};
use sha2::{Digest, Sha256};

use crate::cache_dir::cache_root;
use crate::case::Case;
use crate::error::Error;
use crate::template;

/// Marks a virtual environment whose packages were installed completely.
const READY_MARKER: &str = "minrepro-ready";

/// Finds the interpreter of a case: `explicit` if given (a path or a name on PATH), else the
/// one the case names (its launch's own, as `capture` recorded it), else the managed
/// environment of its template, created on first use.
pub fn interpreter(explicit: Option<&Path>, case: &Case) -> Result<PathBuf, Error> {
    if let Some(python) = explicit {
        return which::which(python).map_err(|_| {
            Error::infra(format!(
                "the interpreter `{}` (from --python or MINREPRO_PYTHON) was not found or is not executable\n  = help: give the path of a Python that has dramatiq and pika installed, or leave it out to use the case's own (or one minrepro provisions)",
                python.display()
            ))
        });
    }
    if let Some(python) = &case.python {
        // Kept as written: a virtual environment's bin/python is a symlink whose target
        // does not know the environment's packages.
        if python.is_file() {
            return Ok(python.clone());
        }
        return Err(Error::input(format!(
            "the case's interpreter {} does not exist (`python` in {})\n  = help: recreate the environment the launch ran in (for tox: `tox -e ENV --notest`), correct `python` in the case file, or give another interpreter with --python",
            python.display(),
            case.path.display()
        )));
    }
    managed_environment(&case.template)
}

/// An interpreter trials run on, and what it is (for keying recorded outcomes).
#[derive(Debug, Clone)]
pub struct Interpreter {
    /// As given or recorded (a virtual environment's `bin/python`, not resolved).
    pub path: PathBuf,
    /// See [`identity`].
    pub identity: String,
}

impl Interpreter {
    /// The interpreter at `path`, asked what it is (off the async runtime's threads).
    pub async fn describe(path: PathBuf) -> Result<Interpreter, Error> {
        let asked = path.clone();
        let identity = tokio::task::spawn_blocking(move || identity(&asked))
            .await
            .map_err(|err| Error::infra(format!("cannot look at the interpreter: {err}")))?;
        Ok(Interpreter { path, identity })
    }
}

/// What an interpreter is, for keying recorded outcomes: its path as given, its version,
/// and every distribution installed for it (name and version). A package upgraded or added
/// makes earlier outcomes stale.
pub fn identity(python: &Path) -> String {
    const QUERY: &str = "import importlib.metadata as m, sys; print(sys.version); print(*sorted(f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions()), sep='\\n')";
    let described = Command::new(python)
        .args(["-I", "-c", QUERY])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    format!(
        "{} {:x}",
        python.display(),
        Sha256::digest(described.as_bytes())
    )
}

/// The environment minrepro provisions for a template.
pub fn managed_environment(template: &str) -> Result<PathBuf, Error> {
    provisioned(template, template::requirements(template)?)
}

/// Whether `python` is one of the environments minrepro provisions.
pub fn is_provisioned(python: &Path) -> bool {
    python.starts_with(cache_root().join("python"))
}

/// The environment of `requirements` (pip's format), provisioned once per content and then
/// reused; `label` names it (a template, or `case` for a case's recorded packages).
pub fn provisioned(label: &str, requirements: &str) -> Result<PathBuf, Error> {
    let digest = format!("{:x}", Sha256::digest(requirements.as_bytes()));
    let root = cache_root().join("python");
    let venv = root.join(format!("{label}-{}", &digest[..12]));
    let python = venv.join("bin").join("python");
    if venv.join(READY_MARKER).is_file() {
        return Ok(python);
    }
    std::fs::create_dir_all(&root).map_err(|err| {
        Error::infra(format!(
            "cannot create {}: {err}\n  = help: set MINREPRO_CACHE_DIR to a writable folder",
            root.display()
        ))
    })?;
    // Several minrepro processes (parallel tests, CI jobs) may arrive here at once: the
    // first builds the environment, the others wait for it on the lock.
    let lock_path = root.join(format!("{label}-{}.lock", &digest[..12]));
    let lock_file = File::create(&lock_path)
        .map_err(|err| Error::infra(format!("cannot create {}: {err}", lock_path.display())))?;
    let _lock = Flock::lock(lock_file, FlockArg::LockExclusive)
        .map_err(|(_, err)| Error::infra(format!("cannot lock {}: {err}", lock_path.display())))?;
    if venv.join(READY_MARKER).is_file() {
        return Ok(python);
    }

    let pins: Vec<&str> = requirements
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    eprintln!(
        "minrepro: first use of `{label}`: creating a Python environment with {} in {} (once; later runs reuse it)",
        pins.join(", "),
        venv.display()
    );
    if venv.exists() {
        // Left half-built by an interrupted run.
        std::fs::remove_dir_all(&venv)
            .map_err(|err| Error::infra(format!("cannot remove {}: {err}", venv.display())))?;
    }
    let base = base_python()?;
    run_setup_step(
        Command::new(&base).arg("-m").arg("venv").arg(&venv),
        "create a virtual environment",
        "install Python 3 with its venv module (Debian: apt install python3-venv), or set MINREPRO_BASE_PYTHON",
    )?;
    let requirements_path = venv.join("requirements.txt");
    std::fs::write(&requirements_path, requirements).map_err(|err| {
        Error::infra(format!(
            "cannot write {}: {err}",
            requirements_path.display()
        ))
    })?;
    run_setup_step(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-q",
                "-r",
            ])
            .arg(&requirements_path),
        "install the worker's packages",
        "check that PyPI (or your PIP_INDEX_URL) is reachable, or give an interpreter that has them with --python",
    )?;
    std::fs::write(venv.join(READY_MARKER), pins.join("\n"))
        .map_err(|err| Error::infra(format!("cannot write in {}: {err}", venv.display())))?;
    eprintln!("minrepro: Python environment ready");
    Ok(python)
}

/// The packages of `python` as pip requirements, pinned: what an agent provisions to run a
/// case whose interpreter is not one minrepro provisions. Distributions installed from a
/// local folder (the project itself, editable installs: PEP 610's `dir_info`) are not on an
/// index: they are left out, named in a comment (the case's files carry the project).
pub fn pinned_requirements(python: &Path) -> Result<String, Error> {
    const QUERY: &str = r##"
import importlib.metadata as m, json
pins, local = [], []
for dist in m.distributions():
    name = dist.metadata["Name"]
    if not name or name.lower() in ("pip", "setuptools", "wheel"):
        continue
    direct = dist.read_text("direct_url.json")
    if direct and "dir_info" in json.loads(direct):
        local.append(name)
    else:
        pins.append(f"{name}=={dist.version}")
for name in sorted(set(local)):
    print(f"# from a local folder, not provisioned: {name}")
print(*sorted(set(pins), key=str.lower), sep="\n")
"##;
    let output = Command::new(python)
        .args(["-I", "-c", QUERY])
        .output()
        .map_err(|err| Error::infra(format!("cannot run {}: {err}", python.display())))?;
    if !output.status.success() {
        return Err(Error::infra(format!(
            "cannot list the packages of {}: {}",
            python.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn base_python() -> Result<PathBuf, Error> {
    let name = std::env::var_os("MINREPRO_BASE_PYTHON").unwrap_or_else(|| "python3".into());
    which::which(&name).map_err(|_| {
        Error::infra(format!(
            "no `{}` on PATH to create the workers' Python environment\n  = help: install Python 3, set MINREPRO_BASE_PYTHON, or give an interpreter with --python",
            Path::new(&name).display()
        ))
    })
}

fn run_setup_step(command: &mut Command, what: &str, help: &str) -> Result<(), Error> {
    let output = command
        .output()
        .map_err(|err| Error::infra(format!("cannot {what}: {err}\n  = help: {help}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
    Err(Error::infra(format!(
        "cannot {what} ({}):\n{}\n  = help: {help}",
        output.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    )))
}
