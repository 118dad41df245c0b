//! Reading `-f`: a file, a directory of `.yaml`/`.yml`/`.json` files (recursively with `-R`),
//! or `-` for standard input, into decoded resources.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use calico_manifest::{read_manifest_stream, Entry, StreamError};

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
///
/// Input is streamed a document at a time; a document over
/// [`MAX_DOCUMENT_BYTES`](calico_manifest::MAX_DOCUMENT_BYTES) or a command over
/// [`MAX_RESOURCES`](calico_manifest::MAX_RESOURCES) resources is an error.
pub fn read_resources(
    filename: &str,
    recursive: bool,
    skip_empty: bool,
) -> Result<Vec<Entry>, InputError> {
    let mut entries = Vec::new();
    if filename == "-" {
        read_stream("-", std::io::stdin().lock(), &mut entries)?;
        if entries.is_empty() && !skip_empty {
            return Err(InputError::EmptyFile("-".into()));
        }
        return Ok(entries);
    }
    let path = Path::new(filename);
    let metadata = fs::metadata(path).map_err(|e| open_error(path, &e))?;
    if metadata.is_dir() {
        let mut files = Vec::new();
        walk(path, recursive, &mut files)?;
        for file in files {
            // Each file is checked as it is read, as calicoctl's walk does: the first empty
            // file stops the command.
            let before = entries.len();
            read_file(&file, &mut entries)?;
            if entries.len() == before && !skip_empty {
                return Err(InputError::EmptyFile(file.display().to_string()));
            }
        }
        if entries.is_empty() && !skip_empty {
            return Err(InputError::EmptyDirectory(filename.to_string()));
        }
        Ok(entries)
    } else {
        read_file(path, &mut entries)?;
        if entries.is_empty() && !skip_empty {
            return Err(InputError::EmptyFile(filename.to_string()));
        }
        Ok(entries)
    }
}

fn read_stream(
    name: &str,
    reader: impl std::io::BufRead,
    entries: &mut Vec<Entry>,
) -> Result<(), InputError> {
    read_manifest_stream(name, reader, entries).map_err(|err| match err {
        StreamError::Io(e) => open_error(Path::new(name), &e),
        StreamError::Manifest(e) => InputError::Manifest(e),
    })
}

fn read_file(path: &Path, entries: &mut Vec<Entry>) -> Result<(), InputError> {
    tracing::debug!(file = %path.display(), "reading manifest");
    let file = fs::File::open(path).map_err(|e| open_error(path, &e))?;
    read_stream(
        &path.display().to_string(),
        std::io::BufReader::with_capacity(64 * 1024, file),
        entries,
    )
}

fn is_manifest_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
        .unwrap_or(false)
}

/// Lists the manifest files under `root` as Go's `filepath.Walk` visits them in calicoctl: in
/// lexical order, into subdirectories only when recursive, and never through a symbolic link
/// to a directory (a link to a file is read; a `root` that is itself a link to a directory
/// yields nothing unless written with a trailing `/`). So no symlink cycle is followed, and a
/// directory reached twice (a bind mount of its parent) is listed once.
fn walk(root: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let metadata = fs::symlink_metadata(root).map_err(|e| open_error(root, &e))?;
    if !metadata.is_dir() {
        if is_manifest_file(root) {
            out.push(root.to_path_buf());
        }
        return Ok(());
    }
    let mut seen = HashSet::new();
    list_manifest_files(root, &metadata, recursive, &mut seen, out)
}

fn list_manifest_files(
    dir: &Path,
    metadata: &fs::Metadata,
    recursive: bool,
    seen: &mut HashSet<(u64, u64)>,
    out: &mut Vec<PathBuf>,
) -> Result<(), InputError> {
    if !seen.insert(file_id(metadata)) {
        return Ok(());
    }
    let mut children: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| open_error(dir, &e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    children.sort();
    for child in children {
        let metadata = fs::symlink_metadata(&child).map_err(|e| open_error(&child, &e))?;
        if metadata.is_dir() {
            if recursive {
                list_manifest_files(&child, &metadata, recursive, seen, out)?;
            }
        } else if is_manifest_file(&child) {
            out.push(child);
        }
    }
    Ok(())
}

/// The device and inode of a file.
#[cfg(unix)]
fn file_id(metadata: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (metadata.dev(), metadata.ino())
}

#[cfg(not(unix))]
fn file_id(_metadata: &fs::Metadata) -> (u64, u64) {
    // Without inode numbers every directory counts as new (links are not followed anyway).
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    (0, NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn set(dir: &Path, name: &str) {
        let text = format!(
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: {name}\n"
        );
        fs::write(dir.join(format!("{name}.yaml")), text).unwrap();
    }

    fn names(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| e.resource.metadata().name.clone())
            .collect()
    }

    #[test]
    fn symlinks_are_walked_as_calicoctl_walks_them() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        fs::create_dir_all(real.join("sub")).unwrap();
        set(&real, "a");
        set(&real, "b");
        set(&real.join("sub"), "c");
        // A link to a file is read; links to directories (two cycles among them) are not
        // followed, as Go's filepath.Walk does not follow them.
        symlink("a.yaml", real.join("link.yaml")).unwrap();
        symlink("sub", real.join("linksub")).unwrap();
        symlink("..", real.join("sub/up")).unwrap();
        symlink(".", real.join("sub/self")).unwrap();
        let flat = read_resources(real.to_str().unwrap(), false, false).unwrap();
        assert_eq!(names(&flat), ["a", "b", "a"]);
        let all = read_resources(real.to_str().unwrap(), true, false).unwrap();
        assert_eq!(names(&all), ["a", "b", "a", "c"]);

        // A link to a directory given as -f is not walked (Calico: "no resources specified in
        // directory top"), unless written with a trailing slash.
        let top = tmp.path().join("top");
        symlink(&real, &top).unwrap();
        let err = read_resources(top.to_str().unwrap(), true, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("no resources specified in directory {}", top.display())
        );
        let slash = format!("{}/", top.display());
        assert_eq!(read_resources(&slash, true, false).unwrap().len(), 4);
    }

    #[test]
    fn an_endless_file_is_refused() {
        let err = read_resources("/dev/zero", false, false).unwrap_err();
        assert_eq!(
            err.command_message(),
            "failed to execute command: bufio.Scanner: token too long (/dev/zero: document 1 is larger than 10 MiB)"
        );
    }
}
