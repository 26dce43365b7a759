//! Which of the case's own files an attachment carries: the paths under `${CASE_DIR}` that
//! the minimal configuration's values name (a `PYTHONPATH` entry, a working directory, a
//! config file given to a flag), so that those values still resolve inside the attachment.
//! A value that names the case folder itself brings the folder, but never what is not the
//! application's (`case::folder`).

use std::path::{Path, PathBuf};

use crate::case::{Config, folder};
use crate::error::Error;

/// What was copied.
#[derive(Debug, Default)]
pub struct Copied {
    pub files: usize,
    pub bytes: u64,
}

/// Every path under `case_dir` that a value of `config` names (the folder itself
/// included), in the order found.
fn named_paths(config: &Config, case_dir: &Path) -> Vec<PathBuf> {
    let dir = case_dir.display().to_string();
    let mut values: Vec<String> = config.env.values().cloned().collect();
    let options = &config.options;
    values.extend(options.cwd.iter().map(|c| c.display().to_string()));
    values.extend(options.python_flags.iter().cloned());
    values.extend(options.path.iter().flatten().cloned());
    values.extend(options.cli_flags.values().flat_map(|v| v.words()));
    let mut found: Vec<PathBuf> = Vec::new();
    for value in &values {
        for (start, _) in value.match_indices(&dir) {
            let rest = &value[start + dir.len()..];
            // The path goes on until a separator of lists, assignments or quotes.
            let end = rest
                .find(|c: char| ":;,= \t\n'\"".contains(c))
                .unwrap_or(rest.len());
            let path = PathBuf::from(format!("{dir}{}", &rest[..end]));
            if path.starts_with(case_dir) && path.exists() && !found.contains(&path) {
                found.push(path);
            }
        }
    }
    found
}

/// Copies what `config` needs of `case_dir` into `to`; nothing of `out` (where findings go).
pub fn copy_needed(
    config: &Config,
    case_dir: &Path,
    to: &Path,
    out: &Path,
) -> Result<Copied, Error> {
    let mut copied = Copied::default();
    let named = named_paths(config, case_dir);
    // The folder itself named: all of it (minus what is not the application's), once.
    let roots: Vec<PathBuf> = if named.iter().any(|p| p == case_dir) {
        vec![case_dir.to_path_buf()]
    } else {
        named
    };
    for root in roots {
        let walker = walkdir::WalkDir::new(&root).into_iter().filter_entry(|e| {
            e.path() == case_dir
                || !(e.path().starts_with(out)
                    || folder::foreign(e.path(), e.file_type().is_dir(), case_dir))
        });
        for entry in walker {
            let entry =
                entry.map_err(|err| Error::infra(format!("cannot read the case folder: {err}")))?;
            let relative = entry.path().strip_prefix(case_dir).unwrap_or(entry.path());
            if relative.as_os_str().is_empty() {
                continue;
            }
            let target = to.join(relative);
            // Folders come with their files: an empty one is not worth carrying.
            let result = if entry.file_type().is_file() {
                copied.files += 1;
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|err| {
                        Error::infra(format!("cannot create {}: {err}", parent.display()))
                    })?;
                }
                std::fs::copy(entry.path(), &target).map(|bytes| copied.bytes += bytes)
            } else {
                Ok(())
            };
            result.map_err(|err| {
                Error::infra(format!("cannot copy {}: {err}", entry.path().display()))
            })?;
        }
    }
    Ok(copied)
}

/// The size of a folder's files, in bytes, and how many there are.
pub fn size_of(dir: &Path) -> (usize, u64) {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .fold((0, 0), |(files, bytes), e| {
            (
                files + 1,
                bytes + e.metadata().map(|m| m.len()).unwrap_or(0),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::LaunchOptions;
    use indexmap::IndexMap;

    fn config(env: &[(&str, String)], cwd: Option<PathBuf>) -> Config {
        Config {
            template: "dramatiq".into(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<IndexMap<_, _>>(),
            imports: Vec::new(),
            options: LaunchOptions {
                cwd,
                ..LaunchOptions::default()
            },
            sources: IndexMap::new(),
        }
    }

    #[test]
    fn only_what_values_name_and_never_earlier_findings() {
        let case = tempfile::tempdir().unwrap();
        let dir = case.path();
        for file in [
            "pkg/app/__init__.py",
            "pkg/app/settings.py",
            "other/big.bin",
        ] {
            std::fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
            std::fs::write(dir.join(file), "x").unwrap();
        }
        // An earlier finding, a virtual environment, a case file, a tarball.
        for file in [
            "findings/x/reproduce.py",
            "findings/x/report.json",
            "venv/pyvenv.cfg",
            "case.toml",
            "findings/x.tar.gz",
            "app.ini",
        ] {
            std::fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
            std::fs::write(dir.join(file), "x").unwrap();
        }
        let out = tempfile::tempdir().unwrap();
        let path_entry = format!("{}/pkg:/usr/lib/python3", dir.display());
        let copied = copy_needed(
            &config(&[("PYTHONPATH", path_entry)], None),
            dir,
            out.path(),
            &dir.join("findings"),
        )
        .unwrap();
        assert_eq!(copied.files, 2);
        assert!(out.path().join("pkg/app/settings.py").is_file());
        assert!(!out.path().join("other").exists());

        // The case folder as the working directory: the folder, but not what is foreign.
        let whole = tempfile::tempdir().unwrap();
        copy_needed(
            &config(&[], Some(dir.to_path_buf())),
            dir,
            whole.path(),
            Path::new("/nowhere"),
        )
        .unwrap();
        assert!(whole.path().join("app.ini").is_file());
        assert!(whole.path().join("other/big.bin").is_file());
        for absent in ["findings", "venv", "case.toml"] {
            assert!(!whole.path().join(absent).exists(), "{absent}");
        }
    }
}
