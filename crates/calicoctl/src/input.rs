//! Reading `-f`: a file, a directory of `.yaml`/`.yml`/`.json` files (recursively with `-R`),
//! or `-` for standard input, into decoded resources.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use calico_manifest::{read_manifest, Entry};

/// Why input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("open {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("{0}")]
    Manifest(#[from] calico_manifest::ManifestError),
    #[error("no resources specified in file {0}")]
    EmptyFile(String),
    #[error("no resources specified in directory {0}")]
    EmptyDirectory(String),
}

impl InputError {
    /// The line calicoctl prints for this error: a bad file is `failed to execute command: ...`
    /// (an unknown field in Calico's own sentence), an empty one is said plainly.
    pub fn command_message(&self) -> String {
        match self {
            InputError::Manifest(err) => err.command_message(),
            InputError::EmptyFile(_) | InputError::EmptyDirectory(_) => self.to_string(),
            InputError::Open { .. } => format!("failed to execute command: {self}"),
        }
    }
}

/// Go's text for an OS error (`no such file or directory`), where Rust adds a capital letter
/// and `(os error 2)`.
pub fn go_io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            let text = err.to_string();
            let text = match text.rsplit_once(" (os error ") {
                Some((message, _)) => message.to_string(),
                None => text,
            };
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

fn open_error(path: &Path, err: &std::io::Error) -> InputError {
    let reason = go_io_reason(err);
    InputError::Open {
        path: path.display().to_string(),
        reason,
    }
}

/// Reads every resource named by `-f`. An empty result is an error unless `skip_empty`.
pub fn read_resources(
    filename: &str,
    recursive: bool,
    skip_empty: bool,
) -> Result<Vec<Entry>, InputError> {
    if filename == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| open_error(Path::new("-"), &e))?;
        let entries = read_manifest("-", &text)?;
        if entries.is_empty() && !skip_empty {
            return Err(InputError::EmptyFile("-".into()));
        }
        return Ok(entries);
    }
    let path = Path::new(filename);
    let metadata = fs::metadata(path).map_err(|e| open_error(path, &e))?;
    if metadata.is_dir() {
        let mut files = Vec::new();
        list_manifest_files(path, recursive, &mut files)?;
        let mut entries = Vec::new();
        for file in files {
            // Each file is checked as it is read, as calicoctl's walk does: the first empty
            // file stops the command.
            let read = read_file(&file)?;
            if read.is_empty() && !skip_empty {
                return Err(InputError::EmptyFile(file.display().to_string()));
            }
            entries.extend(read);
        }
        if entries.is_empty() && !skip_empty {
            return Err(InputError::EmptyDirectory(filename.to_string()));
        }
        Ok(entries)
    } else {
        let entries = read_file(path)?;
        if entries.is_empty() && !skip_empty {
            return Err(InputError::EmptyFile(filename.to_string()));
        }
        Ok(entries)
    }
}

fn read_file(path: &Path) -> Result<Vec<Entry>, InputError> {
    let text = fs::read_to_string(path).map_err(|e| open_error(path, &e))?;
    Ok(read_manifest(&path.display().to_string(), &text)?)
}

fn is_manifest_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
        .unwrap_or(false)
}

/// Lists manifest files in lexical order, descending into subdirectories only when recursive.
fn list_manifest_files(
    dir: &Path,
    recursive: bool,
    out: &mut Vec<PathBuf>,
) -> Result<(), InputError> {
    let mut children: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| open_error(dir, &e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    children.sort();
    for child in children {
        if child.is_dir() {
            if recursive {
                list_manifest_files(&child, recursive, out)?;
            }
        } else if is_manifest_file(&child) {
            out.push(child);
        }
    }
    Ok(())
}
