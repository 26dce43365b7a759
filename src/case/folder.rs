//! What of a case folder is the application's own: what an attachment carries and what an
//! agent is sent. Never hidden folders, caches, virtual environments, case files, or
//! earlier findings (attachments, their tarballs), or they would grow with each run.

use std::path::Path;

/// Whether `path`, under `case_dir`, is not part of the application. The case folder
/// itself always is, whatever its name.
pub fn foreign(path: &Path, is_dir: bool, case_dir: &Path) -> bool {
    if path == case_dir {
        return false;
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.starts_with('.')
        || name == "__pycache__"
        || (is_dir && foreign_folder(path))
        || (!is_dir && foreign_file(path, case_dir))
}

/// A folder that is not part of an application: a virtual environment, or an attachment
/// minrepro wrote earlier.
fn foreign_folder(dir: &Path) -> bool {
    dir.join("pyvenv.cfg").is_file()
        || (dir.join("reproduce.py").is_file() && dir.join("report.json").is_file())
        || dir.extension().is_some_and(|e| e == "partial")
}

/// A file that is not part of an application: a case file at the top, or an attachment's
/// tarball.
fn foreign_file(path: &Path, case_dir: &Path) -> bool {
    let name = path.to_string_lossy();
    (path.parent() == Some(case_dir) && path.extension().is_some_and(|e| e == "toml"))
        || name.ends_with(".tar.gz")
}
